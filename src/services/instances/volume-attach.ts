/**
 * AttachVolume and DetachVolume. A volume attached to a running instance
 * really appears in it (the runtime mounts it at /mnt/<device basename>);
 * attached to a stopped one, it is mounted when the instance starts. It stays
 * attached across stop/start; termination detaches it (deleting it only with
 * DeleteOnTermination, false for volumes attached here).
 *
 * Both run under the instance's lock, then the volume's (the order every
 * volume operation uses), so they never interleave with a start, stop or
 * snapshot copy. The records change first and are put back if the runtime
 * fails, so a crash in between leaves the volume recorded as attached (and
 * mounted at the next start), never attached twice.
 */
import { VolumeBusyError } from '../../runtime/runtime.js';
import type { Caller, Context } from '../core/context.js';
import { HostUnavailable, Invalid, InvalidState, NotFound } from '../core/errors.js';
import { DamagedFilesystemError } from '../../lib/ext4-check.js';
import { nowIso } from '../core/ids.js';
import { visibleInstances } from './instances.js';
import type { InstanceRecord, VolumeAttachmentRecord, VolumeRecord } from '../../model/records.js';
import { ownVolume } from '../volumes/volumes.js';

/** Device names a data volume may take (EC2's recommended ones for Linux). */
const DATA_DEVICE = /^\/dev\/(sd|xvd)([f-p])$/;

export type Attachment = VolumeAttachmentRecord & { volumeId: string };

export interface AttachRequest { volumeId: string; instanceId: string; device: string }

export async function attachVolume(ctx: Context, caller: Caller, req: AttachRequest): Promise<Attachment> {
  const vol = await ownVolume(ctx, caller, req.volumeId);
  const [inst] = await visibleInstances(ctx, caller, [req.instanceId]);
  return ctx.locks.run(inst!.id, () => ctx.locks.run(vol.id, () => attachLocked(ctx, inst!.id, vol.id, req.device)));
}

async function attachLocked(ctx: Context, instanceId: string, volumeId: string, device: string): Promise<Attachment> {
  const inst = await ctx.store.instances.get(instanceId);
  const vol = await ctx.store.volumes.get(volumeId);
  if (!inst) throw new NotFound('instance', [instanceId]);
  if (!vol) throw new NotFound('volume', [volumeId]);
  const attached = await attachedVolumes(ctx, inst);
  const root = checkAttach(inst, vol, device, attached);
  const attachment: VolumeAttachmentRecord = { instanceId, device, deleteOnTermination: false, attachTime: nowIso('seconds') };
  await ctx.store.volumes.update(volumeId, (v) => {
    if (v.attachment || v.state !== 'available') throw new Invalid('VolumeInUse', `${volumeId} is already attached to an instance`);
    return { ...v, state: 'in-use', attachment };
  });
  await ctx.store.instances.update(instanceId, (i) => ({ ...i, volumeIds: [...i.volumeIds.filter((id) => id !== volumeId), volumeId] }));
  try {
    if (!root && (await ctx.runtime.state(instanceId)) === 'running') {
      if (!ctx.runtime.attach) throw new HostUnavailable(`the ${ctx.runtime.name} runtime cannot attach volumes to a running instance; stop it first`);
      await ctx.runtime.attach(instanceId, { device, path: ctx.paths.volume(volumeId), root: false });
    }
  } catch (err) {
    await ctx.store.instances.update(instanceId, (i) => ({ ...i, volumeIds: i.volumeIds.filter((id) => id !== volumeId) }));
    await ctx.store.volumes.update(volumeId, (v) => ({ ...v, state: 'available', attachment: undefined }));
    if (err instanceof DamagedFilesystemError) throw new Invalid('InvalidVolume.NotAttachable', `${volumeId}: ${err.message}`);
    throw err;
  }
  return { ...attachment, volumeId };
}

async function attachedVolumes(ctx: Context, inst: InstanceRecord): Promise<VolumeRecord[]> {
  const vols = await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)));
  return vols.filter((v): v is VolumeRecord => v?.attachment?.instanceId === inst.id);
}

/** Validates an attachment as EC2 does; true when it attaches the root device of a stopped instance that has none. */
function checkAttach(inst: InstanceRecord, vol: VolumeRecord, device: string, attached: VolumeRecord[]): boolean {
  if (vol.attachment || vol.state === 'in-use') throw new Invalid('VolumeInUse', `${vol.id} is already attached to an instance`);
  if (vol.state !== 'available') throw new Invalid('IncorrectState', `${vol.id} is not 'available'.`);
  if (inst.state !== 'running' && inst.state !== 'stopped') {
    throw new Invalid('IncorrectState', `Instance '${inst.id}' is not 'running'.`);
  }
  if (vol.availabilityZone !== inst.availabilityZone) {
    throw new Invalid('InvalidVolume.ZoneMismatch',
      `The volume '${vol.id}' is not in the same availability zone as instance '${inst.id}'`);
  }
  const hasRoot = attached.some((v) => v.attachment!.device === inst.rootDeviceName);
  const root = device === inst.rootDeviceName && !hasRoot;
  if (root && inst.state !== 'stopped') {
    throw new InvalidState('instance', inst.id, inst.state, `The root volume of '${inst.id}' can only be attached while it is stopped.`);
  }
  if (!root && !DATA_DEVICE.test(device)) {
    throw new Invalid('InvalidParameterValue', `Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`);
  }
  if (attached.some((v) => slot(v.attachment!.device) === slot(device))) {
    throw new Invalid('InvalidParameterValue', `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`);
  }
  return root;
}

/** /dev/sdf and /dev/xvdf name the same attachment point (as on Xen instances). */
function slot(device: string): string {
  const m = DATA_DEVICE.exec(device);
  return m ? `data:${m[2]}` : device;
}

export interface DetachRequest { volumeId: string; instanceId?: string; device?: string; force?: boolean }

export async function detachVolume(ctx: Context, caller: Caller, req: DetachRequest): Promise<Attachment> {
  const vol = await ownVolume(ctx, caller, req.volumeId);
  if (req.instanceId) await visibleInstances(ctx, caller, [req.instanceId]);
  const att = vol.attachment;
  if (!att) throw new Invalid('IncorrectState', `Volume '${vol.id}' is in the '${vol.state}' state.`);
  if ((req.instanceId && req.instanceId !== att.instanceId) || (req.device && req.device !== att.device)) {
    throw new Invalid('InvalidAttachment.NotFound',
      `The volume ${vol.id} is not attached to ${req.instanceId ? `instance ${req.instanceId}` : ''}${req.device ? ` at ${req.device}` : ''}`.trim());
  }
  return ctx.locks.run(att.instanceId, () => ctx.locks.run(vol.id, () => detachLocked(ctx, vol.id, att.instanceId, !!req.force)));
}

async function detachLocked(ctx: Context, volumeId: string, instanceId: string, force: boolean): Promise<Attachment> {
  const vol = await ctx.store.volumes.get(volumeId);
  const att = vol?.attachment;
  if (!vol || att?.instanceId !== instanceId) throw new Invalid('IncorrectState', `Volume '${volumeId}' is no longer attached to ${instanceId}.`);
  const inst = await ctx.store.instances.get(instanceId);
  const root = !!inst && att.device === inst.rootDeviceName;
  if (root && inst.state !== 'stopped') {
    throw new Invalid('IncorrectState', `Unable to detach root volume '${volumeId}' from instance '${instanceId}' while it is ${inst.state}.`);
  }
  if (!root && (await ctx.runtime.state(instanceId)) === 'running') {
    if (!ctx.runtime.detach) throw new HostUnavailable(`the ${ctx.runtime.name} runtime cannot detach volumes from a running instance; stop it first`);
    try {
      await ctx.runtime.detach(instanceId, att.device, { force });
    } catch (err) {
      if (!(err instanceof VolumeBusyError)) throw err;
      throw new Invalid('IncorrectState', `Volume '${volumeId}' is busy in instance '${instanceId}' (a process uses ${att.device}); retry, or detach with Force.`);
    }
  }
  await ctx.store.volumes.update(volumeId, (v) => ({ ...v, state: 'available', attachment: undefined }));
  if (inst) await ctx.store.instances.update(instanceId, (i) => ({ ...i, volumeIds: i.volumeIds.filter((id) => id !== volumeId) }));
  return { ...att, volumeId };
}
