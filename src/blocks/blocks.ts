/**
 * The block store: content-addressed storage for snapshot data.
 *
 * A snapshot is a map from block index to block hash; a block is at most
 * BLOCK_SIZE bytes of a volume, named by the SHA-256 of its bytes (lower-case
 * hex). All-zero blocks are never stored: a snapshot simply has no entry for
 * them. Two snapshots of nearly the same volume therefore share every
 * unchanged block on disk (incremental by construction).
 *
 * Implementations (one folder each, e.g. blocks/pack/) must:
 *  - never let a crash leave a partial block under its final name, nor an
 *    index entry for bytes that are not durable;
 *  - verify the hash of every block they return from `get` and throw
 *    BlockCorruptError on mismatch, BlockNotFoundError when absent.
 * The on-disk format of each implementation is written down in docs/.
 *
 * Encrypted blocks (`writer({ key })`): stored encrypted under the data key
 * the store keeps for `key`, and named by a keyed id (HMAC-SHA-256 under
 * that data key) instead of SHA-256, so they deduplicate only with blocks of
 * the same key. `get` returns any block's plain bytes, verified.
 *
 * Callers must not modify a buffer passed to `put`/`putHashed` until the
 * returned promise settles; stores keep no reference to it afterwards.
 */
import { createHash } from 'node:crypto';

/** SHA-256 of a block's bytes, 64 lower-case hex characters. */
export type BlockHash = string & { readonly __brand: 'BlockHash' };

/** 512 KiB, as EBS direct APIs report (BlockSize 524288). */
export const BLOCK_SIZE = 512 * 1024;

export interface BlockStore {
  /**
   * Stores one block durably and returns its hash: a writer with one put,
   * committed. For many blocks use `writer()`, which makes them durable
   * together (one fsync per pack, not per block). Idempotent; RangeError on
   * an empty or oversized block.
   */
  put(data: Uint8Array, opts?: WriterOptions): Promise<BlockHash>;
  /**
   * A write session. Its puts are readable (`get`) and deduplicated at once
   * but durable only when `commit()` resolves: save nothing that refers to a
   * block (a snapshot's map) before then. Writers may run concurrently; an
   * uncommitted writer's blocks are garbage to the next prune once its caller
   * stops holding the pruner.
   */
  writer(opts?: WriterOptions): BlockWriter;
  /**
   * Returns the block's bytes after checking they hash to `hash`. Throws
   * BlockNotFoundError when absent (or `hash` is not a BlockHash at all),
   * BlockCorruptError when the stored bytes hash to something else.
   */
  get(hash: BlockHash): Promise<Buffer>;
  /** Whether the block is stored (without reading or verifying it). */
  has(hash: BlockHash): Promise<boolean>;
  /**
   * Whether `data` is the block named `hash` by its name alone (SHA-256, or
   * the keyed id of the key the block is stored under), without reading it.
   */
  matches(hash: BlockHash, data: Uint8Array): Promise<boolean>;
  /** Every stored block with its size in bytes (for a prune's plan; prune.ts). */
  list(): Promise<Array<{ hash: BlockHash; bytes: number }>>;
  /**
   * Removes the given blocks; absent ones are skipped, and so are blocks
   * being written by this store at that moment. Returns how many were removed
   * and their bytes. Callers decide what is garbage: Pruner (prune.ts) plans
   * it against every snapshot's map and the snapshots being built.
   */
  remove(hashes: Iterable<BlockHash>): Promise<{ removed: number; bytes: number }>;
  /** What the store holds on disk. */
  stats(): StoreStats;
  /** Reads every stored block and reports those missing or not hashing to their name (fsck). */
  check(progress?: (done: number, total: number) => void): Promise<CheckReport>;
  /** Makes what was put durable and releases the store's files. */
  close(): Promise<void>;
  /**
   * Makes every block appended so far durable and listed, also those of
   * writers that were abandoned after an error (so a prune sees them as the
   * garbage they are). Stores that list every block at once need not have it.
   */
  flush?(): Promise<void>;
  /** Every data file on disk, by what the store knows of it (`kiln gc --dry-run`). */
  files?(): Promise<PackFiles>;
}

/** A store's files on disk: counts and bytes by state, and the names of any it cannot account for. */
export interface PackFiles {
  /** Sealed and indexed: what `stats()` counts. */
  indexed: { count: number; bytes: number };
  /** Sealed and complete, their index rows waiting for the next commit (or prune). */
  sealed: { count: number; bytes: number };
  /** Being filled or sealed (tmp/). */
  open: { count: number; bytes: number };
  /** Files the store knows nothing of (paths relative to the store's directory). */
  unknown: Array<{ file: string; bytes: number }>;
}

export interface StoreStats {
  /** Files the blocks live in (packs) and their bytes on disk. */
  packs: number;
  packBytes: number;
  blocks: number;
  /** Bytes of the stored blocks (what snapshots can refer to), and what they take in packs (compressed where that pays). */
  blockBytes: number;
  storedBytes: number;
  /** fsyncs the store made since it opened (the bench reports them per capture). */
  fsyncs: number;
}

export interface CheckReport {
  checked: number;
  /** Blocks whose bytes do not hash to their name. */
  corrupt: BlockHash[];
  /** Blocks the store lists whose bytes are gone (a pack missing or cut short). */
  missing: BlockHash[];
}

export interface WriterOptions {
  /**
   * Encrypt under this key: a name the caller chooses (the services pass the
   * owning account and the KMS key's ARN); the store keeps one data key per
   * name, made at first use. Absent: blocks are stored plain, named by SHA-256.
   */
  key?: string;
}

export interface BlockWriter {
  /** Stores `data` (1..BLOCK_SIZE bytes, RangeError otherwise) unless already stored; returns its id (its hash, or its keyed id). */
  put(data: Uint8Array): Promise<BlockHash>;
  /**
   * Stores `data` whose SHA-256 the caller was given (an upload's checksum):
   * the bytes are hashed and nothing is stored when they do not hash to
   * `hash` (BlockCorruptError). TypeError if `hash` is not a BlockHash.
   * Returns the id it is stored under: `hash`, or its keyed id when encrypted.
   */
  putHashed(hash: BlockHash, data: Uint8Array): Promise<BlockHash>;
  /**
   * Whether the block is stored under this writer's key (or plain, for a
   * writer without one), or being written so by any writer; in that case
   * this writer's commit also waits for it to be durable, so a map that
   * names it may be saved after this writer's commit. A block stored under
   * another key (or plain, for an encrypted writer) is not there for it: its
   * data must be read and put again.
   */
  has(hash: BlockHash): Promise<boolean>;
  /** Every block put (or found by `has`) so far through this writer is durable once this resolves. */
  commit(): Promise<void>;
}

/** A snapshot's content: volume size plus the non-zero blocks, by index. */
export interface BlockMap {
  sizeBytes: number;
  /** [blockIndex, hash] pairs in ascending index order. */
  blocks: Array<[number, BlockHash]>;
}

export class BlockNotFoundError extends Error {
  readonly code = 'BlockNotFound';
  constructor(readonly hash: string) { super(`block ${hash} is not in the store`); }
}

export class BlockCorruptError extends Error {
  readonly code = 'BlockCorrupt';
  constructor(readonly hash: string, readonly actual: string) {
    super(`block ${hash} is corrupt: its content hashes to ${actual}`);
  }
}

export function isBlockHash(s: string): s is BlockHash {
  return /^[0-9a-f]{64}$/.test(s);
}

/**
 * SHA-256 of `data` as a BlockHash. Synchronous on purpose: node:crypto
 * hashes the bytes in place (WebCrypto's async digest copies them first), at
 * about 1.7 GB/s with SHA extensions, i.e. ~0.3 ms per block.
 */
export function hashBlock(data: Uint8Array): BlockHash {
  return createHash('sha256').update(data).digest('hex') as BlockHash;
}

/**
 * The bytes a snapshot's blocks hold (EC2's FullSnapshotSizeInBytes): every
 * stored block is BLOCK_SIZE long but the last one of a volume whose size is
 * not a multiple of it; all-zero blocks are not stored and count nothing.
 */
export function fullSizeBytes(map: BlockMap): number {
  return map.blocks.reduce((n, [index]) => n + Math.min(BLOCK_SIZE, map.sizeBytes - index * BLOCK_SIZE), 0);
}
