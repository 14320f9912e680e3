/**
 * services/images: registering, finding and launching images; who may see
 * and launch one. The images domain may import core, network, accounts, keys,
 * marketplace, volumes and snapshots, never instances (docs/architecture.md).
 */
import { checkImageQuota } from '../core/quotas.js';
import type { Caller, Context } from '../core/context.js';
import { DuplicateName, Invalid, MalformedId, NotFound, Unavailable } from '../core/errors.js';
import { hasLaunchPermission } from './permissions.js';
import { isValidId, newId, nowIso } from '../core/ids.js';
import type { BlockDeviceMapping, ImageRecord, Tag } from '../../model/records.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { DuplicateError } from '../../store/store.js';

/** How long a deregistered image still answers to its id (AWS: "briefly"). */
export const DEREGISTERED_VISIBLE_MS = 60 * 60 * 1000;

const NAME_RE = /^[A-Za-z0-9()[\]./\-'@_ ]{3,128}$/;

export function validateImageName(name: string | undefined): asserts name is string {
  if (name === undefined || name === '') throw new Invalid('MissingParameter', 'The request must contain the parameter name');
  if (!NAME_RE.test(name)) {
    throw new Invalid('InvalidAMIName.Malformed',
      `AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'`);
  }
}

export function validateDescription(description: string | undefined): void {
  if (description !== undefined && description.length > 255) {
    throw new Invalid('InvalidParameterValue', 'AMI descriptions must be at most 255 characters long');
  }
}

export interface NewImage {
  name: string;
  description?: string;
  architecture: string;
  rootDeviceName: string;
  blockDeviceMappings: BlockDeviceMapping[];
  state?: ImageRecord['state'];
  isPublic?: boolean;
  ownerAlias?: string;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
  tags?: Tag[];
}

/** Inserts an image record; the name must be free in the owner's account and region. */
export async function insertImage(ctx: Context, owner: Caller, img: NewImage): Promise<ImageRecord> {
  validateImageName(img.name);
  validateDescription(img.description);
  await checkImageQuota(ctx, owner);
  const rec: ImageRecord = {
    id: newId('image'), account: owner.account, region: owner.region, name: img.name, description: img.description,
    state: img.state ?? 'pending', ownerAlias: img.ownerAlias, architecture: img.architecture, rootDeviceName: img.rootDeviceName,
    blockDeviceMappings: img.blockDeviceMappings, creationDate: nowIso('seconds'), isPublic: img.isPublic ?? false,
    enaSupport: true, bootMode: undefined, imdsSupport: undefined, sourceInstanceId: img.sourceInstanceId,
    sourceImageId: img.sourceImageId, sourceImageRegion: img.sourceImageRegion, tags: img.tags ?? [],
  };
  try {
    await ctx.store.images.insert(rec);
  } catch (err) {
    if (err instanceof DuplicateError) throw new DuplicateName('image', img.name, err.existingId);
    throw err;
  }
  return rec;
}

/** Whether `caller` may launch the image by its permissions (owner, public, shared), whatever its state. */
export function canSee(img: ImageRecord, caller: Caller): boolean {
  return hasLaunchPermission(img, caller);
}

export function recentlyDeregistered(img: ImageRecord): boolean {
  return img.state === 'deregistered' && Date.now() - Date.parse(img.deregisteredAt ?? img.creationDate) < DEREGISTERED_VISIBLE_MS;
}

export const isDeprecated = (img: ImageRecord, now = Date.now()): boolean =>
  img.deprecationTime !== undefined && Date.parse(img.deprecationTime) <= now;

export interface VisibilityOptions {
  /** Others' deprecated images too (owners always see their own). */
  includeDeprecated?: boolean;
  /** The caller's own disabled images too (others' disabled images have no permissions left). */
  includeDisabled?: boolean;
}

/** Whether the image shows in the caller's listings (no ids given). */
function listed(img: ImageRecord, caller: Caller, opts: VisibilityOptions): boolean {
  if (img.state === 'deregistered' || !hasLaunchPermission(img, caller)) return false;
  const own = img.account === caller.account;
  if (img.state === 'disabled' && !(own && opts.includeDisabled)) return false;
  if (!own && !opts.includeDeprecated && isDeprecated(img)) return false;
  return true;
}

/** Whether the image answers to its id for the caller (deprecated and the owner's disabled ones do). */
function answersToId(img: ImageRecord, caller: Caller): boolean {
  if (!hasLaunchPermission(img, caller)) return false;
  if (img.state === 'deregistered') return recentlyDeregistered(img);
  if (img.state === 'disabled') return img.account === caller.account;
  return true;
}

/**
 * Images the caller can see. With `ids`, exactly those (every id must be well
 * formed and visible, else the whole call fails as AWS does); without, every
 * image the caller may launch: its own, public ones and ones shared with its
 * account, organization or OU — less deprecated and disabled ones unless asked.
 */
export async function visibleImages(ctx: Context, caller: Caller, ids?: string[], opts: VisibilityOptions = {}): Promise<ImageRecord[]> {
  if (ids?.length) {
    for (const id of ids) if (!isValidId('image', id)) throw new MalformedId('image', id);
    const found = await Promise.all(ids.map((id) => ctx.store.images.get(id)));
    const missing = ids.filter((_, i) => {
      const img = found[i];
      return !img || !answersToId(img, caller);
    });
    if (missing.length) throw new NotFound('image', missing);
    return found as ImageRecord[];
  }
  const all = await ctx.store.images.list({ region: caller.region });
  return all.filter((img) => listed(img, caller, opts));
}

/**
 * The image, if the caller may launch it; else NotFound (an invisible image
 * does not exist for the caller). Deprecated images stay launchable by id;
 * disabled, pending and recently deregistered ones are not.
 */
export async function launchableImage(ctx: Context, caller: Caller, imageId: string): Promise<ImageRecord> {
  if (!isValidId('image', imageId)) throw new MalformedId('image', imageId);
  const img = await ctx.store.images.get(imageId);
  if (!img || !answersToId(img, caller)) throw new NotFound('image', [imageId]);
  if (img.state === 'deregistered') throw new Unavailable('image', imageId);
  if (img.state !== 'available') {
    throw new Invalid('InvalidAMIID.Unavailable', `Image ${imageId} is not available: its state is ${img.state}`);
  }
  return img;
}

// DeregisterImage lives in image-lifecycle.ts (protection, DeleteAssociatedSnapshots).

/** The alias users filter on: `amazon` for Kiln's catalog, `aws-marketplace` for marketplace products' images. */
export function ownerAlias(img: ImageRecord): string | undefined {
  if (img.ownerAlias) return img.ownerAlias;
  if (img.account === CATALOG_ACCOUNT) return 'amazon';
  return img.productCodes?.some((p) => p.type === 'marketplace') ? 'aws-marketplace' : undefined;
}
