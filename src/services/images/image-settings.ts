/**
 * Per-account, per-region image settings: block public access for AMIs and
 * Allowed AMIs. Both are account-level switches that other image actions
 * consult (ModifyImageAttribute for the first; DescribeImages and
 * RunInstances for the second).
 */
import { randomBytes } from 'node:crypto';
import type { Caller, Context } from '../core/context.js';
import { Invalid, NotFound } from '../core/errors.js';
import { ownerAlias } from './images.js';
import { nowIso } from '../core/ids.js';
import type { ImageRecord, Owned } from '../../model/records.js';
import { glob } from '../../lib/glob.js';

export type BlockPublicAccessState = 'block-new-sharing' | 'unblocked';
export type AllowedImagesState = 'enabled' | 'audit-mode' | 'disabled';

/** One Allowed AMIs criterion: every field given must match (AND); criteria are OR'd. */
export interface ImageCriterion {
  /** amazon | aws-marketplace | aws-backup-vault | 12-digit account id | none */
  imageProviders?: string[];
  marketplaceProductCodes?: string[];
  /** Names with `*` and `?` wildcards. */
  imageNames?: string[];
  maximumDaysSinceDeprecated?: number;
  maximumDaysSinceCreated?: number;
}

interface ImageSettingsRecord extends Owned {
  blockPublicAccess?: BlockPublicAccessState;
  allowedImages?: AllowedImagesState;
  imageCriteria?: ImageCriterion[];
}

/** A launch of an image Allowed AMIs would refuse, recorded while in audit mode. */
export interface LaunchAuditRecord extends Owned { imageId: string; time: string }

const SETTINGS = 'image-settings';
const AUDIT = 'allowed-images-audit';
const DAY_MS = 24 * 60 * 60 * 1000;

const settingsId = (c: Caller) => `${c.account}/${c.region}`;

async function readSettings(ctx: Context, caller: Caller): Promise<ImageSettingsRecord> {
  const found = await ctx.store.collection<ImageSettingsRecord>(SETTINGS).get(settingsId(caller));
  return found ?? { id: settingsId(caller), account: caller.account, region: caller.region };
}

async function writeSettings(ctx: Context, caller: Caller, fn: (s: ImageSettingsRecord) => ImageSettingsRecord): Promise<void> {
  const col = ctx.store.collection<ImageSettingsRecord>(SETTINGS);
  if (await col.get(settingsId(caller))) {
    await col.update(settingsId(caller), fn);
    return;
  }
  try {
    await col.insert(fn(await readSettings(ctx, caller)));
  } catch {
    // Another request created it between our read and insert: update that one.
    await col.update(settingsId(caller), fn);
  }
}

// ---- Block public access for AMIs ----

/**
 * Kiln starts unblocked (AWS blocks new public sharing by default only for
 * accounts that never had a public AMI; Kiln's accounts are meant to publish).
 */
export async function getBlockPublicAccess(ctx: Context, caller: Caller): Promise<BlockPublicAccessState> {
  return (await readSettings(ctx, caller)).blockPublicAccess ?? 'unblocked';
}

export async function setBlockPublicAccess(ctx: Context, caller: Caller, state: string): Promise<BlockPublicAccessState> {
  if (state !== 'block-new-sharing' && state !== 'unblocked') {
    throw new Invalid('InvalidParameterValue', `Value (${state}) for parameter imageBlockPublicAccessState is invalid. Expected: 'block-new-sharing'.`);
  }
  await writeSettings(ctx, caller, (s) => ({ ...s, blockPublicAccess: state }));
  return state;
}

/** Whether new public sharing of the caller's images is blocked in its region (for ModifyImageAttribute). */
export async function isPublicSharingBlocked(ctx: Context, caller: Caller): Promise<boolean> {
  return (await getBlockPublicAccess(ctx, caller)) === 'block-new-sharing';
}

/** Throws when block public access forbids making `img` public now (images already public stay so). */
export async function checkPublicSharing(ctx: Context, caller: Caller, img: ImageRecord): Promise<void> {
  if (await isPublicSharingBlocked(ctx, caller)) {
    throw new Invalid('OperationNotPermitted',
      `You can't publicly share ${img.id} because block public access for AMIs is enabled for this account in ${caller.region}. ` +
      'To publicly share the image, you must call DisableImageBlockPublicAccess first.');
  }
}

// ---- Allowed AMIs ----

export interface AllowedImagesSettings { state: AllowedImagesState; imageCriteria: ImageCriterion[] }

export async function getAllowedImages(ctx: Context, caller: Caller): Promise<AllowedImagesSettings> {
  const s = await readSettings(ctx, caller);
  return { state: s.allowedImages ?? 'disabled', imageCriteria: s.imageCriteria ?? [] };
}

export async function setAllowedImagesState(ctx: Context, caller: Caller, state: string): Promise<AllowedImagesState> {
  if (state !== 'enabled' && state !== 'audit-mode' && state !== 'disabled') {
    throw new Invalid('InvalidParameterValue', `Value (${state}) for parameter allowedImagesSettingsState is invalid. Expected: 'enabled' | 'audit-mode'.`);
  }
  await writeSettings(ctx, caller, (s) => ({ ...s, allowedImages: state }));
  return state;
}

const NAME_PATTERN = /^[A-Za-z0-9()[\]./\-'@_ *?]{1,128}$/;
const PRODUCT_CODE = /^[A-Za-z0-9]{1,25}$/;
const PROVIDERS = ['amazon', 'aws-marketplace', 'aws-backup-vault', 'none'];

function badCriteria(message: string): Invalid {
  return new Invalid('InvalidParameterValue', message);
}

/** AWS's limits: at most 10 criteria, 200 providers in all, 50 names and 50 product codes per criterion. */
export function validateCriteria(criteria: ImageCriterion[]): void {
  if (criteria.length > 10) throw badCriteria('You can specify at most 10 image criteria.');
  const providers = criteria.reduce((n, c) => n + (c.imageProviders?.length ?? 0), 0);
  if (providers > 200) throw badCriteria('You can specify at most 200 image providers across all image criteria.');
  for (const c of criteria) {
    const given = [c.imageProviders, c.marketplaceProductCodes, c.imageNames].some((l) => l?.length)
      || c.maximumDaysSinceCreated !== undefined || c.maximumDaysSinceDeprecated !== undefined;
    if (!given) throw badCriteria('Each image criterion must specify at least one condition.');
    for (const p of c.imageProviders ?? []) {
      if (!PROVIDERS.includes(p) && !/^\d{12}$/.test(p)) throw badCriteria(`The image provider '${p}' is not valid.`);
    }
    if (c.imageProviders?.includes('none') && c.imageProviders.length > 1) {
      throw badCriteria(`When the image provider 'none' is specified, no other image providers can be specified.`);
    }
    if ((c.imageNames?.length ?? 0) > 50) throw badCriteria('You can specify at most 50 image names per criterion.');
    for (const n of c.imageNames ?? []) {
      if (!NAME_PATTERN.test(n) || (n.includes('?') && n.length < 3)) throw badCriteria(`The image name '${n}' is not valid.`);
    }
    if ((c.marketplaceProductCodes?.length ?? 0) > 50) throw badCriteria('You can specify at most 50 product codes per criterion.');
    for (const p of c.marketplaceProductCodes ?? []) if (!PRODUCT_CODE.test(p)) throw badCriteria(`The product code '${p}' is not valid.`);
    for (const d of [c.maximumDaysSinceCreated, c.maximumDaysSinceDeprecated]) {
      if (d !== undefined && (!Number.isInteger(d) || d < 0 || d > 2147483647)) throw badCriteria(`The number of days '${d}' is not valid.`);
    }
  }
}

export async function replaceImageCriteria(ctx: Context, caller: Caller, criteria: ImageCriterion[]): Promise<void> {
  validateCriteria(criteria);
  await writeSettings(ctx, caller, (s) => ({ ...s, imageCriteria: criteria }));
}

function providerMatches(provider: string, img: ImageRecord): boolean {
  if (provider === 'none') return false;
  if (/^\d{12}$/.test(provider)) return img.account === provider;
  return ownerAlias(img) === provider;
}

/** Whether one criterion admits the image (every condition it names holds). */
export function criterionMatches(c: ImageCriterion, img: ImageRecord, now = Date.now()): boolean {
  if (c.imageProviders?.length && !c.imageProviders.some((p) => providerMatches(p, img))) return false;
  if (c.imageNames?.length && !c.imageNames.some((n) => glob(n).test(img.name))) return false;
  if (c.marketplaceProductCodes?.length && !img.productCodes?.some((p) => c.marketplaceProductCodes!.includes(p.code))) return false;
  if (c.maximumDaysSinceCreated !== undefined && now - Date.parse(img.creationDate) > c.maximumDaysSinceCreated * DAY_MS) return false;
  if (c.maximumDaysSinceDeprecated !== undefined && img.deprecationTime) {
    const since = now - Date.parse(img.deprecationTime);
    if (since > c.maximumDaysSinceDeprecated * DAY_MS) return false;
  }
  return true;
}

export interface AllowedImagesPolicy {
  state: AllowedImagesState;
  /** Whether the image meets the criteria (the caller's own images always do). */
  allows(img: ImageRecord): boolean;
}

/** The caller's Allowed AMIs policy, read once (for filtering many images, as DescribeImages does). */
export async function allowedImagesPolicy(ctx: Context, caller: Caller): Promise<AllowedImagesPolicy> {
  const { state, imageCriteria } = await getAllowedImages(ctx, caller);
  const now = Date.now();
  return {
    state,
    allows: (img) => img.account === caller.account || imageCriteria.some((c) => criterionMatches(c, img, now)),
  };
}

/**
 * imageAllowed as DescribeImages reports it: undefined while Allowed AMIs is
 * disabled, else whether the image meets the caller's criteria. In 'enabled'
 * mode images that do not should be left out of listings.
 */
export async function isImageAllowed(ctx: Context, caller: Caller, img: ImageRecord): Promise<boolean | undefined> {
  const policy = await allowedImagesPolicy(ctx, caller);
  return policy.state === 'disabled' ? undefined : policy.allows(img);
}

/**
 * RunInstances: in 'enabled' mode an image outside the criteria cannot be
 * used (it is not discoverable, so it answers as not found); in 'audit-mode'
 * the launch goes ahead and is recorded.
 */
export async function checkLaunchAllowed(ctx: Context, caller: Caller, img: ImageRecord): Promise<void> {
  const policy = await allowedImagesPolicy(ctx, caller);
  if (policy.state === 'disabled' || policy.allows(img)) return;
  if (policy.state === 'enabled') throw new NotFound('image', [img.id]);
  if (caller.dryRun) return; // a dry run launches nothing, so there is nothing to audit
  await ctx.store.collection<LaunchAuditRecord>(AUDIT).insert({
    id: randomBytes(8).toString('hex'), account: caller.account, region: caller.region, imageId: img.id, time: nowIso(),
  });
  ctx.log(`kiln: Allowed AMIs audit: account ${caller.account} in ${caller.region} launched ${img.id}, which the criteria do not allow`);
}

/** Launches audit mode let through, oldest first. */
export async function launchAudit(ctx: Context, caller: Caller): Promise<LaunchAuditRecord[]> {
  return ctx.store.collection<LaunchAuditRecord>(AUDIT).list({ account: caller.account, region: caller.region });
}
