/**
 * CreateSnapshot, CopySnapshot, DeleteSnapshot, DescribeSnapshots and the
 * createVolumePermission attribute (Modify/Describe/ResetSnapshotAttribute).
 */
import type {
  CopySnapshotRequest, CopySnapshotResult, CreateSnapshotRequest, DeleteSnapshotRequest, DescribeSnapshotAttributeRequest,
  DescribeSnapshotAttributeResult, DescribeSnapshotsRequest, DescribeSnapshotsResult, ModifySnapshotAttributeRequest,
  ResetSnapshotAttributeRequest, Snapshot,
} from '@aws-sdk/client-ec2';
import type { Caller } from '../../services/core/context.js';
import { reportedKey } from '../../services/core/kms.js';
import type { SnapshotRecord } from '../../model/records.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import type { VolumePermissionItem } from '../../services/snapshots/snapshot-attributes.js';
import {
  modifySnapshotAttribute, resetCreateVolumePermission, snapshotAttribute,
} from '../../services/snapshots/snapshot-attributes.js';
import { copySnapshot, createSnapshot, deleteSnapshot, describeSnapshots } from '../../services/snapshots/snapshots.js';
import { ApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs, toSdkTags } from '../tags.js';

export function toSdkSnapshot(s: SnapshotRecord): Snapshot {
  return {
    SnapshotId: s.id, VolumeId: s.volumeId, State: s.state, StateMessage: s.stateMessage, Progress: s.progress,
    StartTime: new Date(s.startTime), CompletionTime: s.completionTime ? new Date(s.completionTime) : undefined,
    OwnerId: s.account, OwnerAlias: ownerAlias(s), Description: s.description, VolumeSize: s.volumeSize,
    Encrypted: s.encrypted, KmsKeyId: reportedKey(s, s), StorageTier: 'standard', Tags: s.tags.length ? toSdkTags(s.tags) : undefined,
    FullSnapshotSizeInBytes: s.fullSizeBytes,
  };
}

const ownerAlias = (s: SnapshotRecord) => s.ownerAlias ?? (s.account === CATALOG_ACCOUNT ? 'amazon' : undefined);

const SNAPSHOT_FILTERS: FilterFields<SnapshotRecord> = {
  'description': (s) => s.description,
  'encrypted': (s) => s.encrypted,
  'owner-alias': (s) => ownerAlias(s),
  'owner-id': (s) => s.account,
  'progress': (s) => s.progress,
  'snapshot-id': (s) => s.id,
  'start-time': (s) => s.startTime,
  'status': (s) => s.state,
  'storage-tier': () => 'standard',
  'transfer-type': () => 'standard',
  'volume-id': (s) => s.volumeId,
  'volume-size': (s) => s.volumeSize,
};

/** OwnerIds: account ids, `self`, or an owner alias (`amazon`). */
function ownedBy(s: SnapshotRecord, owners: string[], caller: Caller): boolean {
  return owners.some((o) => (o === 'self' ? s.account === caller.account : o === s.account || o === ownerAlias(s)));
}

/**
 * RestorableByUserIds: `all` = public snapshots; `self` = the caller's own and
 * those shared with it by name; an account id = the caller's snapshots
 * shared with that account (or, for the caller's own id, shared with it).
 */
function restorableBy(s: SnapshotRecord, users: string[], caller: Caller): boolean {
  const named = s.createVolumePermission?.userIds ?? [];
  return users.some((u) => {
    if (u === 'all') return !!s.isPublic;
    if (u === 'self') return s.account === caller.account || named.includes(caller.account);
    return named.includes(u) && (s.account === caller.account || u === caller.account);
  });
}

export const describe: Handler<DescribeSnapshotsRequest, DescribeSnapshotsResult> = async (ctx, caller, input) => {
  if (input.SnapshotIds?.length && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter snapshotSet cannot be used with the parameter maxResults');
  }
  let snaps = await describeSnapshots(ctx, caller, input.SnapshotIds);
  if (input.OwnerIds?.length) snaps = snaps.filter((s) => ownedBy(s, input.OwnerIds!, caller));
  if (input.RestorableByUserIds?.length) snaps = snaps.filter((s) => restorableBy(s, input.RestorableByUserIds!, caller));
  snaps = applyFilters(snaps, input.Filters, SNAPSHOT_FILTERS, (s) => s.tags);
  const page = paginate(snaps, 'snapshots', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Snapshots: page.items.map(toSdkSnapshot), NextToken: page.nextToken };
};

export const create: Handler<CreateSnapshotRequest, Snapshot> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['snapshot']);
  const snap = await createSnapshot(ctx, caller, {
    volumeId: required(input.VolumeId, 'VolumeId'), description: input.Description, tags: tags.snapshot,
  });
  return toSdkSnapshot(snap);
};

export const copy: Handler<CopySnapshotRequest, CopySnapshotResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['snapshot']);
  if (input.DestinationRegion && input.DestinationRegion !== caller.region) {
    throw new ApiError('InvalidParameterValue', `The destination region ${input.DestinationRegion} must be the region the request is sent to (${caller.region}).`);
  }
  const snap = await copySnapshot(ctx, caller, {
    sourceRegion: required(input.SourceRegion, 'SourceRegion'), sourceSnapshotId: required(input.SourceSnapshotId, 'SourceSnapshotId'),
    description: input.Description, encrypted: input.Encrypted, kmsKeyId: input.KmsKeyId, tags: tags.snapshot,
  });
  return { SnapshotId: snap.id, Tags: snap.tags.length ? toSdkTags(snap.tags) : undefined };
};

export const remove: Handler<DeleteSnapshotRequest, object> = async (ctx, caller, input) => {
  await deleteSnapshot(ctx, caller, required(input.SnapshotId, 'SnapshotId'));
  return {};
};

const ATTRIBUTES = ['createVolumePermission', 'productCodes'];

function checkAttribute(attribute: string | undefined): 'createVolumePermission' | 'productCodes' {
  const a = required(attribute, 'Attribute');
  if (!ATTRIBUTES.includes(a)) throw new ApiError('InvalidParameterValue', `Value (${a}) for parameter attribute is invalid. Unknown attribute.`);
  return a as 'createVolumePermission' | 'productCodes';
}

/** The structured form (CreateVolumePermission.Add/Remove) and the legacy one (OperationType + UserId.N / UserGroup.N) together. */
function permissionChanges(input: ModifySnapshotAttributeRequest): { add: VolumePermissionItem[]; remove: VolumePermissionItem[] } {
  const add: VolumePermissionItem[] = [...(input.CreateVolumePermission?.Add ?? [])];
  const remove: VolumePermissionItem[] = [...(input.CreateVolumePermission?.Remove ?? [])];
  const legacy = [...(input.UserIds ?? []).map((UserId) => ({ UserId })), ...(input.GroupNames ?? []).map((Group) => ({ Group }))];
  if (legacy.length) {
    if (input.OperationType === 'add') add.push(...legacy);
    else if (input.OperationType === 'remove') remove.push(...legacy);
    else throw new ApiError('MissingParameter', 'The request must contain the parameter OperationType');
  }
  return { add, remove };
}

export const modifyAttribute: Handler<ModifySnapshotAttributeRequest, object> = async (ctx, caller, input) => {
  const snapshotId = required(input.SnapshotId, 'SnapshotId');
  const attribute = input.Attribute ?? 'createVolumePermission';
  if (attribute !== 'productCodes') checkAttribute(attribute);
  const { add, remove } = attribute === 'productCodes' ? { add: [], remove: [] } : permissionChanges(input);
  await modifySnapshotAttribute(ctx, caller, snapshotId, attribute, add, remove);
  return {};
};

export const describeAttribute: Handler<DescribeSnapshotAttributeRequest, DescribeSnapshotAttributeResult> = async (ctx, caller, input) => {
  const snapshotId = required(input.SnapshotId, 'SnapshotId');
  const a = await snapshotAttribute(ctx, caller, snapshotId, checkAttribute(input.Attribute));
  return a.productCodes ? { SnapshotId: a.snapshotId, ProductCodes: [] }
    : { SnapshotId: a.snapshotId, CreateVolumePermissions: a.createVolumePermissions as DescribeSnapshotAttributeResult['CreateVolumePermissions'] };
};

export const resetAttribute: Handler<ResetSnapshotAttributeRequest, object> = async (ctx, caller, input) => {
  const snapshotId = required(input.SnapshotId, 'SnapshotId');
  if (checkAttribute(input.Attribute) !== 'createVolumePermission') {
    throw new ApiError('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid. Only createVolumePermission can be reset.`);
  }
  await resetCreateVolumePermission(ctx, caller, snapshotId);
  return {};
};

export const HANDLERS: Record<string, Handler> = {
  DescribeSnapshots: describe,
  CreateSnapshot: create,
  CopySnapshot: copy,
  DeleteSnapshot: remove,
  ModifySnapshotAttribute: modifyAttribute,
  DescribeSnapshotAttribute: describeAttribute,
  ResetSnapshotAttribute: resetAttribute,
};
