/**
 * Retiring images: deprecation, disabling, deregistration protection and
 * deregistration (optionally with the image's snapshots).
 */
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid } from '../core/errors.js';
import { ownedImage } from './image-attributes.js';
import { nowIso } from '../core/ids.js';
import type { ImageRecord } from '../../model/records.js';
import { noGrants } from '../../model/records.js';
import { deleteSnapshotData, imagesUsingSnapshot } from '../snapshots/snapshots.js';

/** With cooldown, protection holds this long after it is disabled. */
export const PROTECTION_COOLDOWN_MS = 24 * 60 * 60 * 1000;
const MAX_DEPRECATION_MS = 10 * 365 * 24 * 60 * 60 * 1000;

// ---- Deprecation ----

/** DeprecateAt rounded to the nearest minute; it must then lie in the future (and within 10 years). */
export async function enableDeprecation(ctx: Context, caller: Caller, imageId: string, deprecateAt: Date): Promise<string> {
  const t = deprecateAt.getTime();
  if (Number.isNaN(t)) throw new Invalid('InvalidParameterValue', `Invalid value for parameter DeprecateAt`);
  const rounded = Math.round(t / 60_000) * 60_000;
  const now = Date.now();
  if (rounded <= now) {
    throw new Invalid('InvalidParameterValue', `The deprecation time must be in the future. Specify a value later than the current time.`);
  }
  if (rounded > now + MAX_DEPRECATION_MS) {
    throw new Invalid('InvalidParameterValue', `The deprecation time can't be more than 10 years from now.`);
  }
  await ownedImage(ctx, caller, imageId);
  const deprecationTime = new Date(rounded).toISOString();
  await ctx.store.images.update(imageId, (r) => ({ ...r, deprecationTime }));
  return deprecationTime;
}

export async function disableDeprecation(ctx: Context, caller: Caller, imageId: string): Promise<void> {
  await ownedImage(ctx, caller, imageId);
  await ctx.store.images.update(imageId, (r) => ({ ...r, deprecationTime: undefined }));
}

// ---- Disable / enable ----

/** State disabled, every launch permission removed (a public image becomes private). Disabling twice is a no-op. */
export async function disableImage(ctx: Context, caller: Caller, imageId: string): Promise<void> {
  const img = await ownedImage(ctx, caller, imageId);
  if (img.state === 'disabled') return;
  if (img.state !== 'available') {
    throw new Invalid('IncorrectState', `The image ${imageId} is in the ${img.state} state and cannot be disabled. Only available images can be disabled.`);
  }
  await ctx.store.images.update(imageId, (r) => ({
    ...r, state: 'disabled', disabledAt: nowIso(), isPublic: false, launchPermission: noGrants(),
  }));
}

/** Back to available; the launch permissions DisableImage removed stay removed. */
export async function enableImage(ctx: Context, caller: Caller, imageId: string): Promise<void> {
  const img = await ownedImage(ctx, caller, imageId);
  if (img.state === 'available') return;
  if (img.state !== 'disabled') {
    throw new Invalid('IncorrectState', `The image ${imageId} is in the ${img.state} state and cannot be enabled. Only disabled images can be enabled.`);
  }
  await ctx.store.images.update(imageId, (r) => ({ ...r, state: 'available', disabledAt: undefined }));
}

// ---- Deregistration protection ----

/** Whether DeregisterImage must refuse the image now (protected, or within the cooldown after unprotecting). */
export function isProtected(img: ImageRecord, now = Date.now()): boolean {
  if (img.deregistrationProtection?.startsWith('enabled')) return true;
  return !!img.deregistrationProtectionUntil && Date.parse(img.deregistrationProtectionUntil) > now;
}

/** The image's deregistrationProtection as DescribeImages shows it. */
export function protectionLabel(img: ImageRecord, now = Date.now()): string {
  if (img.deregistrationProtection?.startsWith('enabled')) return img.deregistrationProtection;
  if (img.deregistrationProtectionUntil && Date.parse(img.deregistrationProtectionUntil) > now) {
    return `disabled after ${img.deregistrationProtectionUntil}`;
  }
  return 'disabled';
}

/** Returns the new setting: enabled-with-cooldown or enabled-without-cooldown. */
export async function enableProtection(ctx: Context, caller: Caller, imageId: string, withCooldown: boolean): Promise<string> {
  await ownedImage(ctx, caller, imageId);
  const value = withCooldown ? 'enabled-with-cooldown' : 'enabled-without-cooldown';
  await ctx.store.images.update(imageId, (r) => ({ ...r, deregistrationProtection: value, deregistrationProtectionUntil: undefined }));
  return value;
}

/** With cooldown, the protection keeps holding for 24 hours after this call. */
export async function disableProtection(ctx: Context, caller: Caller, imageId: string): Promise<string> {
  await ownedImage(ctx, caller, imageId);
  await ctx.store.images.update(imageId, (r) => ({
    ...r, deregistrationProtection: 'disabled',
    deregistrationProtectionUntil: r.deregistrationProtection === 'enabled-with-cooldown'
      ? new Date(Date.now() + PROTECTION_COOLDOWN_MS).toISOString() : r.deregistrationProtectionUntil,
  }));
  return 'disabled';
}

// ---- Deregistration ----

/** AWS's per-snapshot outcomes of DeregisterImage with DeleteAssociatedSnapshots. */
export type SnapshotReturnCode = 'success' | 'skipped' | 'missing-permissions' | 'internal-error' | 'client-error';
export interface SnapshotDeletion { snapshotId: string; returnCode: SnapshotReturnCode }

/**
 * Deregisters an image the caller owns, unless deregistration protection
 * holds. The id keeps answering InvalidAMIID.Unavailable for a while. With
 * `deleteSnapshots`, each of its snapshots is then deleted unless another
 * registered image still uses it, and the outcome per snapshot is returned.
 */
export async function deregisterImage(
  ctx: Context, caller: Caller, imageId: string, opts: { deleteSnapshots?: boolean } = {},
): Promise<SnapshotDeletion[] | undefined> {
  const img = await ownedImage(ctx, caller, imageId);
  if (isProtected(img)) {
    throw new Invalid('OperationNotPermitted',
      `The image ${imageId} can't be deregistered because deregistration protection is enabled (${protectionLabel(img)}). ` +
      'Disable deregistration protection first.');
  }
  beforeChange(caller);
  await ctx.store.images.update(imageId, (r) => ({ ...r, state: 'deregistered', deregisteredAt: nowIso() }));
  if (!opts.deleteSnapshots) return undefined;
  const ids = [...new Set(img.blockDeviceMappings.map((m) => m.ebs?.snapshotId).filter((s): s is string => !!s))];
  const out: SnapshotDeletion[] = [];
  for (const snapshotId of ids) out.push({ snapshotId, returnCode: await deleteAssociated(ctx, caller, snapshotId) });
  return out;
}

async function deleteAssociated(ctx: Context, caller: Caller, snapshotId: string): Promise<SnapshotReturnCode> {
  const snap = await ctx.store.snapshots.get(snapshotId);
  if (!snap) return 'client-error';
  if (snap.account !== caller.account || snap.region !== caller.region) return 'missing-permissions';
  if ((await imagesUsingSnapshot(ctx, snapshotId)).length) return 'skipped';
  if (snap.state === 'pending') return 'client-error';
  try {
    await deleteSnapshotData(ctx, snapshotId);
    return 'success';
  } catch (err) {
    ctx.log(`kiln: deleting ${snapshotId} with its image failed: ${(err as Error).message}`);
    return 'internal-error';
  }
}
