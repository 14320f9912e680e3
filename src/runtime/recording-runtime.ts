import type { InstanceSpec, RuntimeDriver, RuntimeState } from './runtime.js';

/**
 * For tests about the API and its services rather than about containers: a
 * driver that starts nothing, keeps which instances it "runs" and records each
 * call, and can be told to fail the next start. The real driver is RuncDriver,
 * whose own suite runs real containers.
 */
export class RecordingRuntime implements RuntimeDriver {
  readonly name = 'recording';
  readonly calls: string[] = [];
  readonly running = new Set<string>();
  failNextStart = false;
  async check() { return []; }
  async start(spec: InstanceSpec) {
    this.calls.push(`start ${spec.id}`);
    if (this.failNextStart) { this.failNextStart = false; throw new Error('boom'); }
    this.running.add(spec.id);
  }
  async stop(id: string) { this.calls.push(`stop ${id}`); this.running.delete(id); }
  async reboot(id: string) { this.calls.push(`reboot ${id}`); }
  async state(id: string): Promise<RuntimeState> { return this.running.has(id) ? 'running' : 'absent'; }
  async whileFrozen<T>(id: string, fn: () => Promise<T>) { this.calls.push(`freeze ${id}`); return fn(); }
  async list() { return [...this.running]; }
}
