/**
 * EBS snapshots: point-in-time copies of volumes stored as block maps in the
 * content-addressed block store. CreateSnapshot copies the volume at once
 * (frozen if an instance is using it) and stores the blocks in the
 * background (pending -> completed); CopySnapshot shares the source's block
 * map; DeleteSnapshot refuses snapshots a registered image uses. Who may see
 * and use a snapshot: its owner, everyone when public (createVolumePermission
 * group all), and the accounts named in its createVolumePermission.
 */
import { rm } from 'node:fs/promises';
import { BLOCK_SIZE, fullSizeBytes } from '../../blocks/blocks.js';
import type { BlockMap } from '../../blocks/blocks.js';
import { snapshotFile } from '../../blocks/volume-io.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid, InUse, MalformedId, NotFound, publicMessage } from '../core/errors.js';
import { isValidId, newId, nowIso } from '../core/ids.js';
import type { ImageRecord, SnapshotRecord, Tag, VolumeRecord } from '../../model/records.js';
import { present } from '../../model/records.js';
import type { NewVolume } from '../volumes/volumes.js';
import { createVolume, ownVolume, pointInTimeCopy, snapshotStagingFile } from '../volumes/volumes.js';
import { copyMap, snapshotKey } from './snapshot-keys.js';

export interface NewSnapshot {
  volumeId: string;
  volumeSize: number;
  description: string;
  tags?: Tag[];
  ownerAlias?: string;
  /** A snapshot of an encrypted volume is encrypted, under the volume's key. */
  encrypted?: boolean;
  kmsKeyId?: string;
}

/** Registers a snapshot in state pending; its data arrives with completeSnapshot. */
export async function createPendingSnapshot(ctx: Context, owner: Caller, s: NewSnapshot): Promise<SnapshotRecord> {
  const rec: SnapshotRecord = {
    id: newId('snapshot'), account: owner.account, region: owner.region,
    volumeId: s.volumeId, volumeSize: s.volumeSize, state: 'pending', progress: '0%', startTime: nowIso(),
    description: s.description, encrypted: !!s.encrypted, ownerAlias: s.ownerAlias, tags: s.tags ?? [],
    ...present({ kmsKeyId: s.encrypted ? s.kmsKeyId : undefined }),
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
    return await ctx.pruner.hold(async () => {
      const parent = parentSnapshotId ? await ctx.store.blockMaps.get(parentSnapshotId) : undefined;
      // In the pool, only the blocks whose extents the copy no longer shares with the parent's base are read.
      const changed = parent ? await ctx.pool.changedSince(parentSnapshotId!, file, parent.sizeBytes) : undefined;
      // An encrypted snapshot's blocks are stored encrypted under its key (snapshot-keys.ts).
      const rec = await ctx.store.snapshots.get(snapshotId);
      const result = await snapshotFile(file, ctx.blocks, { parent, changed, key: rec && snapshotKey(rec) });
      const map: BlockMap = { sizeBytes: result.sizeBytes, blocks: result.blocks };
      await ctx.store.blockMaps.put(snapshotId, map);
      await ctx.store.snapshots.update(snapshotId, (s) => ({
        ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: result.changedBlocks * BLOCK_SIZE,
        fullSizeBytes: fullSizeBytes(map),
      }));
      // The copy in the pool holds exactly this snapshot: it becomes its base (volumes of it are clones).
      await ctx.pool.adopt(snapshotId, file).catch((err: Error) => ctx.log(`kiln: no base for ${snapshotId}: ${err.message}`));
      return map;
    });
  } catch (err) {
    await failSnapshot(ctx, snapshotId, err);
    throw err;
  }
}

/** A snapshot whose data cannot be stored: state error, with a message that names no host path (the log has the error). */
export async function failSnapshot(ctx: Context, snapshotId: string, err: unknown): Promise<void> {
  ctx.log(`kiln: snapshot ${snapshotId} failed: ${(err as Error).message}`);
  await ctx.store.snapshots.update(snapshotId, (s) => ({ ...s, state: 'error', stateMessage: publicMessage(err) }))
    .catch((e: Error) => ctx.log(`kiln: could not mark ${snapshotId} error: ${e.message}`));
}

/** Registers a completed snapshot from an existing block map (catalog images, copies). */
export async function snapshotFromMap(ctx: Context, owner: Caller, s: NewSnapshot, map: BlockMap): Promise<SnapshotRecord> {
  const rec = await createPendingSnapshot(ctx, owner, s);
  await ctx.store.blockMaps.put(rec.id, map);
  return ctx.store.snapshots.update(rec.id, (r) => ({
    ...r, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0, fullSizeBytes: fullSizeBytes(map),
  }));
}

// ---- Who may see and use a snapshot ----

/** Whether the caller may see the snapshot and create volumes from it: owner, public, or named in createVolumePermission. */
export function canUseSnapshot(s: SnapshotRecord, caller: Caller): boolean {
  return s.region === caller.region
    && (s.account === caller.account || !!s.isPublic || !!s.createVolumePermission?.userIds.includes(caller.account));
}

/** Snapshots the caller may see; with `ids`, exactly those, or Malformed/NotFound (the first bad id) as AWS answers. */
export async function describeSnapshots(ctx: Context, caller: Caller, ids?: string[]): Promise<SnapshotRecord[]> {
  if (ids?.length) {
    for (const id of ids) if (!isValidId('snapshot', id)) throw new MalformedId('snapshot', id);
    const found = await Promise.all(ids.map((id) => ctx.store.snapshots.get(id)));
    const missing = ids.filter((_, i) => !found[i] || !canUseSnapshot(found[i]!, caller));
    if (missing.length) throw new NotFound('snapshot', missing);
    return found as SnapshotRecord[];
  }
  return (await ctx.store.snapshots.list({ region: caller.region })).filter((s) => canUseSnapshot(s, caller));
}

/** A snapshot the caller may create volumes from. */
export async function usableSnapshot(ctx: Context, caller: Caller, snapshotId: string): Promise<SnapshotRecord> {
  return (await describeSnapshots(ctx, caller, [snapshotId]))[0]!;
}

/** CreateVolume: empty, or from a snapshot the caller may use (its own, shared with it by createVolumePermission, or public). */
export async function createVolumeFromSnapshot(ctx: Context, caller: Caller, v: NewVolume): Promise<VolumeRecord> {
  return createVolume(ctx, caller, v, async (id) => soundSnapshot(await usableSnapshot(ctx, caller, id)));
}

/** The snapshot, unless it is in state error (an interrupted build, or damage kiln fsck found): IncorrectState. */
export function soundSnapshot(s: SnapshotRecord): SnapshotRecord {
  if (s.state === 'error') {
    throw new Invalid('IncorrectState', `Snapshot '${s.id}' is in the error state${s.stateMessage ? ` (${s.stateMessage})` : ''} and cannot be used.`);
  }
  return s;
}

/** RunInstances: every snapshot of the launch's block device mappings is sound (soundSnapshot). */
export async function requireSoundSnapshots(ctx: Context, snapshotIds: string[]): Promise<void> {
  for (const id of new Set(snapshotIds)) {
    const s = await ctx.store.snapshots.get(id);
    if (s) soundSnapshot(s);
  }
}

/** The caller's own snapshot: NotFound when it cannot see it, UnauthorizedOperation when it is someone else's. */
export async function ownSnapshot(ctx: Context, caller: Caller, snapshotId: string): Promise<SnapshotRecord> {
  const s = await usableSnapshot(ctx, caller, snapshotId);
  if (s.account !== caller.account) throw new Invalid('UnauthorizedOperation', `You are not authorized to perform this operation on ${snapshotId}.`);
  return s;
}

// ---- CreateSnapshot, CopySnapshot, DeleteSnapshot ----

export function validateSnapshotDescription(d: string | undefined): void {
  if (d !== undefined && d.length > 255) throw new Invalid('InvalidParameterValue', 'The snapshot description must be at most 255 characters.');
}

/**
 * CreateSnapshot: copies the caller's volume at one point in time now (see
 * pointInTimeCopy), answers with the snapshot pending, and stores its blocks
 * in the background. A failed copy leaves no snapshot behind.
 */
export async function createSnapshot(
  ctx: Context, caller: Caller, req: { volumeId: string; description?: string; tags?: Tag[] },
): Promise<SnapshotRecord> {
  validateSnapshotDescription(req.description);
  const vol = await ownVolume(ctx, caller, req.volumeId);
  if (vol.state !== 'available' && vol.state !== 'in-use') {
    throw new Invalid('IncorrectState', `The volume '${vol.id}' is in state '${vol.state}' and cannot be snapshotted.`);
  }
  beforeChange(caller);
  const id = newId('snapshot');
  const startTime = nowIso();
  const file = await snapshotStagingFile(ctx, id);
  let copied;
  try {
    copied = await pointInTimeCopy(ctx, vol.id, file);
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  const rec: SnapshotRecord = {
    id, account: caller.account, region: caller.region, volumeId: vol.id, volumeSize: copied.size, state: 'pending',
    progress: '0%', startTime, description: req.description ?? '', encrypted: copied.encrypted, tags: req.tags ?? [],
    ...present({ kmsKeyId: copied.encrypted ? vol.kmsKeyId : undefined }),
  };
  try {
    await ctx.store.snapshots.insert(rec);
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  }
  ctx.tasks.start(`snapshot ${id}`, async () => {
    try {
      await completeSnapshot(ctx, id, file, copied.snapshotId);
    } finally {
      await rm(file, { force: true });
    }
  });
  return rec;
}

export interface CopySnapshotRequest {
  sourceRegion: string;
  sourceSnapshotId: string;
  description?: string;
  encrypted?: boolean;
  kmsKeyId?: string;
  tags?: Tag[];
}

/**
 * CopySnapshot, called in the destination region: the caller must be able to
 * use the source in its region. The copy is the caller's, pending at once;
 * it takes the source's block map in the background (blocks are shared by
 * content, nothing is rewritten, unless the copy is under another key:
 * snapshot-keys.ts). An encrypted source gives an encrypted copy.
 */
export async function copySnapshot(ctx: Context, caller: Caller, req: CopySnapshotRequest): Promise<SnapshotRecord> {
  if (!ctx.regions.includes(req.sourceRegion)) throw new Invalid('InvalidParameterValue', `Invalid value '${req.sourceRegion}' for SourceRegion.`);
  if (req.kmsKeyId !== undefined && !req.encrypted) {
    throw new Invalid('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set to true.');
  }
  validateSnapshotDescription(req.description);
  const source = await usableSnapshot(ctx, { ...caller, region: req.sourceRegion }, req.sourceSnapshotId);
  if (source.state !== 'completed') throw new Invalid('IncorrectState', `Snapshot '${source.id}' is in invalid state - ${source.state}`);
  const rec = await createPendingSnapshot(ctx, caller, {
    volumeId: 'vol-ffffffff', volumeSize: source.volumeSize, tags: req.tags,
    description: req.description ?? `[Copied ${source.id} from ${source.region}]`,
  });
  const copy = await ctx.store.snapshots.update(rec.id, (s) => ({
    ...s, encrypted: source.encrypted || !!req.encrypted, sourceSnapshotId: source.id, sourceRegion: source.region,
    // The key named, else the source's in its own region; across regions, the destination's aws/ebs key.
    ...present({ kmsKeyId: req.kmsKeyId ?? (source.region === caller.region ? source.kmsKeyId : undefined) }),
  }));
  ctx.tasks.start(`copy ${rec.id}`, () => ctx.pruner.hold(async () => {
    try {
      const map = await ctx.store.blockMaps.get(source.id);
      if (!map) throw new Error(`the source snapshot ${source.id} has no data (deleted during the copy?)`);
      await ctx.store.blockMaps.put(rec.id, await copyMap(ctx, map, copy));
      await ctx.store.snapshots.update(rec.id, (s) => ({ ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0 }));
    } catch (err) {
      await failSnapshot(ctx, rec.id, err);
      throw err;
    }
  }));
  return copy;
}

/** Registered images (any state but deregistered) whose block device mappings use the snapshot. */
export async function imagesUsingSnapshot(ctx: Context, snapshotId: string): Promise<ImageRecord[]> {
  const snap = await ctx.store.snapshots.get(snapshotId);
  const images = await ctx.store.images.list(snap ? { region: snap.region } : {});
  return images.filter((i) => i.state !== 'deregistered' && i.blockDeviceMappings.some((m) => m.ebs?.snapshotId === snapshotId));
}

/** DeleteSnapshot: the caller's snapshot, unless a registered image uses it (InvalidSnapshot.InUse) or it is still pending. */
export async function deleteSnapshot(ctx: Context, caller: Caller, snapshotId: string): Promise<void> {
  // The checks and the delete together: an image registered meanwhile over this snapshot keeps it.
  await ctx.store.transaction(async () => {
    const s = await ownSnapshot(ctx, caller, snapshotId);
    const users = await imagesUsingSnapshot(ctx, snapshotId);
    if (users.length) throw new InUse('snapshot', snapshotId, users[0]!.id);
    if (s.state === 'pending') {
      throw new Invalid('IncorrectState', `The snapshot '${snapshotId}' is still pending; delete it once it has completed.`);
    }
    await dropSnapshot(ctx, snapshotId);
  });
  ctx.pruner.request(); // after the commit: a prune must never see a delete that could still roll back
}

/**
 * Deletes a snapshot's record and its block map (together), then asks for a
 * prune in the background: blocks no other snapshot uses go then, not once
 * per delete (blocks/prune.ts).
 */
export async function deleteSnapshotData(ctx: Context, snapshotId: string): Promise<void> {
  await dropSnapshot(ctx, snapshotId);
  ctx.pruner.request();
}

/** The snapshot's record and block map, together. */
async function dropSnapshot(ctx: Context, snapshotId: string): Promise<void> {
  await ctx.store.transaction(async () => {
    await ctx.store.blockMaps.delete(snapshotId);
    await ctx.store.snapshots.delete(snapshotId);
  });
  await ctx.pool.forget(snapshotId).catch(() => undefined); // its base, if this host has one
}

/** Removes a temporary file, ignoring its absence. */
export async function discard(file: string): Promise<void> {
  await rm(file, { force: true });
}
