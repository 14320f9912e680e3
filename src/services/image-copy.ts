/**
 * Images made from existing data: RegisterImage (from snapshots the caller
 * can see), CopyImage (into the caller's region from any region, the copy's
 * snapshots sharing the source's blocks) and GetImageAncestry (the chain of
 * source images a copy or capture came from).
 */
import { createHash } from 'node:crypto';
import type { Caller, Context } from './context.js';
import { Invalid } from './errors.js';
import { insertImage, launchableImage, ownerAlias, validateImageName, visibleImages } from './images.js';
import { nowIso } from './ids.js';
import type { BlockDeviceMapping, ImageRecord, Owned, SnapshotRecord, Tag } from './model.js';
import { createPendingSnapshot, describeSnapshots } from './snapshots.js';

const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'];
const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'];
const VOLUME_TYPES = ['standard', 'io1', 'io2', 'gp2', 'gp3', 'sc1', 'st1'];
const DEVICE_NAME = /^\/dev\/(sd[a-z]\d*|xvd[a-z]{1,2}\d*|nvme\d+n\d+)$|^xvd[a-z]{1,2}$/;

export interface RegisterMapping {
  deviceName?: string;
  virtualName?: string;
  noDevice?: boolean;
  ebs?: { snapshotId?: string; volumeSize?: number; deleteOnTermination?: boolean; volumeType?: string; encrypted?: boolean };
}

export interface RegisterRequest {
  name?: string;
  description?: string;
  architecture?: string;
  rootDeviceName?: string;
  blockDeviceMappings?: RegisterMapping[];
  bootMode?: string;
  enaSupport?: boolean;
  imdsSupport?: string;
  virtualizationType?: string;
  /** An S3 manifest (instance store-backed AMIs): not supported. */
  imageLocation?: string;
  tags?: Tag[];
}

const badMapping = (message: string) => new Invalid('InvalidBlockDeviceMapping', message);

function validateRegisterScalars(req: RegisterRequest): void {
  if (req.imageLocation !== undefined) {
    throw new Invalid('UnsupportedOperation', 'Kiln registers EBS-backed images from snapshots only; ImageLocation (an S3 manifest) is not supported.');
  }
  validateImageName(req.name);
  if (req.architecture !== undefined && !ARCHITECTURES.includes(req.architecture)) {
    throw new Invalid('InvalidParameterValue', `Value (${req.architecture}) for parameter architecture is invalid. Expected: ${ARCHITECTURES.join(', ')}.`);
  }
  if (req.bootMode !== undefined && !BOOT_MODES.includes(req.bootMode)) {
    throw new Invalid('InvalidParameterValue', `Value (${req.bootMode}) for parameter bootMode is invalid. Expected: ${BOOT_MODES.join(', ')}.`);
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

/** Checks the mappings' shape (before any snapshot is looked up). */
function validateMappings(root: string, mappings: RegisterMapping[]): void {
  const seen = new Set<string>();
  for (const m of mappings) {
    if (!m.deviceName) throw new Invalid('MissingParameter', 'The request must contain the parameter BlockDeviceMapping.DeviceName');
    if (!DEVICE_NAME.test(m.deviceName)) throw badMapping(`Invalid device name ${m.deviceName}`);
    if (seen.has(m.deviceName)) throw badMapping(`The device name ${m.deviceName} is used more than once`);
    seen.add(m.deviceName);
    if (m.ebs && (m.noDevice || m.virtualName)) throw badMapping(`The device ${m.deviceName} can have only one of Ebs, NoDevice or VirtualName`);
    if (m.ebs?.volumeType !== undefined && !VOLUME_TYPES.includes(m.ebs.volumeType)) {
      throw new Invalid('InvalidParameterValue', `Value (${m.ebs.volumeType}) for parameter volumeType is invalid.`);
    }
    if (m.ebs?.volumeSize !== undefined && (!Number.isInteger(m.ebs.volumeSize) || m.ebs.volumeSize < 1 || m.ebs.volumeSize > 65536)) {
      throw badMapping(`Invalid volume size ${m.ebs.volumeSize} for ${m.deviceName}`);
    }
    if (m.ebs && !m.ebs.snapshotId && m.ebs.volumeSize === undefined) {
      throw badMapping(`The device ${m.deviceName} needs a snapshot id or a volume size`);
    }
  }
  const rootMapping = mappings.find((m) => m.deviceName === root);
  if (!rootMapping?.ebs?.snapshotId) {
    throw badMapping(`The root device name ${root} must be mapped to an EBS volume made from a snapshot`);
  }
}

async function resolveSnapshots(ctx: Context, caller: Caller, mappings: RegisterMapping[]): Promise<Map<string, SnapshotRecord>> {
  const ids = [...new Set(mappings.map((m) => m.ebs?.snapshotId).filter((s): s is string => !!s))];
  const snaps = await describeSnapshots(ctx, caller, ids);
  for (const s of snaps) {
    if (s.state !== 'completed') throw new Invalid('IncorrectState', `Snapshot ${s.id} is in invalid state - ${s.state}`);
  }
  return new Map(snaps.map((s) => [s.id, s]));
}

function toMapping(m: RegisterMapping, snaps: Map<string, SnapshotRecord>): BlockDeviceMapping {
  const deviceName = m.deviceName!;
  if (!m.ebs) return { deviceName, noDevice: m.noDevice || undefined, virtualName: m.virtualName };
  const snap = m.ebs.snapshotId ? snaps.get(m.ebs.snapshotId) : undefined;
  const volumeSize = m.ebs.volumeSize ?? snap!.volumeSize;
  if (snap && volumeSize < snap.volumeSize) {
    throw badMapping(`Volume of size ${volumeSize}GB is smaller than snapshot '${snap.id}', expect size >= ${snap.volumeSize}GB`);
  }
  return {
    deviceName,
    ebs: {
      snapshotId: snap?.id, volumeSize, deleteOnTermination: m.ebs.deleteOnTermination ?? true,
      volumeType: m.ebs.volumeType ?? 'gp2', encrypted: !!snap?.encrypted || !!m.ebs.encrypted,
    },
  };
}

/** RegisterImage from snapshots: available at once, since its snapshots are complete. */
export async function registerImage(ctx: Context, caller: Caller, req: RegisterRequest): Promise<ImageRecord> {
  validateRegisterScalars(req);
  validateMappings(req.rootDeviceName!, req.blockDeviceMappings!);
  const snaps = await resolveSnapshots(ctx, caller, req.blockDeviceMappings!);
  const mappings = req.blockDeviceMappings!.map((m) => toMapping(m, snaps));
  const img = await insertImage(ctx, caller, {
    name: req.name!, description: req.description, architecture: req.architecture ?? 'x86_64',
    rootDeviceName: req.rootDeviceName!, blockDeviceMappings: mappings, state: 'available', tags: req.tags,
  });
  return ctx.store.images.update(img.id, (r) => ({
    ...r, enaSupport: req.enaSupport ?? false, bootMode: req.bootMode, imdsSupport: req.imdsSupport,
  }));
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

/** What a ClientToken remembers: the image it made and a digest of the request that made it. */
interface CopyTokenRecord extends Owned { imageId: string; fingerprint: string }
const COPY_TOKENS = 'copy-image-token';

function fingerprint(req: CopyRequest): string {
  const { clientToken: _, ...rest } = req;
  const canonical = Object.entries(rest).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function mergeTags(...lists: Tag[][]): Tag[] {
  const m = new Map<string, string>();
  for (const l of lists) for (const t of l) m.set(t.key, t.value);
  return [...m].map(([key, value]) => ({ key, value }));
}

async function priorCopy(ctx: Context, caller: Caller, req: CopyRequest): Promise<ImageRecord | undefined> {
  if (req.clientToken === undefined) return undefined;
  if (!req.clientToken || req.clientToken.length > 64) {
    throw new Invalid('InvalidParameterValue', 'ClientToken must be between 1 and 64 ASCII characters long');
  }
  const tok = await ctx.store.collection<CopyTokenRecord>(COPY_TOKENS).get(`${caller.account}/${caller.region}/${req.clientToken}`);
  if (!tok) return undefined;
  if (tok.fingerprint !== fingerprint(req)) {
    throw new Invalid('IdempotentParameterMismatch', 'The client token you have provided is associated with a resource that has different parameters.');
  }
  return ctx.store.images.get(tok.imageId);
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
 * background (block maps are shared by content), then the copy is available.
 * An encrypted source never gives an unencrypted copy.
 */
export async function copyImage(ctx: Context, caller: Caller, req: CopyRequest): Promise<ImageRecord> {
  validateCopy(ctx, req);
  const prior = await priorCopy(ctx, caller, req);
  if (prior) return prior;
  const source = await launchableImage(ctx, { ...caller, region: req.sourceRegion! }, req.sourceImageId!);
  const encrypted = !!req.encrypted || source.blockDeviceMappings.some((m) => m.ebs?.encrypted);
  const image = await insertImage(ctx, caller, {
    name: req.name!, description: req.description ?? source.description, architecture: source.architecture,
    rootDeviceName: source.rootDeviceName, blockDeviceMappings: [], state: 'pending',
    sourceImageId: source.id, sourceImageRegion: source.region,
    tags: mergeTags(req.copyImageTags ? source.tags : [], req.imageTags ?? []),
  });
  let pending: ImageRecord;
  let pairs: CopyPair[];
  try {
    const made = await recordCopySnapshots(ctx, caller, source, image.id, encrypted, req.snapshotTags);
    pairs = made.pairs;
    pending = await ctx.store.images.update(image.id, (r) => ({
      ...r, blockDeviceMappings: made.mappings, enaSupport: source.enaSupport, bootMode: source.bootMode,
      imdsSupport: source.imdsSupport, productCodes: source.productCodes,
    }));
  } catch (err) {
    await ctx.store.images.update(image.id, (r) => ({
      ...r, state: 'failed', stateReason: { code: 'Server.InternalError', message: `Server.InternalError: ${(err as Error).message}` },
    }));
    throw err;
  }
  if (req.clientToken) {
    await ctx.store.collection<CopyTokenRecord>(COPY_TOKENS).insert({
      id: `${caller.account}/${caller.region}/${req.clientToken}`, account: caller.account, region: caller.region,
      imageId: image.id, fingerprint: fingerprint(req),
    });
  }
  ctx.tasks.start(`copy ${image.id}`, () => copySnapshots(ctx, image.id, pairs));
  return pending;
}

interface CopyPair { from: string; to: string }

/** Records the copy's snapshots (pending, owned by the caller) and the mappings that point at them. */
async function recordCopySnapshots(
  ctx: Context, caller: Caller, source: ImageRecord, imageId: string, encrypted: boolean, tags: Tag[] | undefined,
): Promise<{ pairs: CopyPair[]; mappings: BlockDeviceMapping[] }> {
  const pairs: CopyPair[] = [];
  const mappings: BlockDeviceMapping[] = [];
  for (const m of source.blockDeviceMappings) {
    if (!m.ebs?.snapshotId) { mappings.push({ ...m, ebs: m.ebs && { ...m.ebs, encrypted } }); continue; }
    const from = m.ebs.snapshotId;
    const snap = await createPendingSnapshot(ctx, caller, {
      volumeId: 'vol-ffffffff', volumeSize: m.ebs.volumeSize, tags,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${source.id} for SourceSnapshot ${from}. Task created on ${Math.floor(Date.now() / 1000)}.`,
    });
    await ctx.store.snapshots.update(snap.id, (s) => ({ ...s, encrypted, sourceSnapshotId: from, sourceRegion: source.region }));
    pairs.push({ from, to: snap.id });
    mappings.push({ ...m, ebs: { ...m.ebs, snapshotId: snap.id, encrypted } });
  }
  return { pairs, mappings };
}

/** The background half of CopyImage: each new snapshot takes the source's block map; then the image is available. */
async function copySnapshots(ctx: Context, imageId: string, pairs: CopyPair[]): Promise<void> {
  let current = '';
  try {
    for (const p of pairs) {
      current = p.to;
      const map = await ctx.store.blockMaps.get(p.from);
      if (!map) throw new Error(`the source snapshot ${p.from} has no data (deleted during the copy?)`);
      await ctx.store.blockMaps.put(p.to, map);
      await ctx.store.snapshots.update(p.to, (s) => ({ ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0 }));
    }
    await ctx.store.images.update(imageId, (r) => (r.state === 'pending' ? { ...r, state: 'available' } : r));
  } catch (err) {
    const message = (err as Error).message;
    if (current) await ctx.store.snapshots.update(current, (s) => ({ ...s, state: 'error', stateMessage: message })).catch(() => undefined);
    await ctx.store.images.update(imageId, (r) => ({
      ...r, state: 'failed', stateReason: { code: 'Client.SnapshotError', message: `Client.SnapshotError: ${message}` },
    }));
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
