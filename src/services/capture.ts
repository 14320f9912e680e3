import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { copySparse } from '../blocks/volume-io.js';
import type { Caller, Context } from './context.js';
import { Invalid, NotFound } from './errors.js';
import { insertImage } from './images.js';
import { instanceSpec, visibleInstances } from './instances.js';
import type { BlockDeviceMapping, ImageRecord, InstanceRecord, Tag, VolumeRecord } from './model.js';
import { completeSnapshot, createPendingSnapshot, discard } from './snapshots.js';
import { failInterruptedVolumes } from './volumes.js';

export interface CaptureRequest {
  instanceId: string;
  name: string;
  description?: string;
  noReboot?: boolean;
  /** Overrides by device name: NoDevice suppresses a volume; Ebs.DeleteOnTermination/VolumeType change the mapping. */
  blockDeviceMappings?: BlockDeviceMapping[];
  imageTags?: Tag[];
  snapshotTags?: Tag[];
}

/**
 * CreateImage: takes a point-in-time copy of each of the instance's volumes
 * (stopping it and starting it again, or freezing its filesystems with
 * NoReboot), answers with the image in state pending, and stores the copies as
 * snapshots in the background; the image becomes available when all complete.
 */
export async function createImageFromInstance(ctx: Context, caller: Caller, req: CaptureRequest): Promise<ImageRecord> {
  const [inst] = await visibleInstances(ctx, caller, [req.instanceId]);
  if (!['running', 'stopping', 'stopped'].includes(inst.state)) {
    throw new Invalid('InvalidParameterValue',
      `Invalid value '${inst.id}' for instanceId. Instance is not in state 'running' or 'stopping' or 'stopped'`);
  }
  const volumes = await attachedVolumes(ctx, inst, req.blockDeviceMappings ?? []);
  const image = await insertImage(ctx, caller, {
    name: req.name, description: req.description, architecture: inst.architecture, rootDeviceName: inst.rootDeviceName,
    blockDeviceMappings: [], sourceInstanceId: inst.id, sourceImageId: inst.imageId, sourceImageRegion: inst.region,
    tags: req.imageTags,
  });
  try {
    const snaps = await Promise.all(volumes.map(({ vol }) => createPendingSnapshot(ctx, caller, {
      volumeId: vol.id, volumeSize: vol.size, tags: req.snapshotTags,
      description: `Created by CreateImage(${inst.id}) for ${image.id}`,
    })));
    const mappings: BlockDeviceMapping[] = volumes.map(({ vol, mapping }, i) => ({
      deviceName: mapping.deviceName,
      ebs: { snapshotId: snaps[i].id, volumeSize: vol.size, deleteOnTermination: mapping.ebs!.deleteOnTermination, volumeType: mapping.ebs!.volumeType, encrypted: false },
    }));
    const suppressed = (req.blockDeviceMappings ?? []).filter((m) => m.noDevice).map((m) => ({ deviceName: m.deviceName, noDevice: true }));
    // An image of an instance of a marketplace image carries the same product codes (so the same subscription rules).
    const productCodes = (await ctx.store.images.get(inst.imageId))?.productCodes;
    const pending = await ctx.store.images.update(image.id, (r) => ({ ...r, blockDeviceMappings: [...mappings, ...suppressed], productCodes }));
    const copies = await pointInTimeCopies(ctx, inst, volumes.map((v) => v.vol), !!req.noReboot);
    ctx.tasks.start(`capture ${image.id}`, () => storeSnapshots(ctx, image.id, volumes.map((v, i) => ({
      snapshotId: snaps[i].id, file: copies[i], parent: v.vol.snapshotId,
    }))));
    return pending;
  } catch (err) {
    await ctx.store.images.update(image.id, (r) => ({ ...r, state: 'failed', stateReason: { code: 'Server.InternalError', message: (err as Error).message } }));
    throw err;
  }
}

async function attachedVolumes(ctx: Context, inst: InstanceRecord, overrides: BlockDeviceMapping[]) {
  const out: Array<{ vol: VolumeRecord; mapping: BlockDeviceMapping }> = [];
  for (const id of inst.volumeIds) {
    const vol = await ctx.store.volumes.get(id);
    if (!vol?.attachment) continue;
    const o = overrides.find((m) => m.deviceName === vol.attachment!.device);
    if (o?.noDevice) {
      if (vol.attachment.device === inst.rootDeviceName) throw new Invalid('InvalidBlockDeviceMapping', 'The root device cannot be suppressed with NoDevice');
      continue;
    }
    out.push({ vol, mapping: {
      deviceName: vol.attachment.device,
      ebs: {
        volumeSize: vol.size, encrypted: false,
        deleteOnTermination: o?.ebs?.deleteOnTermination ?? vol.attachment.deleteOnTermination,
        volumeType: o?.ebs?.volumeType ?? vol.volumeType,
      },
    } });
  }
  if (!out.length) throw new NotFound('volume', [`root volume of ${inst.id}`]);
  return out;
}

/** Copies the volume files at one point in time, under the instance's lock so no lifecycle action interleaves. */
async function pointInTimeCopies(ctx: Context, inst: InstanceRecord, vols: VolumeRecord[], noReboot: boolean): Promise<string[]> {
  await mkdir(ctx.paths.tmp, { recursive: true });
  const files = vols.map((v) => join(ctx.paths.tmp, `${v.id}-${Date.now()}.capture`));
  const copyAll = () => Promise.all(vols.map((v, i) => copySparse(ctx.paths.volume(v.id), files[i])));
  await ctx.locks.run(inst.id, async () => {
    const live = (await ctx.runtime.state(inst.id)) === 'running';
    if (!live) return void await copyAll();
    if (noReboot) return void await ctx.runtime.whileFrozen(inst.id, copyAll);
    await ctx.runtime.stop(inst.id);
    try {
      await copyAll();
    } finally {
      await ctx.runtime.start(await instanceSpec(ctx, inst.id));
    }
  });
  return files;
}

async function storeSnapshots(ctx: Context, imageId: string, items: Array<{ snapshotId: string; file: string; parent?: string }>): Promise<void> {
  try {
    for (const it of items) await completeSnapshot(ctx, it.snapshotId, it.file, it.parent);
    await ctx.store.images.update(imageId, (r) => (r.state === 'pending' ? { ...r, state: 'available' } : r));
  } catch (err) {
    await ctx.store.images.update(imageId, (r) => ({
      ...r, state: 'failed', stateReason: { code: 'Client.SnapshotError', message: `Client.SnapshotError: ${(err as Error).message}` },
    }));
    throw err;
  } finally {
    await Promise.all(items.map((it) => discard(it.file)));
  }
}

/** After a restart, captures that were interrupted cannot finish: their images fail and snapshots error, honestly. */
export async function failInterruptedCaptures(ctx: Context): Promise<void> {
  for (const s of await ctx.store.snapshots.list()) {
    if (s.state === 'pending') await ctx.store.snapshots.update(s.id, (r) => ({ ...r, state: 'error', stateMessage: 'interrupted by a server restart' }));
  }
  for (const img of await ctx.store.images.list()) {
    if (img.state === 'pending') {
      await ctx.store.images.update(img.id, (r) => ({ ...r, state: 'failed', stateReason: { code: 'Server.InternalError', message: 'Server.InternalError: interrupted by a server restart' } }));
    }
  }
  await failInterruptedVolumes(ctx);
}
