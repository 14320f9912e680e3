/**
 * Block device mappings, one set of rules for the three requests that take
 * them: RegisterImage (the image's mappings, from nothing), CreateImage (the
 * instance's volumes, overridden) and RunInstances (the image's mappings,
 * overridden). Shape checks come first, then the snapshots named are looked
 * up (completed, and ones the caller may create volumes from), then the
 * overrides are applied as EC2 applies them:
 *
 * - NoDevice takes a device out (never the root device);
 * - Ebs fields given on a mapped device replace those fields only (a size may
 *   grow, never shrink below the snapshot; encryption is never taken away);
 * - a device not mapped yet is added: a volume from SnapshotId, or an empty
 *   one of VolumeSize;
 * - VirtualName (instance store) is kept in the mapping; Kiln has no instance
 *   store, so it makes no volume for it.
 */
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import type { BlockDeviceMapping, EbsMapping, SnapshotRecord } from '../../model/records.js';
import { present } from '../../model/records.js';
import { describeSnapshots } from '../snapshots/snapshots.js';
import { checkPerformance, VOLUME_TYPES } from '../volumes/volumes.js';

/** A mapping as a request gives it: every field optional. */
export interface MappingRequest {
  deviceName?: string;
  virtualName?: string;
  noDevice?: boolean;
  ebs?: { snapshotId?: string; volumeSize?: number; deleteOnTermination?: boolean; volumeType?: string; encrypted?: boolean; iops?: number; throughput?: number };
}

const DEVICE_NAME = /^\/dev\/(sd[a-z]\d*|xvd[a-z]{1,2}\d*|nvme\d+n\d+)$|^xvd[a-z]{1,2}$/;
const MAX_GIB = 65536;
/** EC2's default type for a volume a mapping adds (RegisterImage, RunInstances). */
const DEFAULT_VOLUME_TYPE = 'gp2';

const badMapping = (message: string) => new Invalid('InvalidBlockDeviceMapping', message);

/** Shape checks, before any snapshot is looked up. `root` given: it must be mapped from a snapshot (RegisterImage). */
export function validateMappings(mappings: MappingRequest[], root?: string): void {
  const seen = new Set<string>();
  for (const m of mappings) {
    if (!m.deviceName) throw new Invalid('MissingParameter', 'The request must contain the parameter BlockDeviceMapping.DeviceName');
    if (!DEVICE_NAME.test(m.deviceName)) throw badMapping(`Invalid device name ${m.deviceName}`);
    if (seen.has(m.deviceName)) throw badMapping(`The device name ${m.deviceName} is used more than once`);
    seen.add(m.deviceName);
    const kinds = [m.ebs, m.noDevice, m.virtualName].filter((x) => x !== undefined && x !== false).length;
    if (kinds !== 1) throw badMapping(`The device ${m.deviceName} must have exactly one of Ebs, NoDevice or VirtualName`);
    if (m.ebs?.volumeType !== undefined && !VOLUME_TYPES[m.ebs.volumeType]) {
      throw new Invalid('InvalidParameterValue', `Value (${m.ebs.volumeType}) for parameter volumeType is invalid.`);
    }
    if (m.ebs?.volumeSize !== undefined && (!Number.isInteger(m.ebs.volumeSize) || m.ebs.volumeSize < 1 || m.ebs.volumeSize > MAX_GIB)) {
      throw badMapping(`Invalid volume size ${m.ebs.volumeSize} for ${m.deviceName}`);
    }
  }
  if (root === undefined) return;
  const rootMapping = mappings.find((m) => m.deviceName === root);
  if (!rootMapping?.ebs?.snapshotId) {
    throw badMapping(`The root device name ${root} must be mapped to an EBS volume made from a snapshot`);
  }
}

/** The snapshots the mappings name: each must be completed and one the caller may create volumes from. */
export async function mappingSnapshots(ctx: Context, caller: Caller, mappings: MappingRequest[]): Promise<Map<string, SnapshotRecord>> {
  const ids = [...new Set(mappings.map((m) => m.ebs?.snapshotId).filter((s): s is string => !!s))];
  const snaps = ids.length ? await describeSnapshots(ctx, caller, ids) : [];
  for (const s of snaps) {
    if (s.state !== 'completed') throw new Invalid('IncorrectState', `Snapshot ${s.id} is in invalid state - ${s.state}`);
  }
  return new Map(snaps.map((s) => [s.id, s]));
}

function checkSize(deviceName: string, size: number, least: number, snapshotId?: string): void {
  if (size >= least) return;
  throw badMapping(snapshotId
    ? `Volume of size ${size}GB is smaller than snapshot '${snapshotId}', expect size >= ${least}GB`
    : `Volume of size ${size}GB for ${deviceName} is smaller than the image's ${least}GB; a volume can grow, not shrink`);
}

/** A mapping made from a request alone (RegisterImage, or a device an override adds): a snapshot or a size. */
export function newMapping(m: MappingRequest, snaps: Map<string, SnapshotRecord>): BlockDeviceMapping {
  const deviceName = m.deviceName!;
  if (!m.ebs) return m.noDevice ? { deviceName, noDevice: true } : { deviceName, virtualName: m.virtualName };
  const snap = m.ebs.snapshotId ? snaps.get(m.ebs.snapshotId) : undefined;
  if (!snap && m.ebs.volumeSize === undefined) throw badMapping(`The device ${deviceName} needs a snapshot id or a volume size`);
  const volumeSize = m.ebs.volumeSize ?? snap!.volumeSize;
  if (snap) checkSize(deviceName, volumeSize, snap.volumeSize, snap.id);
  return {
    deviceName,
    ebs: withPerformance({
      snapshotId: snap?.id, volumeSize, deleteOnTermination: m.ebs.deleteOnTermination ?? true,
      volumeType: m.ebs.volumeType ?? DEFAULT_VOLUME_TYPE, encrypted: !!snap?.encrypted || !!m.ebs.encrypted,
      ...present({ kmsKeyId: snap?.kmsKeyId }),
    }, m.ebs),
  };
}

/** `ebs` with the IOPS and throughput `p` gives, checked against its type and size as CreateVolume checks them. */
function withPerformance(ebs: EbsMapping, p: { iops?: number; throughput?: number }): EbsMapping {
  checkPerformance(ebs.volumeType, VOLUME_TYPES[ebs.volumeType]!, ebs.volumeSize, p);
  const { iops: _i, throughput: _t, ...rest } = ebs;
  return { ...rest, ...present({ iops: p.iops, throughput: p.throughput }) };
}

/** `base` with the request's overrides applied (see the module comment); the order is base's, then added devices. */
export function applyOverrides(
  base: BlockDeviceMapping[], overrides: MappingRequest[], snaps: Map<string, SnapshotRecord>, root: string,
): BlockDeviceMapping[] {
  const out = base.map((m) => ({ ...m }));
  for (const o of overrides) {
    const deviceName = o.deviceName!;
    const i = out.findIndex((m) => m.deviceName === deviceName);
    if (o.noDevice && deviceName === root) throw badMapping(`The root device ${root} cannot be suppressed with NoDevice`);
    const current = i >= 0 ? out[i] : undefined;
    const next = current?.ebs && o.ebs ? { deviceName, ebs: mergeEbs(deviceName, current.ebs, o.ebs, snaps) } : newMapping(o, snaps);
    if (current) out[i] = next;
    else out.push(next);
  }
  return out;
}

function mergeEbs(deviceName: string, cur: EbsMapping, o: NonNullable<MappingRequest['ebs']>, snaps: Map<string, SnapshotRecord>): EbsMapping {
  const snap = o.snapshotId ? snaps.get(o.snapshotId) : undefined;
  const snapshotId = snap?.id ?? cur.snapshotId;
  const least = snap ? snap.volumeSize : cur.volumeSize;
  const volumeSize = o.volumeSize ?? least;
  checkSize(deviceName, volumeSize, least, snap?.id);
  const volumeType = o.volumeType ?? cur.volumeType;
  // A new type starts from its own defaults: gp3's IOPS mean nothing to gp2.
  const kept: Partial<EbsMapping> = volumeType === cur.volumeType ? cur : {};
  return withPerformance({
    snapshotId, volumeSize, volumeType,
    deleteOnTermination: o.deleteOnTermination ?? cur.deleteOnTermination,
    encrypted: cur.encrypted || !!snap?.encrypted || !!o.encrypted,
  }, { iops: o.iops ?? kept.iops, throughput: o.throughput ?? kept.throughput });
}
