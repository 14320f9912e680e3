/**
 * The per-account, per-region quotas AWS enforces on images and a user can
 * hit, with AWS's error code (ResourceLimitExceeded) and wording.
 */
import type { Caller, Context } from './context.js';
import { Invalid } from './errors.js';

/** AWS's default quota of images (any state but deregistered) per account and region. */
export const MAX_IMAGES_PER_REGION = 50_000;
/** AWS's default quota of public images per account and region. */
export const MAX_PUBLIC_IMAGES = 5;
/** Accounts, organizations and OUs one image may be shared with. */
export const MAX_SHARING_ENTRIES = 1000;

/** Throws ResourceLimitExceeded when the owner cannot have `adding` more images in its region. */
export async function checkImageQuota(ctx: Context, owner: Caller, adding = 1): Promise<void> {
  const mine = await ctx.store.images.list({ account: owner.account, region: owner.region });
  if (mine.filter((i) => i.state !== 'deregistered').length + adding > MAX_IMAGES_PER_REGION) {
    throw new Invalid('ResourceLimitExceeded',
      `You have reached your quota of ${MAX_IMAGES_PER_REGION} for the number of AMIs allowed in this Region. ` +
      'Deregister unused AMIs, or request an increase in your AMIs quota.');
  }
}

/** Throws ResourceLimitExceeded when the owner already has its quota of public images in its region. */
export async function checkPublicImageQuota(ctx: Context, owner: Caller): Promise<void> {
  const mine = await ctx.store.images.list({ account: owner.account, region: owner.region });
  if (mine.filter((i) => i.isPublic && i.state !== 'deregistered').length >= MAX_PUBLIC_IMAGES) {
    throw new Invalid('ResourceLimitExceeded',
      `You have reached your quota of ${MAX_PUBLIC_IMAGES} for the number of public images allowed in this Region. ` +
      'Deregister unused public images or make them private, or request an increase in your public AMIs quota.');
  }
}
