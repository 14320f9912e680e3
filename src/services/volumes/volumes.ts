/**
 * EBS volumes: a sparse raw file holding an ext4 filesystem, created empty
 * (mkfs.ext4) or from a snapshot (its blocks written back, grown when a
 * larger size is asked), described, deleted, and copied at one point in time
 * for a snapshot. Attaching and detaching are in volume-attach.ts.
 *
 * Files are built under a temporary name and renamed into place, so a crash
 * never leaves a half-made volume file under its final name; a volume left
 * 'creating' by a crash becomes 'error' at the next start.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { BlockMap } from '../../blocks/blocks.js';
import { checkExt4 } from '../../lib/ext4-check.js';
import { syncDir } from '../../blocks/fsync.js';
import type { Caller, Context } from '../core/context.js';
import { availabilityZones } from '../core/context.js';
import { beforeChange, Invalid, MalformedId, NotFound } from '../core/errors.js';
import { isValidId, newId, nowIso } from '../core/ids.js';
import { recallToken, rememberToken } from '../core/client-tokens.js';
import type { SnapshotRecord, Tag, VolumeAttachmentRecord, VolumeRecord, VolumeState } from '../../model/records.js';
import { present } from '../../model/records.js';
import { checkVolumeRoom } from './volume-capacity.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

/** e2fsprogs lives in /usr/sbin, which a non-root PATH may lack. */
const sbin = (tool: string) => (existsSync(`/usr/sbin/${tool}`) ? `/usr/sbin/${tool}` : tool);

export interface VolumeType { minGiB: number; maxGiB: number; iops: 'required' | 'optional' | 'none'; throughput: boolean }

/** EC2's volume types, their size limits (GiB) and which performance settings each takes. */
export const VOLUME_TYPES: Record<string, VolumeType> = {
  gp2: { minGiB: 1, maxGiB: 16384, iops: 'none', throughput: false },
  gp3: { minGiB: 1, maxGiB: 65536, iops: 'optional', throughput: true },
  io1: { minGiB: 4, maxGiB: 16384, iops: 'required', throughput: false },
  io2: { minGiB: 4, maxGiB: 65536, iops: 'required', throughput: false },
  st1: { minGiB: 125, maxGiB: 16384, iops: 'none', throughput: false },
  sc1: { minGiB: 125, maxGiB: 16384, iops: 'none', throughput: false },
  standard: { minGiB: 1, maxGiB: 1024, iops: 'none', throughput: false },
};

/**
 * What EC2 reports for IOPS and throughput: gp3's defaults (3000, 125 MiB/s)
 * when unset, io1/io2's as provisioned, gp2's baseline of 3 IOPS per GiB for a
 * volume (`size` given; an image mapping reports none), nothing for other types.
 */
export function reportedPerformance(v: { volumeType: string; size?: number; iops?: number; throughput?: number }): { iops?: number; throughput?: number } {
  switch (v.volumeType) {
    case 'gp2': return v.size === undefined ? {} : { iops: Math.min(16000, Math.max(100, 3 * v.size)) };
    case 'gp3': return { iops: v.iops ?? 3000, throughput: v.throughput ?? 125 };
    case 'io1': case 'io2': return { iops: v.iops };
    default: return {};
  }
}


export interface NewVolume {
  availabilityZone: string;
  size?: number;
  snapshotId?: string;
  volumeType?: string;
  iops?: number;
  throughput?: number;
  encrypted?: boolean;
  tags?: Tag[];
  /** The KMS key for an encrypted volume (needs encrypted); a snapshot's key carries over otherwise. */
  kmsKeyId?: string;
  /** CreateVolume's idempotency token: a retry with the same token and parameters gets the same volume. */
  clientToken?: string;
}

/**
 * CreateVolume: validates, records the volume as 'creating' and builds its
 * file in the background (then 'available', or 'error'). A snapshot must be
 * one the caller may create volumes from (`usable`, from snapshots.ts).
 */
export async function createVolume(
  ctx: Context, caller: Caller, v: NewVolume, usable: (id: string) => Promise<SnapshotRecord>,
): Promise<VolumeRecord> {
  if (!availabilityZones(caller.region).includes(v.availabilityZone)) {
    throw new Invalid('InvalidParameterValue', `Invalid availability zone: [${v.availabilityZone}]`);
  }
  if (v.size === undefined && !v.snapshotId) throw new Invalid('MissingParameter', 'The request must contain the parameter size or snapshotId');
  if (v.kmsKeyId !== undefined && !v.encrypted) {
    throw new Invalid('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set to true.');
  }
  const [priorId] = await recallToken(ctx, caller, 'create-volume', v.clientToken, v) ?? [];
  const prior = priorId ? await ctx.store.volumes.get(priorId) : undefined;
  if (prior) return prior;
  const snap = v.snapshotId ? await usable(v.snapshotId) : undefined;
  if (snap && snap.state !== 'completed') throw new Invalid('IncorrectState', `Snapshot '${snap.id}' is in invalid state - ${snap.state}`);
  const map = snap ? await ctx.store.blockMaps.get(snap.id) : undefined;
  if (snap && !map) throw new NotFound('snapshot', [snap.id]);
  const rec = newVolumeRecord(caller, v, map, snap);
  beforeChange(caller);
  await checkVolumeRoom(ctx, rec.size);
  await ctx.store.volumes.insert(rec);
  await rememberToken(ctx, caller, 'create-volume', v.clientToken, v, [rec.id]);
  ctx.tasks.start(`create ${rec.id}`, async () => {
    // Held from prunes while its blocks are read: the snapshot may be deleted meanwhile, its blocks not.
    await ctx.pruner.hold(() => fillVolume(ctx, rec, map)).catch((err: Error) => ctx.log(`kiln: creating ${rec.id} failed: ${err.message}`));
  });
  return rec;
}

/**
 * The record of a volume made for an instance launch, from a snapshot or
 * empty, attached to it from the start: the caller has checked who may use the
 * snapshot, and the mapping was validated when it was registered or
 * overridden, so only the size is checked here. RunInstances writes it in the
 * transaction that writes the instance, before any data exists, so a crash
 * leaves a volume its instance knows of and releases; fillLaunchVolume then
 * writes the data.
 */
export async function recordLaunchVolume(ctx: Context, owner: Caller, v: NewVolume, attachment: VolumeAttachmentRecord): Promise<VolumeRecord> {
  const map = v.snapshotId ? await ctx.store.blockMaps.get(v.snapshotId) : undefined;
  if (v.snapshotId && !map) throw new NotFound('snapshot', [v.snapshotId]);
  const snap = v.snapshotId ? await ctx.store.snapshots.get(v.snapshotId) : undefined;
  const rec = { ...newVolumeRecord(owner, v, map, snap, false), attachment };
  await checkVolumeRoom(ctx, rec.size); // in RunInstances' transaction: a launch the pool cannot hold launches nothing
  await ctx.store.volumes.insert(rec);
  return rec;
}

/** Writes a launch volume's data (recordLaunchVolume made its record); resolves once the volume is in use. */
export async function fillLaunchVolume(ctx: Context, rec: VolumeRecord): Promise<VolumeRecord> {
  return ctx.pruner.hold(async () => {
    const map = rec.snapshotId ? await ctx.store.blockMaps.get(rec.snapshotId) : undefined;
    if (rec.snapshotId && !map) throw new NotFound('snapshot', [rec.snapshotId]);
    return fillVolume(ctx, rec, map, 'in-use');
  });
}

function newVolumeRecord(
  owner: Caller, v: NewVolume, map: BlockMap | undefined, snap: SnapshotRecord | undefined, strict = true,
): VolumeRecord {
  const volumeType = v.volumeType ?? 'gp2';
  const type = VOLUME_TYPES[volumeType] ?? (strict ? undefined : VOLUME_TYPES.gp2);
  if (!type) throw new Invalid('InvalidParameterValue', `Value (${volumeType}) for parameter volumeType is invalid.`);
  const snapGiB = map ? Math.ceil(map.sizeBytes / GiB) : 0;
  const size = v.size ?? snapGiB;
  if (!Number.isInteger(size) || size < 1) throw new Invalid('InvalidParameterValue', `Invalid value '${size}' for size.`);
  if (size < snapGiB) {
    throw new Invalid('InvalidParameterValue', `Volume of ${size}GiB is smaller than snapshot '${v.snapshotId}', expect size >= ${snapGiB}GiB`);
  }
  if (strict && (size < type.minGiB || size > type.maxGiB)) {
    throw new Invalid('InvalidParameterValue', `Volume of ${size}GiB is out of range for ${volumeType} volumes (${type.minGiB}-${type.maxGiB} GiB).`);
  }
  if (strict) checkPerformance(volumeType, type, size, v);
  return {
    id: newId('volume'), account: owner.account, region: owner.region, size, snapshotId: v.snapshotId,
    availabilityZone: v.availabilityZone, state: 'creating', createTime: nowIso(), volumeType,
    encrypted: !!v.encrypted || !!snap?.encrypted, tags: v.tags ?? [],
    ...present({ kmsKeyId: v.kmsKeyId ?? snap?.kmsKeyId, iops: v.iops, throughput: v.throughput }),
  };
}

/** A volume's provisioned performance, as a request gives it. */
export interface Performance { iops?: number; throughput?: number }

/**
 * EC2's rules for IOPS and throughput by volume type and size: which types
 * take them, the ranges, IOPS per GiB, and gp3's 0.25 MiB/s per IOPS.
 */
export function checkPerformance(name: string, type: VolumeType, size: number, v: Performance): void {
  if (v.iops !== undefined && type.iops === 'none') {
    throw new Invalid('InvalidParameterCombination', `The parameter iops is not supported for ${name} volumes.`);
  }
  if (v.iops === undefined && type.iops === 'required') throw new Invalid('MissingParameter', `The parameter iops must be specified for ${name} volumes.`);
  if (v.throughput !== undefined && !type.throughput) {
    throw new Invalid('InvalidParameterCombination', `The parameter throughput is not supported for ${name} volumes.`);
  }
  const [lo, hi, perGiB] = name === 'gp3' ? [3000, 80000, 500] : name === 'io1' ? [100, 64000, 50] : [100, 256000, 1000];
  if (v.iops !== undefined && (!Number.isInteger(v.iops) || v.iops < lo || v.iops > Math.min(hi, Math.max(lo, perGiB * size)))) {
    throw new Invalid('InvalidParameterValue', `Invalid value '${v.iops}' for iops for a ${size}GiB ${name} volume.`);
  }
  if (v.throughput === undefined) return;
  if (!Number.isInteger(v.throughput) || v.throughput < 125 || v.throughput > 2000) {
    throw new Invalid('InvalidParameterValue', `Invalid value '${v.throughput}' for throughput (125-2000 MiB/s).`);
  }
  const ratio = v.throughput / (v.iops ?? lo);
  if (ratio > 0.25) {
    throw new Invalid('InvalidParameterValue', `Throughput (MiBps) to iops ratio of ${ratio.toFixed(6)} is too high; maximum is 0.250000 MiBps per iops.`);
  }
}

/** Builds the volume's file (from `map`, or empty) under a temporary name, then renames it into place: 'available' (or `done`). */
async function fillVolume(ctx: Context, rec: VolumeRecord, map: BlockMap | undefined, done: VolumeState = 'available'): Promise<VolumeRecord> {
  const file = ctx.paths.volume(rec.id);
  // The `.restore-` name is one removeTempFiles clears at startup after a crash.
  const staging = join(dirname(file), `.${basename(file)}.restore-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(ctx.paths.volumes, { recursive: true, mode: 0o700 });
    if (map) {
      await ctx.pool.restore(map, ctx.blocks, rec.snapshotId, staging);
      if (rec.size * GiB > map.sizeBytes) await growVolumeFile(staging, rec.size * GiB);
    } else {
      await makeEmptyVolume(staging, rec.size * GiB);
    }
    await rename(staging, file);
    await syncDir(dirname(file));
    return await ctx.store.volumes.update(rec.id, (r) => ({ ...r, state: r.state === 'creating' ? done : r.state }));
  } catch (err) {
    await rm(staging, { force: true });
    await rm(file, { force: true });
    await ctx.store.volumes.update(rec.id, (r) => ({ ...r, state: 'error' })).catch(() => undefined);
    throw err;
  }
}

async function makeEmptyVolume(file: string, bytes: number): Promise<void> {
  const fh = await open(file, 'wx', 0o600);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
  // A sparse file reads as zeros, so skipping the zeroing of inode tables and journal is safe (and keeps it sparse).
  await run(sbin('mkfs.ext4'), ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', file]);
}

export async function growVolumeFile(file: string, bytes: number): Promise<void> {
  // Read-only first: a filesystem any account may have written block by block is not repaired as root.
  await checkExt4(sbin('e2fsck'), file, 'the volume');
  await truncate(file, bytes);
  await run(sbin('e2fsck'), ['-f', '-p', file]).catch((err: { code?: number }) => {
    // 1 and 2: it fixed something (e.g. replayed the journal of a volume copied while in use); fine to resize.
    if (err.code !== 1 && err.code !== 2) throw err;
  });
  await run(sbin('resize2fs'), [file]);
}

/**
 * Grows the ext4 in a volume file to fill the file when it is smaller (a
 * volume grown by ModifyVolume while its filesystem could not grow online,
 * or restored from a snapshot of such a volume): what cloud-init's resizefs
 * does at every boot. Reading the superblock is cheap; only a short
 * filesystem is checked and resized. The file must not be mounted.
 */
export async function growFilesystem(file: string): Promise<void> {
  const { stdout } = await run(sbin('dumpe2fs'), ['-h', file], { maxBuffer: 4 * 1024 * 1024 }).catch(() => ({ stdout: '' }));
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(stdout)?.[1]);
  const fsBytes = field('Block count') * field('Block size');
  const { size } = await stat(file);
  if (!Number.isFinite(fsBytes) || size - fsBytes < 1024 * 1024) return;
  await growVolumeFile(file, size);
}

/** Deletes a volume's file and record (no checks: instance termination, failed launches). */
export async function deleteVolume(ctx: Context, volumeId: string): Promise<void> {
  await rm(ctx.paths.volume(volumeId), { force: true });
  await ctx.store.volumes.delete(volumeId);
}

/** DeleteVolume: the caller's volume, when it is not attached (VolumeInUse) nor being created. */
export async function deleteOwnVolume(ctx: Context, caller: Caller, volumeId: string): Promise<void> {
  await ownVolume(ctx, caller, volumeId);
  await ctx.locks.run(volumeId, async () => {
    const vol = await ctx.store.volumes.get(volumeId);
    if (!vol) throw new NotFound('volume', [volumeId]);
    if (vol.attachment) throw new Invalid('VolumeInUse', `Volume ${volumeId} is currently attached to ${vol.attachment.instanceId}`);
    if (vol.state === 'creating') throw new Invalid('IncorrectState', `The volume '${volumeId}' is still being created.`);
    await ctx.store.volumes.update(volumeId, (r) => ({ ...r, state: 'deleting' }));
    await deleteVolume(ctx, volumeId);
  });
}

/** The caller's volumes; with `ids`, exactly those, or Malformed/NotFound as AWS answers. */
export async function visibleVolumes(ctx: Context, caller: Caller, ids?: string[]): Promise<VolumeRecord[]> {
  if (!ids?.length) return ctx.store.volumes.list({ account: caller.account, region: caller.region });
  for (const id of ids) if (!isValidId('volume', id)) throw new MalformedId('volume', id);
  const found = await Promise.all(ids.map((id) => ctx.store.volumes.get(id)));
  const missing = ids.filter((_, i) => !found[i] || found[i]!.account !== caller.account || found[i]!.region !== caller.region);
  if (missing.length) throw new NotFound('volume', missing);
  return found as VolumeRecord[];
}

export async function ownVolume(ctx: Context, caller: Caller, volumeId: string): Promise<VolumeRecord> {
  return (await visibleVolumes(ctx, caller, [volumeId]))[0]!;
}

/**
 * Copies the volume file to `dst` at one point in time: under the volume's
 * lock (no attach/detach/delete meanwhile) and, when attached, its instance's
 * lock (no stop/start), frozen if the instance runs. Lock order is always
 * instance then volume. Returns the volume as it was copied.
 */
export async function pointInTimeCopy(ctx: Context, volumeId: string, dst: string): Promise<VolumeRecord> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const instanceId = (await ctx.store.volumes.get(volumeId))?.attachment?.instanceId;
    const underInstance = <T>(fn: () => Promise<T>) => (instanceId ? ctx.locks.run(instanceId, fn) : fn());
    const copied = await underInstance(() => ctx.locks.run(volumeId, async () => {
      const vol = await ctx.store.volumes.get(volumeId);
      if (!vol) throw new NotFound('volume', [volumeId]);
      if (vol.attachment?.instanceId !== instanceId) return undefined; // attached or detached meanwhile: again
      const copy = () => ctx.pool.copy(ctx.paths.volume(volumeId), dst);
      const live = instanceId && (await ctx.runtime.state(instanceId)) === 'running';
      await (live ? ctx.runtime.whileFrozen(instanceId, copy) : copy());
      return vol;
    }));
    if (copied) return copied;
  }
  throw new Invalid('IncorrectState', `The volume '${volumeId}' is being attached or detached; try again.`);
}

/** After a restart: volumes whose creation was interrupted cannot finish; they become 'error'. */
export async function failInterruptedVolumes(ctx: Context): Promise<void> {
  for (const v of await ctx.store.volumes.list()) {
    if (v.state === 'creating' || v.state === 'deleting') {
      await ctx.store.volumes.update(v.id, (r) => ({ ...r, state: 'error' }));
    }
  }
}

/**
 * Where volume copies that become snapshots wait to be stored (made): in the
 * pool where it clones, so a copy is instant and becomes the snapshot's base;
 * else the scratch directory.
 */
export async function stagingDir(ctx: Context): Promise<string> {
  const dir = ctx.pool.stagingDir || ctx.paths.tmp;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Where a snapshot's point-in-time copy of a volume waits to be stored (a name removeTempFiles clears after a crash). */
export async function snapshotStagingFile(ctx: Context, snapshotId: string): Promise<string> {
  return join(await stagingDir(ctx), `.${snapshotId}.copy-${randomBytes(6).toString('hex')}`);
}
