/**
 * Image attributes an owner changes after registration: launch permissions
 * (sharing with accounts, organizations, OUs and everyone), description and
 * imdsSupport; and the receiver's side, CancelImageLaunchPermission.
 */
import type { Caller, Context } from '../core/context.js';
import { Invalid, Unavailable } from '../core/errors.js';
import { checkPublicImageQuota, MAX_SHARING_ENTRIES } from '../core/quotas.js';
import { validateDescription, visibleImages } from './images.js';
import type { ImageRecord } from '../../model/records.js';
import type { PermissionItem, Permissions } from './permissions.js';
import { applyItems, grantsOf, sharingEntries, validateItems } from './permissions.js';
import { checkPublicSharing } from './image-settings.js';

/**
 * The image if the caller owns it. Invisible: NotFound; someone else's: AuthFailure (as AWS answers);
 * deregistered (while it still answers to its id): InvalidAMIID.Unavailable.
 */
export async function ownedImage(ctx: Context, caller: Caller, imageId: string): Promise<ImageRecord> {
  const [img] = await visibleImages(ctx, caller, [imageId]);
  if (img.account !== caller.account) throw new Invalid('AuthFailure', `Not authorized for image:${imageId}`);
  if (img.state === 'deregistered') throw new Unavailable('image', imageId);
  return img;
}

/**
 * ModifyImageAttribute launchPermission. The checks (block public access, the
 * public-image quota) and the change are one transaction, so two requests
 * cannot both take the last public slot.
 */
export async function modifyLaunchPermission(
  ctx: Context, caller: Caller, imageId: string, add: PermissionItem[], remove: PermissionItem[],
): Promise<void> {
  validateItems([...add, ...remove]);
  await ctx.store.transaction(async () => {
    const img = await ownedImage(ctx, caller, imageId);
    const next = applyItems({ isPublic: img.isPublic, grants: grantsOf(img) }, add, remove);
    if (next.isPublic && !img.isPublic) await checkCanGoPublic(ctx, caller, img);
    if (img.state === 'disabled' && (next.isPublic || sharingEntries(next) > 0)) {
      throw new Invalid('IncorrectState', `The image ${imageId} is disabled. Enable it before you share it.`);
    }
    if (sharingEntries(next) > MAX_SHARING_ENTRIES) {
      throw new Invalid('ResourceLimitExceeded', `You can share an AMI with at most ${MAX_SHARING_ENTRIES} accounts, organizations and OUs.`);
    }
    await ctx.store.images.update(imageId, (r) => withPermissions(r, next));
  });
}

async function checkCanGoPublic(ctx: Context, caller: Caller, img: ImageRecord): Promise<void> {
  if (img.productCodes?.some((p) => p.type === 'marketplace')) {
    throw new Invalid('InvalidParameter', `Images with an AWS Marketplace product code cannot be made public (${img.id}).`);
  }
  await checkPublicSharing(ctx, caller, img);
  await checkPublicImageQuota(ctx, caller);
}

const withPermissions = (r: ImageRecord, p: Permissions): ImageRecord => ({ ...r, isPublic: p.isPublic, launchPermission: p.grants });

/** ResetImageAttribute launchPermission: private again, no grants. */
export async function resetLaunchPermission(ctx: Context, caller: Caller, imageId: string): Promise<void> {
  await ownedImage(ctx, caller, imageId);
  await ctx.store.images.update(imageId, (r) => withPermissions(r, { isPublic: false, grants: { userIds: [], organizationArns: [], organizationalUnitArns: [] } }));
}

export async function setDescription(ctx: Context, caller: Caller, imageId: string, description: string): Promise<void> {
  validateDescription(description);
  await ownedImage(ctx, caller, imageId);
  await ctx.store.images.update(imageId, (r) => ({ ...r, description }));
}

/** imdsSupport can only be set to v2.0, and never back. */
export async function setImdsSupport(ctx: Context, caller: Caller, imageId: string, value: string): Promise<void> {
  if (value !== 'v2.0') throw new Invalid('InvalidParameterValue', `Value (${value}) for parameter imdsSupport is invalid. Expected: 'v2.0'.`);
  await ownedImage(ctx, caller, imageId);
  await ctx.store.images.update(imageId, (r) => ({ ...r, imdsSupport: 'v2.0' }));
}

/** The receiver removes its own account from an image shared with it explicitly. */
export async function cancelLaunchPermission(ctx: Context, caller: Caller, imageId: string): Promise<void> {
  const [img] = await visibleImages(ctx, caller, [imageId]);
  if (img.account === caller.account) {
    throw new Invalid('InvalidParameterValue', `You own ${imageId}; use ModifyImageAttribute to change its launch permissions.`);
  }
  if (!grantsOf(img).userIds.includes(caller.account)) {
    throw new Invalid('InvalidParameterValue', `The image ${imageId} is not shared with your account ${caller.account} explicitly.`);
  }
  await ctx.store.images.update(imageId, (r) => {
    const g = grantsOf(r);
    return { ...r, launchPermission: { ...g, userIds: g.userIds.filter((u) => u !== caller.account) } };
  });
}

/** One change ModifyImageAttribute asks for. */
export type ImageAttributeChange =
  | { name: 'launchPermission'; add: PermissionItem[]; remove: PermissionItem[] }
  | { name: 'description' | 'imdsSupport'; value: string }
  | { name: 'productCodes' };

/** ModifyImageAttribute: the one change, on an image the caller owns. */
export async function modifyImageAttribute(ctx: Context, caller: Caller, imageId: string, change: ImageAttributeChange): Promise<void> {
  switch (change.name) {
    case 'launchPermission': return modifyLaunchPermission(ctx, caller, imageId, change.add, change.remove);
    case 'description': return setDescription(ctx, caller, imageId, change.value);
    case 'imdsSupport': return setImdsSupport(ctx, caller, imageId, change.value);
    case 'productCodes':
      await ownedImage(ctx, caller, imageId);
      throw new Invalid('InvalidParameter', 'AWS Marketplace product codes cannot be modified; publish the image as a product instead.');
  }
}

/** The image DescribeImageAttribute reads: launch permissions are the owner's business; the rest is readable by whoever can see it. */
export async function imageForAttribute(ctx: Context, caller: Caller, imageId: string, attribute: string): Promise<ImageRecord> {
  return attribute === 'launchPermission' ? ownedImage(ctx, caller, imageId) : (await visibleImages(ctx, caller, [imageId]))[0]!;
}
