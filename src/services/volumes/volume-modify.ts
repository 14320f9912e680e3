/**
 * ModifyVolume and DescribeVolumesModifications (Elastic Volumes): a volume
 * grows (never shrinks) and changes type, IOPS or throughput while it is
 * attached and in use. The modification is recorded at once as 'modifying'
 * and carried out in the background: the file is made longer and its ext4
 * grown to fill it — online through the runtime while an instance runs over
 * it, offline (e2fsck, resize2fs) otherwise — then the volume shows its new
 * size and settings and the modification is 'completed' ('failed' with a
 * message if the host could not do it, the volume unchanged).
 *
 * AWS allows one modification per volume every six hours; Kiln does not make
 * you wait. A modification still under way refuses the next one.
 */
import { truncate } from 'node:fs/promises';
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import { nowIso } from '../core/ids.js';
import type { VolumeRecord } from '../../model/records.js';
import { checkPerformance, growVolumeFile, ownVolume, reportedPerformance, VOLUME_TYPES, visibleVolumes } from './volumes.js';
import type { VolumeModificationRecord } from '../../model/extra-records.js';
import { checkVolumeRoom } from './volume-capacity.js';

const GiB = 1024 ** 3;

export interface ModifyRequest { volumeId: string; size?: number; volumeType?: string; iops?: number; throughput?: number }

const modifications = (ctx: Context) => ctx.store.collection<VolumeModificationRecord>('volume-modification');

export async function modifyVolume(ctx: Context, caller: Caller, req: ModifyRequest): Promise<VolumeModificationRecord> {
  const vol = await ownVolume(ctx, caller, req.volumeId);
  if (vol.state !== 'available' && vol.state !== 'in-use') {
    throw new Invalid('IncorrectState', `The volume '${vol.id}' is in state '${vol.state}' and cannot be modified.`);
  }
  const current = await modifications(ctx).get(vol.id);
  if (current && (current.state === 'modifying' || current.state === 'optimizing')) {
    throw new Invalid('IncorrectModificationState', `Volume ${vol.id} is already being modified.`);
  }
  const rec = validate(vol, req);
  await checkVolumeRoom(ctx, rec.targetSize - vol.size);
  if (current) await modifications(ctx).delete(vol.id);
  await modifications(ctx).insert(rec);
  ctx.tasks.start(`modify ${vol.id}`, () => carryOut(ctx, rec));
  return rec;
}

function validate(vol: VolumeRecord, req: ModifyRequest): VolumeModificationRecord {
  const size = req.size ?? vol.size;
  const volumeType = req.volumeType ?? vol.volumeType;
  const type = VOLUME_TYPES[volumeType];
  if (!type) throw new Invalid('InvalidParameterValue', `Value (${volumeType}) for parameter volumeType is invalid.`);
  if (!Number.isInteger(size) || size < vol.size) {
    throw new Invalid('InvalidParameterValue', `New size cannot be smaller than existing size (${vol.size} GiB): ${size}`);
  }
  if (size < type.minGiB || size > type.maxGiB) {
    throw new Invalid('InvalidParameterValue', `Volume of ${size}GiB is out of range for ${volumeType} volumes (${type.minGiB}-${type.maxGiB} GiB).`);
  }
  // IOPS and throughput carry over only to a type that takes them.
  const keep = volumeType === vol.volumeType;
  const iops = req.iops ?? (keep || type.iops !== 'none' ? vol.iops : undefined);
  const throughput = req.throughput ?? (keep || type.throughput ? vol.throughput : undefined);
  checkPerformance(volumeType, type, size, { iops, throughput });
  if (size === vol.size && volumeType === vol.volumeType && iops === vol.iops && throughput === vol.throughput) {
    throw new Invalid('InvalidParameterCombination', `Volume ${vol.id} already has the requested size, type, IOPS and throughput.`);
  }
  const before = reportedPerformance(vol);
  return {
    id: vol.id, account: vol.account, region: vol.region, state: 'modifying', progress: 0, startTime: nowIso(),
    targetSize: size, targetVolumeType: volumeType, targetIops: iops ?? reportedPerformance({ ...vol, size, volumeType, iops }).iops,
    targetThroughput: throughput ?? reportedPerformance({ ...vol, size, volumeType, throughput }).throughput,
    originalSize: vol.size, originalVolumeType: vol.volumeType, originalIops: before.iops, originalThroughput: before.throughput,
  };
}

/** Grows the file (and the filesystem in it) under the instance's lock, then the volume's, as every volume operation does. */
async function carryOut(ctx: Context, mod: VolumeModificationRecord): Promise<void> {
  const vol = await ctx.store.volumes.get(mod.id);
  const instanceId = vol?.attachment?.instanceId;
  let message: string | undefined;
  const work = () => ctx.locks.run(mod.id, async () => {
    const v = await ctx.store.volumes.get(mod.id);
    if (!v) throw new Error('the volume was deleted');
    if (mod.targetSize > v.size) {
      const file = ctx.paths.volume(v.id);
      const running = v.attachment && (await ctx.runtime.state(v.attachment.instanceId)) === 'running';
      if (running) {
        if (!ctx.runtime.grow) throw new Error(`the ${ctx.runtime.name} runtime cannot grow a volume in use; stop the instance first`);
        await truncate(file, mod.targetSize * GiB);
        // Where the host cannot resize online, the filesystem grows at the next boot or reboot (growFilesystem), as cloud-init's resizefs does.
        if (!(await ctx.runtime.grow(v.attachment!.instanceId, file))) {
          message = `The volume is ${mod.targetSize} GiB; its filesystem grows to that size at the instance's next boot or reboot (this host cannot resize it online).`;
        }
      } else {
        await growVolumeFile(file, mod.targetSize * GiB);
      }
    }
    const type = VOLUME_TYPES[mod.targetVolumeType]!;
    await ctx.store.volumes.update(v.id, (r) => ({
      ...r, size: mod.targetSize, volumeType: mod.targetVolumeType,
      iops: type.iops === 'none' ? undefined : mod.targetIops, throughput: type.throughput ? mod.targetThroughput : undefined,
    } as VolumeRecord));
  });
  try {
    await (instanceId ? ctx.locks.run(instanceId, work) : work());
    await modifications(ctx).update(mod.id, (m) => ({ ...m, state: 'completed', progress: 100, endTime: nowIso(), ...(message ? { statusMessage: message } : {}) }));
  } catch (err) {
    await modifications(ctx).update(mod.id, (m) => ({ ...m, state: 'failed', statusMessage: (err as Error).message, endTime: nowIso() }));
    throw err;
  }
}

/** The latest modification of each of the caller's volumes (with ids: each must exist and have one). */
export async function volumeModifications(ctx: Context, caller: Caller, ids?: string[]): Promise<VolumeModificationRecord[]> {
  if (ids?.length) {
    await visibleVolumes(ctx, caller, ids);
    const found = await Promise.all(ids.map((id) => modifications(ctx).get(id)));
    const missing = ids.find((_, i) => !found[i]);
    if (missing) throw new Invalid('InvalidVolumeModification.NotFound', `Modification for volume '${missing}' does not exist.`);
    return found as VolumeModificationRecord[];
  }
  return modifications(ctx).list(caller);
}
