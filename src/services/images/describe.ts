/**
 * DescribeImages: the images the caller can see, narrowed by owner and by who
 * may launch them, and marked (or, when enabled, narrowed) by Allowed AMIs.
 */
import type { ImageRecord } from '../../model/records.js';
import type { Caller, Context } from '../core/context.js';
import { allowedImagesPolicy } from './image-settings.js';
import { ownerAlias, visibleImages } from './images.js';
import { grantsOf, sharedWith } from './permissions.js';

export interface DescribeImagesRequest {
  imageIds?: string[];
  /** Account ids, `self`, or an owner alias such as `amazon`. */
  owners?: string[];
  /** Account ids, `self` or `all`. */
  executableUsers?: string[];
  includeDeprecated?: boolean;
  includeDisabled?: boolean;
}

function ownedBy(img: ImageRecord, owners: string[], caller: Caller): boolean {
  return owners.some((o) => (o === 'self' ? img.account === caller.account : o === img.account || o === ownerAlias(img)));
}

/**
 * ExecutableBy: `all` = public images; `self` = images shared with the
 * caller's account, organization or OU; an account id = images shared with
 * that account explicitly.
 */
function executableBy(img: ImageRecord, users: string[], caller: Caller): boolean {
  return users.some((u) => (u === 'all' ? img.isPublic : u === 'self' ? sharedWith(img, caller) !== undefined : grantsOf(img).userIds.includes(u)));
}

/** The images, and for each whether Allowed AMIs allows it (undefined while Allowed AMIs is disabled). */
export async function describeImages(
  ctx: Context, caller: Caller, req: DescribeImagesRequest,
): Promise<{ images: ImageRecord[]; allowed: (img: ImageRecord) => boolean | undefined }> {
  let images = await visibleImages(ctx, caller, req.imageIds, { includeDeprecated: req.includeDeprecated, includeDisabled: req.includeDisabled });
  if (req.owners?.length) images = images.filter((i) => ownedBy(i, req.owners!, caller));
  if (req.executableUsers?.length) images = images.filter((i) => executableBy(i, req.executableUsers!, caller));
  // Allowed AMIs: 'enabled' hides what the criteria do not allow; 'audit-mode' only marks it.
  const policy = await allowedImagesPolicy(ctx, caller);
  const allowed = (i: ImageRecord) => (policy.state === 'disabled' ? undefined : policy.allows(i));
  if (policy.state === 'enabled') images = images.filter((i) => policy.allows(i));
  return { images, allowed };
}
