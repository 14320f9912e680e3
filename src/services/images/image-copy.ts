/**
 * Images made from existing data: RegisterImage (from snapshots the caller
 * can see), CopyImage (into the caller's region from any region, the copy's
 * snapshots sharing the source's blocks) and GetImageAncestry (the chain of
 * source images a copy or capture came from).
 */
import type { MappingRequest } from './block-mappings.js';
import { mappingSnapshots, newMapping, validateMappings } from './block-mappings.js';
import { recallToken, rememberToken } from '../core/client-tokens.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid, isStorageError, publicMessage } from '../core/errors.js';
import { insertImage, launchableImage, ownerAlias, validateImageName, visibleImages } from './images.js';
import { nowIso } from '../core/ids.js';
import type { BlockDeviceMapping, ImageRecord, Tag } from '../../model/records.js';
import { createPendingSnapshot } from '../snapshots/snapshots.js';
import { copyMap } from '../snapshots/snapshot-keys.js';

const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'];
const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'];

export interface RegisterRequest {
  name?: string;
  description?: string;
  architecture?: string;
  rootDeviceName?: string;
  blockDeviceMappings?: MappingRequest[];
  bootMode?: string;
  tpmSupport?: string;
  uefiData?: string;
  enaSupport?: boolean;
  imdsSupport?: string;
  virtualizationType?: string;
  /** An S3 manifest (instance store-backed AMIs): not supported. */
  imageLocation?: string;
  tags?: Tag[];
}

function validateRegisterScalars(req: RegisterRequest): void {
  // An empty ImageLocation is what Terraform's aws_ami sends when none is configured: no manifest.
  if (req.imageLocation) {
    throw new Invalid('UnsupportedOperation', 'Kiln registers EBS-backed images from snapshots only; ImageLocation (an S3 manifest) is not supported.');
  }
  validateImageName(req.name);
  if (req.architecture !== undefined && !ARCHITECTURES.includes(req.architecture)) {
    throw new Invalid('InvalidParameterValue', `Value (${req.architecture}) for parameter architecture is invalid. Expected: ${ARCHITECTURES.join(', ')}.`);
  }
  if (req.bootMode !== undefined && !BOOT_MODES.includes(req.bootMode)) {
    throw new Invalid('InvalidParameterValue', `Value (${req.bootMode}) for parameter bootMode is invalid. Expected: ${BOOT_MODES.join(', ')}.`);
  }
  if (req.tpmSupport !== undefined && req.tpmSupport !== 'v2.0') {
    throw new Invalid('InvalidParameterValue', `Value (${req.tpmSupport}) for parameter tpmSupport is invalid. Expected: 'v2.0'.`);
  }
  if (req.tpmSupport && req.bootMode !== 'uefi') {
    throw new Invalid('InvalidParameterCombination', 'TpmSupport v2.0 requires BootMode uefi.');
  }
  if (req.uefiData !== undefined && (req.uefiData.length > 64 * 1024 || !/^[A-Za-z0-9+/]*={0,2}$/.test(req.uefiData))) {
    throw new Invalid('InvalidParameterValue', 'UefiData must be base64, at most 64 KiB.');
  }
  if (req.imdsSupport !== undefined && req.imdsSupport !== 'v2.0') {
    throw new Invalid('InvalidParameterValue', `Value (${req.imdsSupport}) for parameter imdsSupport is invalid. Expected: 'v2.0'.`);
  }
  if (req.virtualizationType !== undefined && req.virtualizationType !== 'hvm') {
    throw new Invalid('InvalidParameterValue', `Value (${req.virtualizationType}) for parameter virtualizationType is invalid. Kiln supports only 'hvm'.`);
  }
  if (!req.rootDeviceName) throw new Invalid('MissingParameter', 'The request must contain the parameter rootDeviceName');
  if (!req.blockDeviceMappings?.length) throw new Invalid('MissingParameter', 'The request must contain the parameter BlockDeviceMapping');
}

/** RegisterImage from snapshots: available at once, since its snapshots are complete. */
export async function registerImage(ctx: Context, caller: Caller, req: RegisterRequest): Promise<ImageRecord> {
  validateRegisterScalars(req);
  validateMappings(req.blockDeviceMappings!, req.rootDeviceName!);
  const snaps = await mappingSnapshots(ctx, caller, req.blockDeviceMappings!);
  const mappings = req.blockDeviceMappings!.map((m) => newMapping(m, snaps));
  return ctx.store.transaction(async () => {
    const img = await insertImage(ctx, caller, {
      name: req.name!, description: req.description, architecture: req.architecture ?? 'x86_64',
      rootDeviceName: req.rootDeviceName!, blockDeviceMappings: mappings, state: 'available', tags: req.tags,
    });
    return ctx.store.images.update(img.id, (r) => ({
      ...r, enaSupport: req.enaSupport ?? false, bootMode: req.bootMode, imdsSupport: req.imdsSupport,
      tpmSupport: req.tpmSupport, uefiData: req.uefiData,
    }));
  });
}

// ---- CopyImage ----

export interface CopyRequest {
  sourceRegion?: string;
  sourceImageId?: string;
  name?: string;
  description?: string;
  encrypted?: boolean;
  kmsKeyId?: string;
  copyImageTags?: boolean;
  clientToken?: string;
  imageTags?: Tag[];
  snapshotTags?: Tag[];
}

function mergeTags(...lists: Tag[][]): Tag[] {
  const m = new Map<string, string>();
  for (const l of lists) for (const t of l) m.set(t.key, t.value);
  return [...m].map(([key, value]) => ({ key, value }));
}

function validateCopy(ctx: Context, req: CopyRequest): void {
  if (!req.sourceRegion) throw new Invalid('MissingParameter', 'The request must contain the parameter SourceRegion');
  if (!req.sourceImageId) throw new Invalid('MissingParameter', 'The request must contain the parameter SourceImageId');
  validateImageName(req.name);
  if (!ctx.regions.includes(req.sourceRegion)) throw new Invalid('InvalidRegion', `Invalid region: ${req.sourceRegion}`);
  if (req.kmsKeyId !== undefined && !req.encrypted) {
    throw new Invalid('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set to true.');
  }
}

/**
 * CopyImage, called in the destination region: the caller must be able to
 * launch the source in its region. The copy (owned by the caller, pending) and
 * its snapshots are recorded at once; the snapshot data is copied in the
 * background (block maps are shared by content, or re-encrypted when the copy
 * is under another key), then the copy is available.
 * An encrypted source never gives an unencrypted copy.
 */
export async function copyImage(ctx: Context, caller: Caller, req: CopyRequest): Promise<ImageRecord> {
  validateCopy(ctx, req);
  // The token, the copy, its snapshots and its mappings in one transaction: a retry with the same
  // token finds the whole copy or none of it, and a crash leaves no copy without its snapshots.
  const made = await ctx.store.transaction(async () => {
    const [priorId] = await recallToken(ctx, caller, 'copy-image', req.clientToken, req) ?? [];
    const prior = priorId ? await ctx.store.images.get(priorId) : undefined;
    if (prior) return { image: prior, pairs: undefined };
    const source = await launchableImage(ctx, { ...caller, region: req.sourceRegion! }, req.sourceImageId!);
    const encrypted = !!req.encrypted || source.blockDeviceMappings.some((m) => m.ebs?.encrypted);
    beforeChange(caller);
    const image = await insertImage(ctx, caller, {
      name: req.name!, description: req.description ?? source.description, architecture: source.architecture,
      rootDeviceName: source.rootDeviceName, blockDeviceMappings: [], state: 'pending',
      sourceImageId: source.id, sourceImageRegion: source.region,
      tags: mergeTags(req.copyImageTags ? source.tags : [], req.imageTags ?? []),
    });
    const copies = await recordCopySnapshots(ctx, caller, source, image.id, { encrypted, kmsKeyId: encrypted ? req.kmsKeyId : undefined }, req.snapshotTags);
    const pending = await ctx.store.images.update(image.id, (r) => ({
      ...r, blockDeviceMappings: copies.mappings, enaSupport: source.enaSupport, bootMode: source.bootMode,
      imdsSupport: source.imdsSupport, tpmSupport: source.tpmSupport, uefiData: source.uefiData, productCodes: source.productCodes,
    }));
    await rememberToken(ctx, caller, 'copy-image', req.clientToken, req, [image.id]);
    return { image: pending, pairs: copies.pairs };
  });
  const pairs = made.pairs;
  if (pairs) ctx.tasks.start(`copy ${made.image.id}`, () => ctx.pruner.hold(() => copySnapshots(ctx, made.image.id, pairs)));
  return made.image;
}

interface CopyPair { from: string; to: string }

/** Records the copy's snapshots (pending, owned by the caller) and the mappings that point at them. */
async function recordCopySnapshots(
  ctx: Context, caller: Caller, source: ImageRecord, imageId: string, key: { encrypted: boolean; kmsKeyId?: string }, tags: Tag[] | undefined,
): Promise<{ pairs: CopyPair[]; mappings: BlockDeviceMapping[] }> {
  // The copy is the caller's: the key named, else the caller's aws/ebs key, never the source owner's.
  const { encrypted, kmsKeyId } = key;
  const pairs: CopyPair[] = [];
  const mappings: BlockDeviceMapping[] = [];
  for (const m of source.blockDeviceMappings) {
    if (!m.ebs?.snapshotId) { mappings.push({ ...m, ebs: m.ebs && { ...m.ebs, encrypted, kmsKeyId } }); continue; }
    const from = m.ebs.snapshotId;
    const snap = await createPendingSnapshot(ctx, caller, {
      volumeId: 'vol-ffffffff', volumeSize: m.ebs.volumeSize, tags,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${source.id} for SourceSnapshot ${from}. Task created on ${Math.floor(Date.now() / 1000)}.`,
    });
    await ctx.store.snapshots.update(snap.id, (s) => ({ ...s, encrypted, kmsKeyId, sourceSnapshotId: from, sourceRegion: source.region }));
    pairs.push({ from, to: snap.id });
    mappings.push({ ...m, ebs: { ...m.ebs, snapshotId: snap.id, encrypted, kmsKeyId } });
  }
  return { pairs, mappings };
}

/** The background half of CopyImage: each new snapshot takes the source's block map; then the image is available. */
async function copySnapshots(ctx: Context, imageId: string, pairs: CopyPair[]): Promise<void> {
  try {
    for (const p of pairs) {
      const map = await ctx.store.blockMaps.get(p.from);
      const target = await ctx.store.snapshots.get(p.to);
      if (!map || !target) throw new Error(`the source snapshot ${p.from} has no data (deleted during the copy?)`);
      // Under the copy's key: the source's own map when the keys agree, else its blocks re-encrypted.
      await ctx.store.blockMaps.put(p.to, await copyMap(ctx, map, target));
      await ctx.store.snapshots.update(p.to, (s) => ({ ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0 }));
    }
    await ctx.store.images.update(imageId, (r) => (r.state === 'pending' ? { ...r, state: 'available' } : r));
  } catch (err) {
    const message = publicMessage(err);
    const code = isStorageError(err) ? 'Server.InternalError' : 'Client.SnapshotError';
    // Every copy not completed goes to error, not only the one that failed: nothing stays pending.
    for (const p of pairs) {
      await ctx.store.snapshots.update(p.to, (s) => (s.state === 'pending' ? { ...s, state: 'error', stateMessage: message } : s)).catch(() => undefined);
    }
    await ctx.store.images.update(imageId, (r) => ({ ...r, state: 'failed', stateReason: { code, message: `${code}: ${message}` } }));
    throw err;
  }
}

// ---- GetImageAncestry ----

export interface AncestryEntry {
  imageId: string;
  creationDate: string;
  imageOwnerAlias?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
}

/** The image, then the image it was copied or captured from, and so on while the records exist. */
export async function imageAncestry(ctx: Context, caller: Caller, imageId: string): Promise<AncestryEntry[]> {
  const [img] = await visibleImages(ctx, caller, [imageId]);
  const out: AncestryEntry[] = [];
  const seen = new Set<string>();
  for (let cur: ImageRecord | undefined = img; cur && !seen.has(cur.id);) {
    seen.add(cur.id);
    out.push({
      imageId: cur.id, creationDate: cur.creationDate, imageOwnerAlias: ownerAlias(cur) ?? cur.account,
      sourceImageId: cur.sourceImageId, sourceImageRegion: cur.sourceImageRegion,
    });
    cur = cur.sourceImageId ? await ctx.store.images.get(cur.sourceImageId) : undefined;
  }
  return out;
}
