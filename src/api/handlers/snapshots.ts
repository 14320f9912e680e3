import type { DescribeSnapshotsRequest, DescribeSnapshotsResult, Snapshot } from '@aws-sdk/client-ec2';
import type { Caller } from '../../services/context.js';
import type { SnapshotRecord } from '../../services/model.js';
import { CATALOG_ACCOUNT } from '../../services/model.js';
import { describeSnapshots } from '../../services/snapshots.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { toSdkTags } from '../tags.js';

function toSdkSnapshot(s: SnapshotRecord): Snapshot {
  return {
    SnapshotId: s.id, VolumeId: s.volumeId, State: s.state, StateMessage: s.stateMessage, Progress: s.progress,
    StartTime: new Date(s.startTime), CompletionTime: s.completionTime ? new Date(s.completionTime) : undefined,
    OwnerId: s.account, OwnerAlias: s.ownerAlias, Description: s.description, VolumeSize: s.volumeSize,
    Encrypted: s.encrypted, StorageTier: 'standard', Tags: s.tags.length ? toSdkTags(s.tags) : undefined,
  };
}

const SNAPSHOT_FILTERS: FilterFields<SnapshotRecord> = {
  'description': (s) => s.description,
  'encrypted': (s) => s.encrypted,
  'owner-alias': (s) => s.ownerAlias,
  'owner-id': (s) => s.account,
  'progress': (s) => s.progress,
  'snapshot-id': (s) => s.id,
  'start-time': (s) => s.startTime,
  'status': (s) => s.state,
  'storage-tier': () => 'standard',
  'volume-id': (s) => s.volumeId,
  'volume-size': (s) => s.volumeSize,
};

function ownedBy(s: SnapshotRecord, owners: string[], caller: Caller): boolean {
  return owners.some((o) => (o === 'self' ? s.account === caller.account : o === s.account || o === s.ownerAlias
    || (o === 'amazon' && s.account === CATALOG_ACCOUNT)));
}

export const describe: Handler<DescribeSnapshotsRequest, DescribeSnapshotsResult> = async (ctx, caller, input) => {
  let snaps = await describeSnapshots(ctx, caller, input.SnapshotIds);
  if (input.OwnerIds?.length) snaps = snaps.filter((s) => ownedBy(s, input.OwnerIds!, caller));
  snaps = applyFilters(snaps, input.Filters, SNAPSHOT_FILTERS, (s) => s.tags);
  const page = paginate(snaps, 'snapshots', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Snapshots: page.items.map(toSdkSnapshot), NextToken: page.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeSnapshots: describe,
};
