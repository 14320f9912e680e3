import { execFile } from 'node:child_process';
import { mkdir, rm, truncate } from 'node:fs/promises';
import { promisify } from 'node:util';
import { restoreFile } from '../blocks/volume-io.js';
import type { Caller, Context } from './context.js';
import { Invalid, NotFound } from './errors.js';
import { newId, nowIso } from './ids.js';
import type { Tag, VolumeRecord } from './model.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;

export interface NewVolume {
  availabilityZone: string;
  size?: number;
  snapshotId?: string;
  volumeType?: string;
  tags?: Tag[];
}

/**
 * Creates a volume from a snapshot: its file is the snapshot's blocks written
 * into a sparse file, grown (file and ext4 filesystem) when a larger size is asked.
 */
export async function createVolumeFromSnapshot(ctx: Context, owner: Caller, v: NewVolume): Promise<VolumeRecord> {
  if (!v.snapshotId) throw new Invalid('MissingParameter', 'The request must contain the parameter snapshotId');
  const map = await ctx.store.blockMaps.get(v.snapshotId);
  if (!map) throw new NotFound('snapshot', [v.snapshotId]);
  const snapSize = Math.ceil(map.sizeBytes / GiB);
  const size = v.size ?? snapSize;
  if (size < snapSize) {
    throw new Invalid('InvalidParameterValue', `Volume of ${size}GiB is smaller than snapshot '${v.snapshotId}', expect size >= ${snapSize}GiB`);
  }
  const rec: VolumeRecord = {
    id: newId('volume'), account: owner.account, region: owner.region, size, snapshotId: v.snapshotId,
    availabilityZone: v.availabilityZone, state: 'creating', createTime: nowIso(), volumeType: v.volumeType ?? 'gp3',
    encrypted: false, tags: v.tags ?? [],
  };
  await ctx.store.volumes.insert(rec);
  try {
    await mkdir(ctx.paths.volumes, { recursive: true });
    const file = ctx.paths.volume(rec.id);
    await restoreFile(map, ctx.blocks, file);
    if (size * GiB > map.sizeBytes) await growVolumeFile(file, size * GiB);
    return await ctx.store.volumes.update(rec.id, (r) => ({ ...r, state: 'available' }));
  } catch (err) {
    await rm(ctx.paths.volume(rec.id), { force: true });
    await ctx.store.volumes.update(rec.id, (r) => ({ ...r, state: 'error' }));
    throw err;
  }
}

async function growVolumeFile(file: string, bytes: number): Promise<void> {
  await truncate(file, bytes);
  await run('resize2fs', ['-f', file]);
}

/** Deletes a volume's file and record. */
export async function deleteVolume(ctx: Context, volumeId: string): Promise<void> {
  await rm(ctx.paths.volume(volumeId), { force: true });
  await ctx.store.volumes.delete(volumeId);
}
