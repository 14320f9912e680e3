/**
 * Reading snapshots through the EBS direct APIs: ListSnapshotBlocks and
 * ListChangedBlocks give a block token per non-zero block, GetSnapshotBlock
 * takes one back and answers the block's data. Any completed snapshot the
 * caller may use (its own, or shared with it) can be read, whatever made it.
 *
 * Tokens are opaque to clients and verifiable by Kiln alone: a block token is
 * base64(version | expiry | block hash | HMAC-SHA-256 over the snapshot id,
 * block index, hash and expiry under the data directory's secret), valid 7
 * days as AWS's are; a page token (NextToken) is signed the same way over the
 * listing it continues and the next block index, valid 60 minutes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { BLOCK_SIZE, hashBlock, isBlockHash } from '../../blocks/blocks.js';
import type { BlockHash, BlockMap } from '../../blocks/blocks.js';
import type { SnapshotRecord } from '../../model/records.js';
import type { Caller, Context } from '../core/context.js';
import { EbsError, invalid, tokenSecret } from './direct-state.js';
import { visibleSnapshot } from './direct.js';

const VERSION = 1;
const BLOCK_TOKEN_SECONDS = 7 * 24 * 3600;
const PAGE_TOKEN_SECONDS = 3600;
const MAC_BYTES = 16;
const MIN_RESULTS = 100;
const MAX_RESULTS = 10_000;

function mac(key: Buffer, label: string, fields: Array<string | number>, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${label}\n${fields.join('\n')}\n`).update(body).digest().subarray(0, MAC_BYTES);
}

function seal(key: Buffer, label: string, fields: Array<string | number>, body: Buffer): string {
  return Buffer.concat([body, mac(key, label, fields, body)]).toString('base64');
}

/** The signed body of a token issued for `fields`, or undefined when it is forged, for something else, or expired. */
function open(key: Buffer, label: string, fields: Array<string | number>, token: string | undefined, bodyBytes: number, nowSeconds: number): Buffer | undefined {
  if (!token || token.length > 256 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return undefined;
  const raw = Buffer.from(token, 'base64');
  if (raw.length !== bodyBytes + MAC_BYTES || raw[0] !== VERSION) return undefined;
  const body = raw.subarray(0, bodyBytes);
  if (!timingSafeEqual(raw.subarray(bodyBytes), mac(key, label, fields, body))) return undefined;
  return body.readUInt32BE(1) >= nowSeconds ? body : undefined;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function blockToken(key: Buffer, snapshotId: string, index: number, hash: BlockHash, expiry: number): string {
  const body = Buffer.alloc(37);
  body[0] = VERSION;
  body.writeUInt32BE(expiry, 1);
  Buffer.from(hash, 'hex').copy(body, 5);
  return seal(key, 'block', [snapshotId, index], body);
}

/** The block hash a token names, if Kiln issued it for this snapshot and index and it has not expired. */
export function readBlockToken(key: Buffer, snapshotId: string, index: number, token: string | undefined, now = nowSeconds()): BlockHash | undefined {
  const body = open(key, 'block', [snapshotId, index], token, 37, now);
  const hash = body?.subarray(5).toString('hex');
  return hash && isBlockHash(hash) ? hash : undefined;
}

function pageToken(key: Buffer, listing: string, next: number): string {
  const body = Buffer.alloc(9);
  body[0] = VERSION;
  body.writeUInt32BE(nowSeconds() + PAGE_TOKEN_SECONDS, 1);
  body.writeUInt32BE(next, 5);
  return seal(key, 'page', [listing], body);
}

/** Where a listing goes on: NextToken wins over StartingBlockIndex, as AWS documents. */
function startIndex(key: Buffer, listing: string, req: ListRequest): number {
  if (req.nextToken !== undefined) {
    const body = open(key, 'page', [listing], req.nextToken, 9, nowSeconds());
    if (!body) throw invalid('INVALID_PAGE_TOKEN', 'The pagination token is not valid or has expired.');
    return body.readUInt32BE(5);
  }
  const start = req.startingBlockIndex ?? 0;
  if (!Number.isInteger(start) || start < 0) throw invalid('INVALID_PARAMETER_VALUE', 'StartingBlockIndex must be a whole number, 0 or more.');
  return start;
}

function pageSize(maxResults: number | undefined): number {
  if (maxResults === undefined) return MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults > MAX_RESULTS) throw invalid('INVALID_PARAMETER_VALUE', `MaxResults must be ${MIN_RESULTS} to ${MAX_RESULTS}.`);
  return Math.max(maxResults, MIN_RESULTS); // under 100: AWS still answers up to 100
}

/** A completed snapshot the caller may read, and its map. */
async function readable(ctx: Context, caller: Caller, snapshotId: string): Promise<{ snapshot: SnapshotRecord; map: BlockMap }> {
  const snapshot = await visibleSnapshot(ctx, caller, snapshotId);
  if (snapshot.state !== 'completed') throw invalid('INVALID_SNAPSHOT_ID', `The snapshot '${snapshotId}' is ${snapshot.state}: only completed snapshots can be read.`);
  const map = await ctx.store.blockMaps.get(snapshotId);
  if (!map) throw new EbsError('InternalServerException', undefined, `The snapshot ${snapshotId} has no data.`);
  return { snapshot, map };
}

export interface ListRequest { nextToken?: string; maxResults?: number; startingBlockIndex?: number }

export interface Listing<T> { items: T[]; expiryTime: Date; volumeSize: number; blockSize: number; nextToken?: string }

/** One page of `entries` (sorted by index) from where the request goes on. */
async function page<E extends { index: number }, T>(
  ctx: Context, listing: string, req: ListRequest, volumeSize: number, entries: E[], item: (e: E, key: Buffer, expiry: number) => T,
): Promise<Listing<T>> {
  const key = await tokenSecret(ctx);
  const start = startIndex(key, listing, req);
  const size = pageSize(req.maxResults);
  const from = entries.findIndex((e) => e.index >= start);
  const slice = from < 0 ? [] : entries.slice(from, from + size);
  const more = from >= 0 && from + size < entries.length;
  const expiry = nowSeconds() + BLOCK_TOKEN_SECONDS;
  return {
    items: slice.map((e) => item(e, key, expiry)), expiryTime: new Date(expiry * 1000), volumeSize, blockSize: BLOCK_SIZE,
    nextToken: more ? pageToken(key, listing, slice[slice.length - 1]!.index + 1) : undefined,
  };
}

/** ListSnapshotBlocks: the snapshot's non-zero blocks, each with a token for GetSnapshotBlock. */
export async function listSnapshotBlocks(
  ctx: Context, caller: Caller, req: ListRequest & { snapshotId: string },
): Promise<Listing<{ blockIndex: number; blockToken: string }>> {
  const { snapshot, map } = await readable(ctx, caller, req.snapshotId);
  const entries = map.blocks.map(([index, hash]) => ({ index, hash }));
  return page(ctx, `blocks ${snapshot.id}`, req, snapshot.volumeSize, entries, (e, key, expiry) =>
    ({ blockIndex: e.index, blockToken: blockToken(key, snapshot.id, e.index, e.hash, expiry) }));
}

export interface ChangedBlock { blockIndex: number; firstBlockToken?: string; secondBlockToken?: string }

/**
 * ListChangedBlocks: the blocks whose content differs between the first and
 * the second snapshot (all of the second's without a first), with a token
 * for each side that has data there (a block of zeros has none).
 */
export async function listChangedBlocks(
  ctx: Context, caller: Caller, req: ListRequest & { firstSnapshotId?: string; secondSnapshotId: string },
): Promise<Listing<ChangedBlock>> {
  const second = await readable(ctx, caller, req.secondSnapshotId);
  const first = req.firstSnapshotId === undefined ? undefined : await readable(ctx, caller, req.firstSnapshotId);
  const a = new Map(first?.map.blocks ?? []);
  const b = new Map(second.map.blocks);
  const indexes = [...new Set([...a.keys(), ...b.keys()])].filter((i) => a.get(i) !== b.get(i)).sort((x, y) => x - y);
  const entries = indexes.map((index) => ({ index, first: a.get(index), second: b.get(index) }));
  const listing = `changed ${first?.snapshot.id ?? '-'} ${second.snapshot.id}`;
  return page(ctx, listing, req, second.snapshot.volumeSize, entries, (e, key, expiry) => ({
    blockIndex: e.index,
    firstBlockToken: e.first && blockToken(key, first!.snapshot.id, e.index, e.first, expiry),
    secondBlockToken: e.second && blockToken(key, second.snapshot.id, e.index, e.second, expiry),
  }));
}

export interface BlockData { data: Buffer; dataLength: number; checksum: string; checksumAlgorithm: 'SHA256' }

/** GetSnapshotBlock: the data of the block a token (from the listings above) names, verified by the store. */
export async function getSnapshotBlock(
  ctx: Context, caller: Caller, req: { snapshotId: string; blockIndex: number; blockToken: string },
): Promise<BlockData> {
  const snapshot = await visibleSnapshot(ctx, caller, req.snapshotId);
  if (snapshot.state !== 'completed') throw invalid('INVALID_SNAPSHOT_ID', `The snapshot '${req.snapshotId}' is ${snapshot.state}: only completed snapshots can be read.`);
  if (!Number.isInteger(req.blockIndex) || req.blockIndex < 0) throw invalid('INVALID_BLOCK', 'The block index must be a whole number, 0 or more.');
  const hash = readBlockToken(await tokenSecret(ctx), snapshot.id, req.blockIndex, req.blockToken);
  if (!hash) throw invalid('INVALID_BLOCK_TOKEN', 'The block token is not valid for this snapshot and block index, or has expired.');
  let data = await ctx.blocks.get(hash);
  // The last block of a volume whose size is not a whole number of blocks: answered as a whole block.
  if (data.length < BLOCK_SIZE) data = Buffer.concat([data, Buffer.alloc(BLOCK_SIZE - data.length)]);
  // The checksum is the SHA-256 of what is answered: an encrypted block's id is a keyed id, not its SHA-256 (0.3 ms a block).
  const digest = hashBlock(data);
  return { data, dataLength: data.length, checksum: Buffer.from(digest, 'hex').toString('base64'), checksumAlgorithm: 'SHA256' };
}
