/**
 * The block store: content-addressed storage for snapshot data.
 *
 * A snapshot is a map from block index to block hash; a block is at most
 * BLOCK_SIZE bytes of a volume, named by the SHA-256 of its bytes (lower-case
 * hex). All-zero blocks are never stored: a snapshot simply has no entry for
 * them. Two snapshots of nearly the same volume therefore share every
 * unchanged block on disk (incremental by construction).
 *
 * Implementations (one folder each, e.g. blocks/fs/) must:
 *  - make `put` atomic: a crash never leaves a partial block under its final
 *    name (write to a temporary name, fsync, rename);
 *  - re-verify a block after writing it;
 *  - verify the hash of every block they return from `get` and throw
 *    BlockCorruptError on mismatch, BlockNotFoundError when absent.
 * The on-disk format of each implementation is written down in docs/.
 */

/** SHA-256 of a block's bytes, 64 lower-case hex characters. */
export type BlockHash = string & { readonly __brand: 'BlockHash' };

/** 512 KiB, as EBS direct APIs report (BlockSize 524288). */
export const BLOCK_SIZE = 512 * 1024;

export interface BlockStore {
  /** Stores `data` (1..BLOCK_SIZE bytes) and returns its hash. Idempotent: storing an existing block is cheap. */
  put(data: Uint8Array): Promise<BlockHash>;
  /** Stores `data` whose hash the caller has already computed (skips re-hashing before the write; still verifies after). */
  putHashed(hash: BlockHash, data: Uint8Array): Promise<void>;
  /** Returns the block's bytes after checking they hash to `hash`. */
  get(hash: BlockHash): Promise<Buffer>;
  has(hash: BlockHash): Promise<boolean>;
  /** Removes every stored block not in `live`; returns how many were removed. */
  sweep(live: ReadonlySet<BlockHash>): Promise<number>;
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
