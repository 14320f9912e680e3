export { KeyedMutex } from '../../lib/keyed-mutex.js';
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
