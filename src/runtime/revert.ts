/**
 * Undo steps for multi-step host work (after incus's `revert` package).
 *
 * Register an undo right after each step succeeds; call `success()` once the
 * whole operation has succeeded; call `run()` in a `finally` (or a `catch`):
 * it runs the registered undos in reverse order unless `success()` was called.
 *
 *   const revert = new Revert();
 *   try {
 *     await mount(...);  revert.add(() => unmount(...));
 *     await create(...); revert.add(() => destroy(...));
 *     revert.success();
 *   } finally {
 *     await revert.run();
 *   }
 */
export class Revert {
  private steps: Array<() => unknown> = [];

  /** Registers an undo step; steps run last-added first. */
  add(fn: () => unknown): void {
    this.steps.push(fn);
  }

  /** Marks the operation done: `run()` becomes a no-op. */
  success(): void {
    this.steps = [];
  }

  /**
   * Runs the undo steps in reverse order. A failing step does not stop the
   * others; the failures are returned (never thrown) so that they cannot hide
   * the error that caused the rollback. Running twice runs nothing the second time.
   */
  async run(): Promise<Error[]> {
    const steps = this.steps.reverse();
    this.steps = [];
    const failures: Error[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        failures.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    return failures;
  }
}
