/**
 * Writing snapshots through the EBS direct APIs: StartSnapshot makes a
 * pending snapshot (empty, or starting with a parent snapshot's blocks),
 * PutSnapshotBlock stores 512 KiB blocks through the upload's block writer
 * (content-addressed, so the checksum the client sends, SHA-256, is the
 * block's name; an encrypted snapshot's blocks are stored encrypted, named
 * by their keyed id; all-zero blocks are not stored), and CompleteSnapshot commits
 * the writer, saves the block map and completes the snapshot: from then on it
 * is an ordinary snapshot (DescribeSnapshots, RegisterImage, CreateVolume,
 * CopySnapshot, sharing). Reading: direct-read.ts.
 */
import { createHash } from 'node:crypto';
import { BLOCK_SIZE, BlockCorruptError, fullSizeBytes, hashBlock } from '../../blocks/blocks.js';
import type { BlockHash, BlockMap } from '../../blocks/blocks.js';
import type { SnapshotRecord, Tag } from '../../model/records.js';
import { recallToken, rememberToken } from '../core/client-tokens.js';
import type { Caller, Context } from '../core/context.js';
import { isValidId, nowIso } from '../core/ids.js';
import type { Upload } from './direct-state.js';
import { EbsError, invalid, uploads } from './direct-state.js';
import { canUseSnapshot, createPendingSnapshot, failSnapshot } from './snapshots.js';
import { snapshotKey } from './snapshot-keys.js';

const GiB = 1024 ** 3;
export const MAX_VOLUME_SIZE = 65536;
const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);
const ZERO_HASH = hashBlock(ZERO_BLOCK);

export interface StartSnapshotRequest {
  volumeSize: number;
  parentSnapshotId?: string;
  tags?: Tag[];
  description?: string;
  clientToken?: string;
  encrypted?: boolean;
  kmsKeyArn?: string;
  /** Minutes (10-4320, default 60) without a put before the snapshot is cancelled (state error). */
  timeout?: number;
}

const integerIn = (v: number, lo: number, hi: number) => Number.isInteger(v) && v >= lo && v <= hi;

function validateStart(req: StartSnapshotRequest): void {
  if (!integerIn(req.volumeSize, 1, MAX_VOLUME_SIZE)) throw invalid('INVALID_VOLUME_SIZE', `The volume size must be 1 to ${MAX_VOLUME_SIZE} GiB, not ${req.volumeSize}.`);
  if (req.timeout !== undefined && !integerIn(req.timeout, 10, 4320)) throw invalid('INVALID_PARAMETER_VALUE', 'The timeout must be 10 to 4320 minutes.');
  if (req.description !== undefined && req.description.length > 255) throw invalid('INVALID_PARAMETER_VALUE', 'The description must be at most 255 characters.');
  if (req.parentSnapshotId !== undefined && req.encrypted !== undefined) {
    throw invalid('INVALID_PARAMETER_VALUE', 'ParentSnapshotId and Encrypted cannot be specified together: the snapshot is encrypted as its parent is.');
  }
  if (req.kmsKeyArn !== undefined && !req.encrypted) throw invalid('INVALID_PARAMETER_VALUE', 'KmsKeyArn needs Encrypted set to true.');
  if ((req.tags?.length ?? 0) > 50) throw invalid('INVALID_TAG', 'A snapshot can have at most 50 tags.');
  for (const t of req.tags ?? []) {
    if (!t.key || t.key.length > 128 || t.value.length > 256 || t.key.toLowerCase().startsWith('aws:')) {
      throw invalid('INVALID_TAG', `The tag '${t.key}' is not valid: keys are 1-128 characters and not aws:..., values up to 256.`);
    }
  }
}

/** A snapshot the caller may read through the EBS direct APIs (its own, or shared with it, as for CreateVolume). */
export async function visibleSnapshot(ctx: Context, caller: Caller, snapshotId: string): Promise<SnapshotRecord> {
  if (!isValidId('snapshot', snapshotId)) throw invalid('INVALID_SNAPSHOT_ID', `The snapshot id '${snapshotId}' is not valid.`);
  const s = await ctx.store.snapshots.get(snapshotId);
  if (!s || !canUseSnapshot(s, caller)) throw new EbsError('ResourceNotFoundException', 'SNAPSHOT_NOT_FOUND', `The snapshot '${snapshotId}' does not exist.`);
  return s;
}

export interface StartedSnapshot { snapshot: SnapshotRecord; parentSnapshotId?: string; blockSize: number }

/** StartSnapshot: a pending snapshot of `volumeSize` GiB owned by the caller; the same ClientToken with the same request gives the same snapshot. */
export async function startSnapshot(ctx: Context, caller: Caller, req: StartSnapshotRequest): Promise<StartedSnapshot> {
  validateStart(req);
  const { clientToken, ...fingerprinted } = req;
  const earlier = await recallToken(ctx, caller, 'start-snapshot', clientToken, fingerprinted);
  if (earlier) {
    const snapshot = await ctx.store.snapshots.get(earlier[0]!);
    if (snapshot) return { snapshot, parentSnapshotId: req.parentSnapshotId, blockSize: BLOCK_SIZE };
  }
  let parent: { record: SnapshotRecord; map: BlockMap } | undefined;
  if (req.parentSnapshotId !== undefined) {
    const record = await visibleSnapshot(ctx, caller, req.parentSnapshotId);
    if (record.state !== 'completed') throw invalid('INVALID_SNAPSHOT_ID', `The parent snapshot '${record.id}' is not completed.`);
    if (req.volumeSize < record.volumeSize) throw invalid('INVALID_VOLUME_SIZE', `The volume size must be at least the parent's, ${record.volumeSize} GiB.`);
    const map = await ctx.store.blockMaps.get(record.id);
    if (!map) throw new EbsError('InternalServerException', undefined, `The parent snapshot ${record.id} has no data.`);
    parent = { record, map };
  }
  const encrypted = req.encrypted ?? parent?.record.encrypted ?? false;
  const snapshot = await ctx.store.transaction(async () => {
    const rec = await createPendingSnapshot(ctx, caller, {
      volumeId: 'vol-ffffffff', volumeSize: req.volumeSize, description: req.description ?? '', tags: req.tags, encrypted,
      kmsKeyId: req.kmsKeyArn ?? parent?.record.kmsKeyId,
    });
    await rememberToken(ctx, caller, 'start-snapshot', clientToken, fingerprinted, [rec.id]);
    return rec;
  });
  const upload: Upload = {
    snapshotId: snapshot.id, account: caller.account, region: caller.region, volumeSize: req.volumeSize,
    blockCount: (req.volumeSize * GiB) / BLOCK_SIZE, parent: parent?.map, written: new Map(), sums: new Map(),
    writer: ctx.blocks.writer({ key: snapshotKey(snapshot) }),
    inflight: new Set(), completing: false, timeoutMs: (req.timeout ?? 60) * 60_000,
  };
  uploads(ctx).set(snapshot.id, upload);
  armTimeout(ctx, upload);
  return { snapshot, parentSnapshotId: parent?.record.id, blockSize: BLOCK_SIZE };
}

/** (Re)starts the upload's timeout: AWS cancels a snapshot that sees no block written (or no completion) for that long. */
function armTimeout(ctx: Context, u: Upload): void {
  clearTimeout(u.timer);
  u.timer = setTimeout(() => ctx.tasks.start(`timeout ${u.snapshotId}`, () => timeOutUpload(ctx, u.snapshotId)), u.timeoutMs);
  u.timer.unref();
}

/** What the timeout does: the upload ends and its snapshot goes to state error; its blocks become garbage. */
export async function timeOutUpload(ctx: Context, snapshotId: string): Promise<void> {
  const u = uploads(ctx).get(snapshotId);
  if (!u || u.completing) return;
  uploads(ctx).delete(snapshotId);
  clearTimeout(u.timer);
  await ctx.store.snapshots.update(snapshotId, (s) => ({ ...s, state: 'error', stateMessage: 'The snapshot timed out: no block was written or the snapshot was not completed in time' }));
  // Its blocks sit in the block store's open pack; committed, they are ordinary unreferenced blocks the prune removes.
  await Promise.allSettled([...u.inflight]);
  await u.writer.commit().catch(() => undefined);
  ctx.pruner.request();
}

/** The caller's own upload in progress: not found, not the caller's, or not pending are each their own error. */
async function ownUpload(ctx: Context, caller: Caller, snapshotId: string): Promise<Upload> {
  const s = await visibleSnapshot(ctx, caller, snapshotId);
  if (s.account !== caller.account) throw new EbsError('AccessDeniedException', 'UNAUTHORIZED_ACCOUNT', `Only the owner of ${snapshotId} can write to it.`);
  const u = uploads(ctx).get(snapshotId);
  if (!u || s.state !== 'pending') throw invalid('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is in state ${s.state}: blocks can be written only while it is pending from StartSnapshot.`);
  if (u.completing) throw invalid('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is being completed.`);
  return u;
}

/** The hex SHA-256 a base64 checksum names, or undefined when it is not one. */
function checksumHex(checksum: string | undefined): string | undefined {
  if (!checksum || !/^[A-Za-z0-9+/]+={0,2}$/.test(checksum)) return undefined;
  const raw = Buffer.from(checksum, 'base64');
  return raw.length === 32 ? raw.toString('hex') : undefined;
}

export interface PutBlockRequest {
  snapshotId: string;
  blockIndex: number;
  data: Uint8Array;
  dataLength: number;
  checksum: string;
  checksumAlgorithm: string;
  progress?: number;
}

function validatePut(u: Upload, req: PutBlockRequest): BlockHash {
  if (!integerIn(req.blockIndex, 0, u.blockCount - 1)) {
    throw invalid('INVALID_BLOCK', `The block index must be 0 to ${u.blockCount - 1} for a ${u.volumeSize} GiB volume, not ${req.blockIndex}.`);
  }
  if (req.checksumAlgorithm !== 'SHA256') throw invalid('INVALID_PARAMETER_VALUE', 'The checksum algorithm must be SHA256.');
  if (req.dataLength !== BLOCK_SIZE || req.data.length !== BLOCK_SIZE) {
    throw invalid('INVALID_PARAMETER_VALUE', `A block is ${BLOCK_SIZE} bytes: the data length was ${req.dataLength} and ${req.data.length} bytes came.`);
  }
  if (req.progress !== undefined && !integerIn(req.progress, 0, 100)) throw invalid('INVALID_PARAMETER_VALUE', 'Progress must be 0 to 100.');
  const hash = checksumHex(req.checksum);
  if (!hash) throw invalid('INVALID_PARAMETER_VALUE', 'The checksum must be the base64 SHA-256 of the block (44 characters).');
  return hash as BlockHash;
}

/**
 * PutSnapshotBlock: checks the block against its checksum and stores it (an
 * all-zero block is recorded as zeros, not stored). The pruner is held while
 * the block is stored and until the upload records it, and from then on the
 * live set counts the upload's blocks (withUploadBlocks).
 */
export async function putSnapshotBlock(ctx: Context, caller: Caller, req: PutBlockRequest): Promise<{ checksum: string; checksumAlgorithm: 'SHA256' }> {
  const u = await ownUpload(ctx, caller, req.snapshotId);
  const hash = validatePut(u, req);
  // All zeros is recorded as zeros (nothing stored); any other block is hashed once, by the store, which refuses it
  // (BlockCorruptError) when it does not match the checksum.
  const zeros = ZERO_BLOCK.equals(req.data);
  if (zeros !== (hash === ZERO_HASH)) throw invalid('INVALID_PARAMETER_VALUE', 'The checksum does not match the data.');
  armTimeout(ctx, u);
  const store = ctx.pruner.hold(async () => {
    const id = zeros ? null : await u.writer.putHashed(hash, req.data);
    u.written.set(req.blockIndex, id);
    u.sums.set(req.blockIndex, hash);
  });
  u.inflight.add(store);
  try {
    await store;
  } catch (err) {
    if (err instanceof BlockCorruptError) throw invalid('INVALID_PARAMETER_VALUE', 'The checksum does not match the data.');
    throw err;
  } finally {
    u.inflight.delete(store);
  }
  if (req.progress !== undefined) {
    await ctx.store.snapshots.update(u.snapshotId, (s) => ({ ...s, progress: `${req.progress}%` }));
  }
  return { checksum: req.checksum, checksumAlgorithm: 'SHA256' };
}

export interface CompleteRequest {
  snapshotId: string;
  changedBlocksCount: number;
  checksum?: string;
  checksumAlgorithm?: string;
  checksumAggregationMethod?: string;
}

/** LINEAR aggregation: SHA-256 over the written blocks' raw 32-byte digests in block-index order, base64. */
export function linearChecksum(written: Iterable<[number, string]>): string {
  const h = createHash('sha256');
  for (const [, hex] of [...written].sort((a, b) => a[0] - b[0])) h.update(Buffer.from(hex, 'hex'));
  return h.digest('base64');
}

function checkCompletion(u: Upload, req: CompleteRequest): void {
  if (!Number.isInteger(req.changedBlocksCount) || req.changedBlocksCount !== u.written.size) {
    throw invalid('INVALID_PARAMETER_VALUE', `ChangedBlocksCount is ${req.changedBlocksCount}, but ${u.written.size} blocks were written.`);
  }
  if (req.checksum === undefined) {
    if (req.checksumAlgorithm !== undefined || req.checksumAggregationMethod !== undefined) {
      throw invalid('INVALID_PARAMETER_VALUE', 'ChecksumAlgorithm and ChecksumAggregationMethod go with a Checksum.');
    }
    return;
  }
  if (req.checksumAlgorithm !== 'SHA256') throw invalid('INVALID_PARAMETER_VALUE', 'The checksum algorithm must be SHA256.');
  if (req.checksumAggregationMethod !== 'LINEAR') throw invalid('INVALID_PARAMETER_VALUE', 'The checksum aggregation method must be LINEAR.');
  const expected = linearChecksum(u.sums);
  if (req.checksum !== expected) throw invalid('INVALID_PARAMETER_VALUE', 'The aggregated checksum does not match the blocks written.');
}

/** The snapshot's map: the parent's blocks, overwritten by the ones written (zeros remove an entry). */
function blockMap(u: Upload): BlockMap {
  const blocks = new Map<number, BlockHash>(u.parent?.blocks ?? []);
  for (const [i, h] of u.written) {
    if (h) blocks.set(i, h);
    else blocks.delete(i);
  }
  return { sizeBytes: u.volumeSize * GiB, blocks: [...blocks].sort((a, b) => a[0] - b[0]) };
}

/**
 * CompleteSnapshot: once the puts in flight are done and the count (and
 * checksum, if given) match, the writer commits (the blocks are durable),
 * THEN the map is saved and the snapshot completes. A mismatch leaves the
 * snapshot pending, to be fixed and completed again; a failed commit errors it.
 */
export async function completeUpload(ctx: Context, caller: Caller, req: CompleteRequest): Promise<{ status: 'completed' }> {
  const u = await ownUpload(ctx, caller, req.snapshotId);
  u.completing = true;
  try {
    await Promise.allSettled([...u.inflight]);
    checkCompletion(u, req);
  } catch (err) {
    u.completing = false;
    throw err;
  }
  clearTimeout(u.timer);
  try {
    await ctx.pruner.hold(async () => {
      await u.writer.commit();
      const map = blockMap(u);
      await ctx.store.blockMaps.put(u.snapshotId, map);
      const stored = [...u.written.values()].filter((h) => h).length;
      await ctx.store.snapshots.update(u.snapshotId, (s) => ({
        ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: stored * BLOCK_SIZE, fullSizeBytes: fullSizeBytes(map),
      }));
      uploads(ctx).delete(u.snapshotId);
    });
  } catch (err) {
    uploads(ctx).delete(u.snapshotId);
    await failSnapshot(ctx, u.snapshotId, err);
    ctx.pruner.request();
    throw err;
  }
  return { status: 'completed' };
}
