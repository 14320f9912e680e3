/**
 * A snapshot's createVolumePermission: who besides the owner may see the
 * snapshot, create volumes from it and copy it. Group `all` makes it public;
 * UserId entries name 12-digit accounts. Every item is checked before anything
 * changes, so a bad item leaves the permission as it was.
 */
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import type { SnapshotRecord } from '../../model/records.js';
import { describeSnapshots, ownSnapshot } from './snapshots.js';

/** One createVolumePermission entry as the API carries it: exactly one of the two. */
export interface VolumePermissionItem { UserId?: string; Group?: string }

/** AWS: up to 500 modifications to a snapshot in one operation. */
export const MAX_MODIFICATIONS = 500;

function badItem(value: string, type: string): Invalid {
  return new Invalid('InvalidAMIAttributeItemValue', `Invalid attribute item value "${value}" for ${type} item type.`);
}

export function validateVolumePermissionItems(items: VolumePermissionItem[]): void {
  if (items.length > MAX_MODIFICATIONS) {
    throw new Invalid('InvalidParameterValue', `You can make up to ${MAX_MODIFICATIONS} modifications to a snapshot in a single operation.`);
  }
  for (const it of items) {
    if ((it.UserId === undefined) === (it.Group === undefined)) {
      throw new Invalid('InvalidParameterCombination', 'Each create volume permission must name exactly one of UserId or Group');
    }
    if (it.UserId !== undefined && !/^\d{12}$/.test(it.UserId)) throw badItem(it.UserId, 'userId');
    if (it.Group !== undefined && it.Group !== 'all') throw badItem(it.Group, 'group');
  }
}

/** ModifySnapshotAttribute createVolumePermission: adds, then removes; all or nothing. */
export async function modifyCreateVolumePermission(
  ctx: Context, caller: Caller, snapshotId: string, add: VolumePermissionItem[], remove: VolumePermissionItem[],
): Promise<void> {
  validateVolumePermissionItems([...add, ...remove]);
  if (!add.length && !remove.length) throw new Invalid('MissingParameter', 'The request must contain the parameter createVolumePermission');
  const snap = await ownSnapshot(ctx, caller, snapshotId);
  const next = applyItems(snap, add, remove);
  if (next.isPublic && !snap.isPublic && snap.encrypted) {
    throw new Invalid('InvalidParameterValue', `Encrypted snapshots cannot be made public (${snapshotId}).`);
  }
  await ctx.store.snapshots.update(snapshotId, (r) => ({ ...r, isPublic: next.isPublic, createVolumePermission: { userIds: next.userIds } }));
}

function applyItems(s: SnapshotRecord, add: VolumePermissionItem[], remove: VolumePermissionItem[]): { isPublic: boolean; userIds: string[] } {
  let isPublic = !!s.isPublic;
  const userIds = [...(s.createVolumePermission?.userIds ?? [])];
  for (const it of add) {
    if (it.Group === 'all') isPublic = true;
    if (it.UserId !== undefined && !userIds.includes(it.UserId)) userIds.push(it.UserId);
  }
  for (const it of remove) {
    if (it.Group === 'all') isPublic = false;
    const i = it.UserId === undefined ? -1 : userIds.indexOf(it.UserId);
    if (i >= 0) userIds.splice(i, 1);
  }
  return { isPublic, userIds };
}

/** DescribeSnapshotAttribute createVolumePermission (owner only). */
export async function createVolumePermissions(ctx: Context, caller: Caller, snapshotId: string): Promise<VolumePermissionItem[]> {
  const s = await ownSnapshot(ctx, caller, snapshotId);
  return [...(s.isPublic ? [{ Group: 'all' }] : []), ...(s.createVolumePermission?.userIds ?? []).map((UserId) => ({ UserId }))];
}

/** ResetSnapshotAttribute createVolumePermission: private again, shared with nobody. */
export async function resetCreateVolumePermission(ctx: Context, caller: Caller, snapshotId: string): Promise<void> {
  await ownSnapshot(ctx, caller, snapshotId);
  await ctx.store.snapshots.update(snapshotId, (r) => ({ ...r, isPublic: false, createVolumePermission: { userIds: [] } }));
}

/** ModifySnapshotAttribute: createVolumePermission changes; productCodes cannot be modified. */
export async function modifySnapshotAttribute(
  ctx: Context, caller: Caller, snapshotId: string, attribute: string, add: VolumePermissionItem[], remove: VolumePermissionItem[],
): Promise<void> {
  if (attribute === 'productCodes') {
    await ownSnapshot(ctx, caller, snapshotId);
    throw new Invalid('InvalidParameter', 'The productCodes attribute of a snapshot cannot be modified.');
  }
  await modifyCreateVolumePermission(ctx, caller, snapshotId, add, remove);
}

/** DescribeSnapshotAttribute: the snapshot's createVolumePermission items, or its (always empty) product codes. */
export async function snapshotAttribute(
  ctx: Context, caller: Caller, snapshotId: string, attribute: 'createVolumePermission' | 'productCodes',
): Promise<{ snapshotId: string; createVolumePermissions?: VolumePermissionItem[]; productCodes?: [] }> {
  if (attribute === 'productCodes') {
    const [s] = await describeSnapshots(ctx, caller, [snapshotId]);
    return { snapshotId: s!.id, productCodes: [] };
  }
  return { snapshotId, createVolumePermissions: await createVolumePermissions(ctx, caller, snapshotId) };
}
