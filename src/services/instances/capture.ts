/** CreateImage: an image of an instance's volumes, captured at one point in time. */
import { join } from 'node:path';
import type { MappingRequest } from '../images/block-mappings.js';
import { applyOverrides, mappingSnapshots, validateMappings } from '../images/block-mappings.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid, isStorageError, NotFound, publicMessage } from '../core/errors.js';
import { insertImage } from '../images/images.js';
import { instanceSpec, visibleInstances } from './instances.js';
import type { BlockDeviceMapping, ImageRecord, InstanceRecord, Tag, VolumeRecord } from '../../model/records.js';
import { present } from '../../model/records.js';
import { completeSnapshot, createPendingSnapshot, discard } from '../snapshots/snapshots.js';
import { failInterruptedVolumes, stagingDir } from '../volumes/volumes.js';

export interface CaptureRequest {
  instanceId: string;
  name: string;
  description?: string;
  noReboot?: boolean;
  /** Overrides by device name, as block-mappings.ts applies them: suppress, change, or add a device. */
  blockDeviceMappings?: MappingRequest[];
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
  const overrides = req.blockDeviceMappings ?? [];
  validateMappings(overrides);
  const snaps = await mappingSnapshots(ctx, caller, overrides);
  const attached = await attachedVolumes(ctx, inst);
  const mappings = applyOverrides(attached.map((a) => a.mapping), overrides, snaps, inst.rootDeviceName);
  // The attached volumes the image keeps (not suppressed, not replaced by a snapshot an override names): each becomes a snapshot.
  const volumes = attached.filter(({ mapping }) => mappings.some((m) => m.deviceName === mapping.deviceName && m.ebs && !m.ebs.snapshotId));
  beforeChange(caller);
  // The image, its pending snapshots and its mappings are written together: a crash or a concurrent
  // request never sees an image without its snapshots (nor a name taken twice: the store's unique key).
  const { image, made, pending } = await ctx.store.transaction(async () => {
    const image = await insertImage(ctx, caller, {
      name: req.name, description: req.description, architecture: inst.architecture, rootDeviceName: inst.rootDeviceName,
      blockDeviceMappings: [], sourceInstanceId: inst.id, sourceImageId: inst.imageId, sourceImageRegion: inst.region,
      tags: req.imageTags,
    });
    const made = new Map<string, string>();
    for (const { vol, mapping } of volumes) {
      const snap = await createPendingSnapshot(ctx, caller, {
        volumeId: vol.id, volumeSize: vol.size, tags: req.snapshotTags, encrypted: vol.encrypted, kmsKeyId: vol.kmsKeyId,
        description: `Created by CreateImage(${inst.id}) for ${image.id}`,
      });
      made.set(mapping.deviceName, snap.id);
    }
    const final = mappings.map((m) => (made.has(m.deviceName) ? { ...m, ebs: { ...m.ebs!, snapshotId: made.get(m.deviceName) } } : m));
    // An image of an instance of a marketplace image carries the same product codes (so the same subscription rules),
    // and the boot settings the instance booted with (as AWS's images inherit the instance's boot mode).
    const from = await ctx.store.images.get(inst.imageId);
    const pending = await ctx.store.images.update(image.id, (r) => ({
      ...r, blockDeviceMappings: final, productCodes: from?.productCodes, bootMode: from?.bootMode, tpmSupport: from?.tpmSupport,
      uefiData: from?.uefiData, enaSupport: from?.enaSupport ?? r.enaSupport,
    }));
    return { image, made, pending };
  });
  try {
    const copies = await pointInTimeCopies(ctx, inst, volumes.map((v) => v.vol), !!req.noReboot);
    ctx.tasks.start(`capture ${image.id}`, () => storeSnapshots(ctx, image.id, volumes.map((v, i) => ({
      snapshotId: made.get(v.mapping.deviceName)!, file: copies[i], parent: v.vol.snapshotId,
    }))));
    return pending;
  } catch (err) {
    await failCapture(ctx, image.id, [...made.values()], err, 'Server.InternalError');
    // A full disk fails the capture, not the call: CreateImage answers with the image id, and the image is failed.
    if (isStorageError(err)) return (await ctx.store.images.get(image.id)) ?? pending;
    throw err;
  }
}

/**
 * A capture that cannot finish: its snapshots still pending go to error and the
 * image to failed, with a reason that names no host path (the log has the error).
 */
async function failCapture(ctx: Context, imageId: string, snapshotIds: string[], err: unknown, code: string): Promise<void> {
  ctx.log(`kiln: capture of ${imageId} failed: ${(err as Error).message}`);
  const message = publicMessage(err);
  const reason = isStorageError(err) ? { code: 'Server.InternalError', message: `Server.InternalError: ${message}` } : { code, message: `${code}: ${message}` };
  for (const id of snapshotIds) {
    await ctx.store.snapshots.update(id, (s) => (s.state === 'pending' ? { ...s, state: 'error', stateMessage: message } : s))
      .catch((e: Error) => ctx.log(`kiln: could not mark ${id} error: ${e.message}`));
  }
  await ctx.store.images.update(imageId, (r) => (r.state === 'pending' ? { ...r, state: 'failed', stateReason: reason } : r))
    .catch((e: Error) => ctx.log(`kiln: could not mark ${imageId} failed: ${e.message}`));
}

/** The instance's attached volumes, each with the mapping an image of it starts from (its snapshot still to be made). */
async function attachedVolumes(ctx: Context, inst: InstanceRecord) {
  const out: Array<{ vol: VolumeRecord; mapping: BlockDeviceMapping }> = [];
  for (const id of inst.volumeIds) {
    const vol = await ctx.store.volumes.get(id);
    if (!vol?.attachment) continue;
    out.push({ vol, mapping: {
      deviceName: vol.attachment.device,
      ebs: {
        volumeSize: vol.size, encrypted: vol.encrypted, deleteOnTermination: vol.attachment.deleteOnTermination, volumeType: vol.volumeType,
        ...present({ kmsKeyId: vol.encrypted ? vol.kmsKeyId : undefined, iops: vol.iops, throughput: vol.throughput }),
      },
    } });
  }
  if (!out.some((a) => a.mapping.deviceName === inst.rootDeviceName)) throw new NotFound('volume', [`root volume of ${inst.id}`]);
  return out;
}

/** Copies the volume files at one point in time, under the instance's lock so no lifecycle action interleaves. */
async function pointInTimeCopies(ctx: Context, inst: InstanceRecord, vols: VolumeRecord[], noReboot: boolean): Promise<string[]> {
  // In the pool where it clones, the copies are instant: the freeze lasts milliseconds.
  const dir = await stagingDir(ctx);
  const files = vols.map((v) => join(dir, `${v.id}-${Date.now()}.capture`));
  const copyAll = () => Promise.all(vols.map((v, i) => ctx.pool.copy(ctx.paths.volume(v.id), files[i])));
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
    await failCapture(ctx, imageId, items.map((it) => it.snapshotId), err, 'Client.SnapshotError');
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
