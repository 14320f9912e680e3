/**
 * Garbage collection of blocks, as restic's prune does it: first a plan
 * (what is stored, what the snapshots' maps reference, what nothing
 * references, what is referenced but missing), then the deletion, with the
 * blocks and bytes freed reported. It refuses to delete anything while
 * referenced data is missing: a store that lost blocks needs repair, and
 * deleting more would only hide what is wrong.
 *
 * A snapshot being built relies on blocks its map does not hold yet (`has`
 * said they were stored, so they were not written again). Builds therefore
 * `hold` the pruner: a prune waits until no build holds it, and a prune asked
 * for meanwhile runs when the last one ends. Prunes run in the background and
 * coalesce: requests made while one runs give one more, not one each.
 */
import type { BlockHash, BlockStore } from './blocks.js';

export interface PrunePlan {
  stored: number;
  referenced: number;
  /** Stored blocks no map references: what a prune removes. */
  unreferenced: BlockHash[];
  unreferencedBytes: number;
  /** Referenced blocks the store does not have: a prune refuses to run while there are any. */
  missing: BlockHash[];
}

export interface PruneReport { plan: PrunePlan; removed: number; freedBytes: number; refused?: string }

export class Pruner {
  private builds = 0;
  private wanted = false;
  private running: Promise<PruneReport | undefined> | undefined;
  private readonly reports: Array<(r: PruneReport) => void> = [];

  /**
   * `live` answers every block hash any snapshot's map references (the metadata store knows them);
   * `held`, the blocks of writes still in progress (EBS direct uploads): kept, but never "missing" when
   * absent, since a write a full disk cut short lost them and fails at its commit, not the prune.
   */
  constructor(
    private readonly blocks: BlockStore,
    private readonly live: () => Promise<ReadonlySet<BlockHash>>,
    private readonly log: (msg: string) => void = () => undefined,
    private readonly held: () => Promise<ReadonlySet<BlockHash>> = async () => new Set(),
  ) {}

  /** Runs `fn` (a snapshot build) with prunes held off until it ends. */
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running) await this.running;
    this.builds++;
    try {
      return await fn();
    } finally {
      this.builds--;
      if (this.builds === 0 && this.wanted) this.request();
    }
  }

  /** What a prune would do now. */
  async plan(): Promise<PrunePlan> {
    const live = await this.live();
    const held = await this.held();
    const stored = await this.blocks.list();
    const have = new Set(stored.map((b) => b.hash));
    const unreferenced = stored.filter((b) => !live.has(b.hash) && !held.has(b.hash));
    return {
      stored: stored.length, referenced: new Set([...live, ...held]).size, unreferenced: unreferenced.map((b) => b.hash),
      unreferencedBytes: unreferenced.reduce((n, b) => n + b.bytes, 0), missing: [...live].filter((h) => !have.has(h)),
    };
  }

  /** Asks for a prune in the background (after the builds that hold the pruner end). */
  request(): void {
    this.wanted = true;
    if (this.builds > 0 || this.running) return;
    this.wanted = false;
    this.running = this.pruneNow().catch((err: Error) => {
      this.log(`kiln: pruning blocks failed: ${err.message}`);
      return undefined;
    }).finally(() => {
      this.running = undefined;
      if (this.wanted) this.request();
    });
  }

  /**
   * Prunes now (after the builds that hold the pruner end, and any prune
   * running) and returns its report: `kiln gc`.
   */
  async runNow(): Promise<PruneReport> {
    for (;;) {
      await this.idle();
      if (this.builds === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const p = this.pruneNow();
    this.running = p.finally(() => { this.running = undefined; if (this.wanted) this.request(); });
    return p;
  }

  /** Resolves once no prune runs (one asked for while builds hold the pruner waits for them, and this does not). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Calls `fn` with the report of every prune from now on (logging, tests). */
  onReport(fn: (r: PruneReport) => void): void {
    this.reports.push(fn);
  }

  private async pruneNow(): Promise<PruneReport> {
    // Blocks of writers given up after an error (a full disk) sit in packs whose rows no commit will add: add them, so they are seen.
    await this.blocks.flush?.().catch((err: Error) => this.log(`kiln: could not flush the block store before pruning: ${err.message}`));
    const plan = await this.plan();
    let report: PruneReport;
    if (plan.missing.length) {
      report = { plan, removed: 0, freedBytes: 0, refused: `${plan.missing.length} referenced blocks are missing (first ${plan.missing[0]}); nothing removed` };
      this.log(`kiln: not pruning blocks: ${report.refused}`);
    } else {
      const { removed, bytes } = await this.blocks.remove(plan.unreferenced);
      report = { plan, removed, freedBytes: bytes };
    }
    for (const fn of this.reports) fn(report);
    return report;
  }
}
