/**
 * What the block store holds and whether it is sound, for the operator
 * (`kiln storage`, `kiln gc`, `kiln fsck` through the admin API):
 *
 *  - storageReport: bytes stored, and for each snapshot and image the bytes
 *    it holds and the bytes only it holds (what deleting it would free);
 *  - collectGarbage: the prune's plan, or the prune itself, now;
 *  - fsck: every block of every snapshot read and checked, every base file in
 *    the volume pool compared with its snapshot; snapshots with damaged or
 *    missing blocks are marked `error` (RunInstances and CreateVolume then
 *    refuse them) and reported with the images that use them. Nothing is
 *    repaired: a damaged base file (a cache of blocks that are sound) is
 *    dropped, to be built again from the blocks, and that is reported too.
 */
import type { BlockHash, BlockMap, CheckReport, PackFiles, StoreStats } from '../../blocks/blocks.js';
import { BLOCK_SIZE, fullSizeBytes } from '../../blocks/blocks.js';
import type { PrunePlan, PruneReport } from '../../blocks/prune.js';
import type { Context } from '../core/context.js';
import type { ImageRecord, SnapshotRecord } from '../../model/records.js';

export interface SnapshotUse {
  snapshotId: string;
  account: string;
  region: string;
  state: string;
  volumeSize: number;
  /** Bytes its blocks hold (FullSnapshotSizeInBytes). */
  fullBytes: number;
  /** Bytes of blocks no other snapshot refers to: what DeleteSnapshot frees. */
  uniqueBytes: number;
  imageIds: string[];
}

export interface ImageUse {
  imageId: string;
  name: string;
  account: string;
  region: string;
  snapshotIds: string[];
  /** Bytes only this image's snapshots refer to: what DeregisterImage with DeleteAssociatedSnapshots frees. */
  uniqueBytes: number;
}

export interface StorageReport {
  store: StoreStats;
  pool: { mode: string; bases: number };
  snapshots: SnapshotUse[];
  images: ImageUse[];
}

interface Maps {
  snapshots: SnapshotRecord[];
  images: ImageRecord[];
  maps: Map<string, BlockMap>;
  /** For each block, the snapshots that refer to it. */
  users: Map<BlockHash, Set<string>>;
  imagesOf: Map<string, string[]>;
}

async function loadMaps(ctx: Context): Promise<Maps> {
  const snapshots = await ctx.store.snapshots.list();
  const images = (await ctx.store.images.list()).filter((i) => i.state !== 'deregistered');
  const maps = new Map<string, BlockMap>();
  const users = new Map<BlockHash, Set<string>>();
  for (const s of snapshots) {
    const map = await ctx.store.blockMaps.get(s.id);
    if (!map) continue;
    maps.set(s.id, map);
    for (const [, hash] of map.blocks) {
      let u = users.get(hash);
      if (!u) users.set(hash, u = new Set());
      u.add(s.id);
    }
  }
  const imagesOf = new Map<string, string[]>();
  for (const img of images) {
    for (const id of snapshotsOf(img)) imagesOf.get(id)?.push(img.id) ?? imagesOf.set(id, [img.id]);
  }
  return { snapshots, images, maps, users, imagesOf };
}

const snapshotsOf = (img: ImageRecord) => [...new Set(img.blockDeviceMappings.flatMap((m) => m.ebs?.snapshotId ? [m.ebs.snapshotId] : []))];

/** Bytes of the blocks of `map` that no snapshot outside `group` refers to (each block once). */
function uniqueBytes(m: Maps, group: Set<string>): number {
  const seen = new Set<BlockHash>();
  let bytes = 0;
  for (const id of group) {
    const map = m.maps.get(id);
    for (const [index, hash] of map?.blocks ?? []) {
      if (seen.has(hash)) continue;
      seen.add(hash);
      if ([...m.users.get(hash)!].every((u) => group.has(u))) bytes += Math.min(BLOCK_SIZE, map!.sizeBytes - index * BLOCK_SIZE);
    }
  }
  return bytes;
}

export async function storageReport(ctx: Context): Promise<StorageReport> {
  const m = await loadMaps(ctx);
  const snapshots = m.snapshots.filter((s) => m.maps.has(s.id)).map((s): SnapshotUse => ({
    snapshotId: s.id, account: s.account, region: s.region, state: s.state, volumeSize: s.volumeSize,
    fullBytes: fullSizeBytes(m.maps.get(s.id)!), uniqueBytes: uniqueBytes(m, new Set([s.id])), imageIds: m.imagesOf.get(s.id) ?? [],
  }));
  const images = m.images.map((img): ImageUse => {
    const ids = snapshotsOf(img).filter((id) => m.maps.has(id));
    return { imageId: img.id, name: img.name, account: img.account, region: img.region, snapshotIds: ids, uniqueBytes: uniqueBytes(m, new Set(ids)) };
  });
  return { store: ctx.blocks.stats(), pool: { mode: ctx.pool.mode, bases: (await ctx.pool.baseSnapshots()).length }, snapshots, images };
}

export interface GcReport {
  dryRun: boolean;
  plan: Omit<PrunePlan, 'unreferenced' | 'missing'> & { unreferenced: number; missing: number };
  /** Block bytes freed (exactly those of the unreferenced blocks), and pack bytes on disk before and after. */
  freedBytes: number;
  refused?: string;
  before: StoreStats;
  after: StoreStats;
  /** Every pack file on disk after the run, by state (a full disk must leave none unknown). */
  files?: PackFiles;
}

/** `kiln gc [--dry-run]`: the prune's plan, and with `dryRun` false the prune itself (packs repacked). */
export async function collectGarbage(ctx: Context, dryRun: boolean): Promise<GcReport> {
  const before = ctx.blocks.stats();
  let plan: PrunePlan;
  let report: PruneReport | undefined;
  if (dryRun) plan = await ctx.pruner.plan();
  else plan = (report = await ctx.pruner.runNow()).plan;
  return {
    dryRun, before, after: ctx.blocks.stats(), freedBytes: dryRun ? plan.unreferencedBytes : report!.freedBytes, refused: report?.refused,
    plan: { ...plan, unreferenced: plan.unreferenced.length, missing: plan.missing.length }, files: await ctx.blocks.files?.(),
  };
}

export interface DamagedSnapshot {
  snapshotId: string;
  account: string;
  region: string;
  corruptBlocks: number;
  missingBlocks: number;
  imageIds: string[];
}

export interface FsckReport {
  blocks: Omit<CheckReport, 'corrupt' | 'missing'> & { corrupt: number; missing: number };
  snapshots: number;
  damaged: DamagedSnapshot[];
  bases: { checked: number; dropped: Array<{ snapshotId: string; blocks: number[] }> };
}

/** `kiln fsck`: checks every block and base file; marks damaged snapshots `error`. */
export async function fsck(ctx: Context, progress?: (done: number, total: number) => void): Promise<FsckReport> {
  const check = await ctx.blocks.check(progress);
  const m = await loadMaps(ctx);
  const corrupt = new Set(check.corrupt);
  const missing = new Set(check.missing);
  // A map may also name a block the store has no record of at all.
  for (const hash of m.users.keys()) if (!corrupt.has(hash) && !missing.has(hash) && !(await ctx.blocks.has(hash))) missing.add(hash);
  const damaged: DamagedSnapshot[] = [];
  const bases: FsckReport['bases'] = { checked: 0, dropped: [] };
  for (const s of m.snapshots) {
    const map = m.maps.get(s.id);
    if (!map) continue;
    const c = map.blocks.filter(([, h]) => corrupt.has(h)).length;
    const x = map.blocks.filter(([, h]) => missing.has(h)).length;
    if (c || x) {
      damaged.push({ snapshotId: s.id, account: s.account, region: s.region, corruptBlocks: c, missingBlocks: x, imageIds: m.imagesOf.get(s.id) ?? [] });
      const why = `kiln fsck: ${c} corrupt and ${x} missing blocks`;
      await ctx.store.snapshots.update(s.id, (r) => ({ ...r, state: 'error', stateMessage: why }));
    }
    const diff = await ctx.pool.checkBase(s.id, map, ctx.blocks);
    if (diff === undefined) continue;
    bases.checked++;
    if (diff.length) {
      bases.dropped.push({ snapshotId: s.id, blocks: diff.slice(0, 16) });
      await ctx.pool.forget(s.id);
    }
  }
  for (const d of damaged) ctx.log(`kiln: fsck: ${d.snapshotId} is damaged (${d.corruptBlocks} corrupt, ${d.missingBlocks} missing blocks); images: ${d.imageIds.join(', ') || 'none'}`);
  return {
    blocks: { checked: check.checked, corrupt: corrupt.size, missing: missing.size },
    snapshots: m.maps.size, damaged, bases,
  };
}
