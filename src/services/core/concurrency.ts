/** Serialises async work per key (one instance's lifecycle actions must not interleave). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.catch(() => undefined).then(fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => { if (this.tails.get(key) === tail) this.tails.delete(key); });
    return result;
  }
}

/**
 * Background work that outlives the request that started it (image capture,
 * instance boot). Failures are the task's own business (it records them on
 * its resource); anything escaping is logged, never an unhandled rejection.
 */
export class Tasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: (msg: string) => void = (m) => console.error(m)) {}

  start(name: string, fn: () => Promise<void>): void {
    const p: Promise<void> = fn()
      .catch((err: unknown) => this.log(`kiln: background task ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`))
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Resolves once no task is running (tasks may start more tasks). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
