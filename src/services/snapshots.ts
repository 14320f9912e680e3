import { rm } from 'node:fs/promises';
import { BLOCK_SIZE } from '../blocks/blocks.js';
import type { BlockMap } from '../blocks/blocks.js';
import { snapshotFile } from '../blocks/volume-io.js';
import type { Caller, Context } from './context.js';
import { MalformedId, NotFound } from './errors.js';
import { isValidId, newId, nowIso } from './ids.js';
import type { SnapshotRecord, Tag } from './model.js';

export interface NewSnapshot {
  volumeId: string;
  volumeSize: number;
  description: string;
  tags?: Tag[];
  ownerAlias?: string;
}

/** Registers a snapshot in state pending; its data arrives with completeSnapshot. */
export async function createPendingSnapshot(ctx: Context, owner: Caller, s: NewSnapshot): Promise<SnapshotRecord> {
  const rec: SnapshotRecord = {
    id: newId('snapshot'), account: owner.account, region: owner.region,
    volumeId: s.volumeId, volumeSize: s.volumeSize, state: 'pending', progress: '0%', startTime: nowIso(),
    description: s.description, encrypted: false, ownerAlias: s.ownerAlias, tags: s.tags ?? [],
  };
  await ctx.store.snapshots.insert(rec);
  return rec;
}

/**
 * Reads a point-in-time copy of a volume (`file`) into the block store and
 * completes the snapshot. `parentSnapshotId` (the snapshot the volume was made
 * from) only sharpens the changed-block count; sharing is by content anyway.
 */
export async function completeSnapshot(ctx: Context, snapshotId: string, file: string, parentSnapshotId?: string): Promise<BlockMap> {
  try {
    const parent = parentSnapshotId ? await ctx.store.blockMaps.get(parentSnapshotId) : undefined;
    const result = await snapshotFile(file, ctx.blocks, { parent });
    const map: BlockMap = { sizeBytes: result.sizeBytes, blocks: result.blocks };
    await ctx.store.blockMaps.put(snapshotId, map);
    await ctx.store.snapshots.update(snapshotId, (s) => ({
      ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: result.changedBlocks * BLOCK_SIZE,
    }));
    return map;
  } catch (err) {
    await ctx.store.snapshots.update(snapshotId, (s) => ({ ...s, state: 'error', stateMessage: (err as Error).message }));
    throw err;
  }
}

/** Registers a completed snapshot from an existing block map (catalog images, copies). */
export async function snapshotFromMap(ctx: Context, owner: Caller, s: NewSnapshot, map: BlockMap): Promise<SnapshotRecord> {
  const rec = await createPendingSnapshot(ctx, owner, s);
  await ctx.store.blockMaps.put(rec.id, map);
  return ctx.store.snapshots.update(rec.id, (r) => ({ ...r, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0 }));
}

/** Snapshots the caller may see: its own. */
export async function describeSnapshots(ctx: Context, caller: Caller, ids?: string[]): Promise<SnapshotRecord[]> {
  if (ids?.length) {
    for (const id of ids) if (!isValidId('snapshot', id)) throw new MalformedId('snapshot', id);
    const found = await Promise.all(ids.map((id) => ctx.store.snapshots.get(id)));
    const missing = ids.filter((_, i) => !visible(found[i], caller));
    if (missing.length) throw new NotFound('snapshot', missing);
    return found as SnapshotRecord[];
  }
  return ctx.store.snapshots.list(caller);
}

function visible(s: SnapshotRecord | undefined, caller: Caller): s is SnapshotRecord {
  return !!s && s.account === caller.account && s.region === caller.region;
}

/** Deletes a snapshot's record, its block map, and blocks no other snapshot uses. */
export async function deleteSnapshotData(ctx: Context, snapshotId: string): Promise<void> {
  await ctx.store.blockMaps.delete(snapshotId);
  await ctx.store.snapshots.delete(snapshotId);
  await ctx.blocks.sweep(await ctx.store.blockMaps.liveHashes());
}

/** Removes a temporary file, ignoring its absence. */
export async function discard(file: string): Promise<void> {
  await rm(file, { force: true });
}
