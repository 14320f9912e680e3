/**
 * CreateVolume, DescribeVolumes, DeleteVolume, AttachVolume, DetachVolume,
 * DescribeVolumeStatus, ModifyVolume and DescribeVolumesModifications.
 */
import type {
  AttachVolumeRequest, CreateVolumeRequest, DeleteVolumeRequest, DescribeVolumeStatusRequest, DescribeVolumeStatusResult,
  DescribeVolumesModificationsRequest, DescribeVolumesModificationsResult, DescribeVolumesRequest, DescribeVolumesResult,
  DetachVolumeRequest, ModifyVolumeRequest, ModifyVolumeResult, Volume, VolumeAttachment, VolumeModification,
} from '@aws-sdk/client-ec2';
import { reportedKey } from '../../services/core/kms.js';
import { zoneIdOf } from '../../services/network/network.js';
import type { Attachment } from '../../services/instances/volume-attach.js';
import type { VolumeModificationRecord } from '../../model/extra-records.js';
import { modifyVolume, volumeModifications } from '../../services/volumes/volume-modify.js';
import { attachVolume, detachVolume } from '../../services/instances/volume-attach.js';
import type { VolumeRecord } from '../../model/records.js';
import { deleteOwnVolume, reportedPerformance, visibleVolumes } from '../../services/volumes/volumes.js';
import { ApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs, toSdkTags } from '../tags.js';
import { createVolumeFromSnapshot } from '../../services/snapshots/snapshots.js';

export function toSdkVolume(v: VolumeRecord): Volume {
  const perf = reportedPerformance(v);
  const a = v.attachment;
  return {
    VolumeId: v.id, Size: v.size, SnapshotId: v.snapshotId ?? '', AvailabilityZone: v.availabilityZone, State: v.state,
    CreateTime: new Date(v.createTime), VolumeType: v.volumeType as Volume['VolumeType'], Encrypted: v.encrypted, KmsKeyId: reportedKey(v, v),
    Iops: perf.iops, Throughput: perf.throughput, MultiAttachEnabled: false, FastRestored: false,
    Attachments: a ? [{
      VolumeId: v.id, InstanceId: a.instanceId, Device: a.device, State: 'attached', AttachTime: new Date(a.attachTime),
      DeleteOnTermination: a.deleteOnTermination,
    }] : [],
    Tags: v.tags.length ? toSdkTags(v.tags) : undefined,
  };
}

function toSdkAttachment(a: Attachment, state: 'attaching' | 'detaching'): VolumeAttachment {
  return {
    VolumeId: a.volumeId, InstanceId: a.instanceId, Device: a.device, State: state, AttachTime: new Date(a.attachTime),
    DeleteOnTermination: a.deleteOnTermination,
  };
}

const VOLUME_FILTERS: FilterFields<VolumeRecord> = {
  'availability-zone-id': (v) => zoneIdOf(v.region, v.availabilityZone),
  'operator.managed': () => false,
  'operator.principal': () => undefined,
  'attachment.attach-time': (v) => v.attachment?.attachTime,
  'attachment.delete-on-termination': (v) => v.attachment?.deleteOnTermination,
  'attachment.device': (v) => v.attachment?.device,
  'attachment.instance-id': (v) => v.attachment?.instanceId,
  'attachment.status': (v) => (v.attachment ? 'attached' : undefined),
  'availability-zone': (v) => v.availabilityZone,
  'create-time': (v) => v.createTime,
  'encrypted': (v) => v.encrypted,
  'fast-restored': () => false,
  'multi-attach-enabled': () => false,
  'owner-id': (v) => v.account,
  'size': (v) => v.size,
  'snapshot-id': (v) => v.snapshotId ?? '',
  'status': (v) => v.state,
  'volume-id': (v) => v.id,
  'volume-type': (v) => v.volumeType,
};

export const create: Handler<CreateVolumeRequest, Volume> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['volume']);
  if (input.MultiAttachEnabled) throw new ApiError('UnsupportedOperation', 'Multi-Attach volumes are not supported by Kiln.');
  const vol = await createVolumeFromSnapshot(ctx, caller, {
    availabilityZone: required(input.AvailabilityZone, 'AvailabilityZone'), size: input.Size, snapshotId: input.SnapshotId,
    volumeType: input.VolumeType, iops: input.Iops, throughput: input.Throughput, encrypted: input.Encrypted, tags: tags.volume,
    clientToken: input.ClientToken, kmsKeyId: input.KmsKeyId,
  });
  return toSdkVolume(vol);
};

export const describe: Handler<DescribeVolumesRequest, DescribeVolumesResult> = async (ctx, caller, input) => {
  if (input.VolumeIds?.length && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter volumeSet cannot be used with the parameter maxResults');
  }
  const vols = applyFilters(await visibleVolumes(ctx, caller, input.VolumeIds), input.Filters, VOLUME_FILTERS, (v) => v.tags);
  const page = paginate(vols, 'volumes', input.MaxResults, input.NextToken, { min: 5, max: 500, capAtMax: true });
  return { Volumes: page.items.map(toSdkVolume), NextToken: page.nextToken };
};

export const remove: Handler<DeleteVolumeRequest, object> = async (ctx, caller, input) => {
  await deleteOwnVolume(ctx, caller, required(input.VolumeId, 'VolumeId'));
  return {};
};

export const attach: Handler<AttachVolumeRequest, VolumeAttachment> = async (ctx, caller, input) => {
  const a = await attachVolume(ctx, caller, {
    volumeId: required(input.VolumeId, 'VolumeId'), instanceId: required(input.InstanceId, 'InstanceId'), device: required(input.Device, 'Device'),
  });
  return toSdkAttachment(a, 'attaching');
};

export const detach: Handler<DetachVolumeRequest, VolumeAttachment> = async (ctx, caller, input) => {
  const a = await detachVolume(ctx, caller, {
    volumeId: required(input.VolumeId, 'VolumeId'), instanceId: input.InstanceId, device: input.Device, force: input.Force,
  });
  return toSdkAttachment(a, 'detaching');
};

/** Kiln's volumes have no I/O impairment to report: ok while usable. */
export const describeStatus: Handler<DescribeVolumeStatusRequest, DescribeVolumeStatusResult> = async (ctx, caller, input) => {
  const vols = await visibleVolumes(ctx, caller, input.VolumeIds);
  const page = paginate(vols, 'volume-status', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return {
    VolumeStatuses: page.items.map((v) => {
      const ok = v.state === 'available' || v.state === 'in-use';
      return {
        VolumeId: v.id, AvailabilityZone: v.availabilityZone, Actions: [], Events: [],
        VolumeStatus: {
          Status: ok ? 'ok' : v.state === 'creating' ? 'insufficient-data' : 'impaired',
          Details: [{ Name: 'io-enabled', Status: ok ? 'passed' : 'failed' }, { Name: 'io-performance', Status: 'not-applicable' }],
        },
      };
    }),
    NextToken: page.nextToken,
  };
};

function toSdkModification(m: VolumeModificationRecord): VolumeModification {
  return {
    VolumeId: m.id, ModificationState: m.state, StatusMessage: m.statusMessage, Progress: m.progress,
    StartTime: new Date(m.startTime), EndTime: m.endTime ? new Date(m.endTime) : undefined,
    TargetSize: m.targetSize, TargetVolumeType: m.targetVolumeType as VolumeModification['TargetVolumeType'],
    TargetIops: m.targetIops, TargetThroughput: m.targetThroughput, TargetMultiAttachEnabled: false,
    OriginalSize: m.originalSize, OriginalVolumeType: m.originalVolumeType as VolumeModification['OriginalVolumeType'],
    OriginalIops: m.originalIops, OriginalThroughput: m.originalThroughput, OriginalMultiAttachEnabled: false,
  };
}

const MODIFICATION_FILTERS: FilterFields<VolumeModificationRecord> = {
  'modification-state': (m) => m.state,
  'original-iops': (m) => m.originalIops,
  'original-size': (m) => m.originalSize,
  'original-volume-type': (m) => m.originalVolumeType,
  'start-time': (m) => m.startTime,
  'target-iops': (m) => m.targetIops,
  'target-size': (m) => m.targetSize,
  'target-volume-type': (m) => m.targetVolumeType,
  'volume-id': (m) => m.id,
};

export const modify: Handler<ModifyVolumeRequest, ModifyVolumeResult> = async (ctx, caller, input) => {
  if (input.MultiAttachEnabled) throw new ApiError('InvalidParameterValue', 'Kiln volumes cannot be attached to several instances (MultiAttachEnabled).');
  const m = await modifyVolume(ctx, caller, {
    volumeId: required(input.VolumeId, 'VolumeId'), size: input.Size, volumeType: input.VolumeType, iops: input.Iops, throughput: input.Throughput,
  });
  return { VolumeModification: toSdkModification(m) };
};

export const describeModifications: Handler<DescribeVolumesModificationsRequest, DescribeVolumesModificationsResult> = async (ctx, caller, input) => {
  const mods = applyFilters(await volumeModifications(ctx, caller, input.VolumeIds), input.Filters, MODIFICATION_FILTERS);
  const page = paginate(mods, 'volume-modifications', input.MaxResults, input.NextToken, { min: 1, max: 500, capAtMax: true });
  return { VolumesModifications: page.items.map(toSdkModification), NextToken: page.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  CreateVolume: create,
  DescribeVolumes: describe,
  DeleteVolume: remove,
  AttachVolume: attach,
  DetachVolume: detach,
  DescribeVolumeStatus: describeStatus,
  ModifyVolume: modify,
  DescribeVolumesModifications: describeModifications,
};
