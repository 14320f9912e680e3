import type { HostCapacity, InstanceSpec, RuntimeDriver, RuntimeState } from './runtime.js';

/**
 * For tests about the API and its services rather than about containers: a
 * driver that starts nothing, keeps which instances it "runs" and records each
 * call, and can be told to fail the next start or to have an instance shut
 * itself down (guestExit). The real driver is RuncDriver, whose own suite runs
 * real containers.
 */
export class RecordingRuntime implements RuntimeDriver {
  readonly name = 'recording';
  readonly calls: string[] = [];
  readonly running = new Set<string>();
  /** Instances whose guest shut down (guestExit) and that nothing has stopped or started since: state 'stopped'. */
  readonly exited = new Set<string>();
  failNextStart = false;
  /** The host's memory capacity() reports (a test sets a small one to see launches refused). */
  hostMemoryMiB = 1024 * 1024;
  private readonly exitListeners = new Set<(id: string) => void>();
  async check() { return []; }
  async start(spec: InstanceSpec) {
    this.calls.push(`start ${spec.id}`);
    if (this.failNextStart) { this.failNextStart = false; throw new Error('boom'); }
    this.exited.delete(spec.id);
    this.running.add(spec.id);
  }
  async stop(id: string) { this.calls.push(`stop ${id}`); this.running.delete(id); this.exited.delete(id); }
  async reboot(id: string) { this.calls.push(`reboot ${id}`); }
  async state(id: string): Promise<RuntimeState> {
    return this.running.has(id) ? 'running' : this.exited.has(id) ? 'stopped' : 'absent';
  }
  async whileFrozen<T>(id: string, fn: () => Promise<T>) { this.calls.push(`freeze ${id}`); return fn(); }
  async list() { return [...this.running]; }
  async capacity(): Promise<HostCapacity> { return { memoryMiB: this.hostMemoryMiB }; }
  watchExits(listener: (id: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => { this.exitListeners.delete(listener); };
  }

  /** Simulates a shutdown from inside the running instance `id` (poweroff): it becomes 'stopped' and the watchExits listeners hear of it. Not recorded in `calls`. */
  guestExit(id: string): void {
    if (!this.running.delete(id)) throw new Error(`guestExit: ${id} is not running`);
    this.exited.add(id);
    for (const listener of [...this.exitListeners]) listener(id);
  }
}
