/**
 * The pack file format (docs/block-store.md): the blocks' bytes one after the
 * other, then a trailer that names them, then a fixed-size footer.
 *
 *   [block 0][block 1]...[trailer: JSON {"v":1,"blocks":[[hash,offset,length,size,codec],...]}]
 *   [footer: u32 LE trailer length][32 bytes SHA-256 of the trailer]["KILNPK01"]
 *
 * A pack holding encrypted blocks has a version 2 trailer, whose entries may
 * carry a sixth field, the id of the data key the block is encrypted under
 * (crypt/block-cipher.ts); a pack of plain blocks only is written as version
 * 1, as before. Both are read.
 *
 * The index (pack-index.ts) is what reads go through; the trailer is there so
 * that a pack whose index rows a crash lost can be indexed again from the pack
 * alone, and so that a pack can be checked against what it claims to hold.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { BLOCK_SIZE, isBlockHash } from '../blocks.js';
import type { BlockHash } from '../blocks.js';
import { DEFLATE, RAW } from './codec.js';
import { SEAL_OVERHEAD } from '../crypt/block-cipher.js';

export const MAGIC = Buffer.from('KILNPK01');
export const FOOTER_BYTES = 4 + 32 + MAGIC.length;
/** A trailer is at most this long (a pack holds at most a few thousand blocks). */
const MAX_TRAILER = 8 * 1024 * 1024;

/**
 * A block in a pack: `length` bytes at `offset` that decode (codec.ts) to the
 * block's `size` bytes, after decryption under data key `key` when it has one.
 */
export type PackEntry = [hash: BlockHash, offset: number, length: number, size: number, codec: number, key?: string];

const KEY_ID = /^[0-9a-f]{32}$/;

/** The trailer and footer that end a pack holding `entries`. */
export function encodeTrailer(entries: PackEntry[]): Buffer {
  const json = Buffer.from(JSON.stringify({ v: entries.some((e) => e[5] !== undefined) ? 2 : 1, blocks: entries }));
  const footer = Buffer.alloc(FOOTER_BYTES);
  footer.writeUInt32LE(json.length, 0);
  createHash('sha256').update(json).digest().copy(footer, 4);
  MAGIC.copy(footer, 36);
  return Buffer.concat([json, footer]);
}

/**
 * The entries of the pack open at `fh` (`size` bytes long), or a reason why
 * its trailer cannot be trusted: no footer (a pack cut short by a crash),
 * a trailer that does not hash to the footer's digest, entries that overlap
 * the trailer or each other, or that are not blocks.
 */
export async function readTrailer(fh: FileHandle, size: number): Promise<PackEntry[] | string> {
  if (size < FOOTER_BYTES) return `${size} bytes is too short for a pack`;
  const footer = Buffer.alloc(FOOTER_BYTES);
  await fh.read(footer, 0, FOOTER_BYTES, size - FOOTER_BYTES);
  if (!footer.subarray(36).equals(MAGIC)) return 'no pack footer';
  const length = footer.readUInt32LE(0);
  const dataEnd = size - FOOTER_BYTES - length;
  if (length > MAX_TRAILER || dataEnd < 0) return `a trailer of ${length} bytes does not fit`;
  const json = Buffer.alloc(length);
  await fh.read(json, 0, length, dataEnd);
  if (!createHash('sha256').update(json).digest().equals(footer.subarray(4, 36))) return 'the trailer does not match its digest';
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.toString());
  } catch {
    return 'the trailer is not JSON';
  }
  const { v, blocks } = parsed as { v?: unknown; blocks?: unknown };
  if ((v !== 1 && v !== 2) || !Array.isArray(blocks)) return 'not a version 1 or 2 trailer';
  let end = 0;
  for (const e of blocks as unknown[]) {
    const keyed = v === 2 && Array.isArray(e) && e.length === 6;
    if (!Array.isArray(e) || (e.length !== 5 && !keyed) || typeof e[0] !== 'string' || !isBlockHash(e[0])) return 'an entry is not [hash, offset, length, size, codec(, key)]';
    if (keyed && (typeof e[5] !== 'string' || !KEY_ID.test(e[5]))) return `entry ${e[0]} names no data key`;
    const [, offset, len, size, codec] = e as [string, number, number, number, number];
    const overhead = keyed ? SEAL_OVERHEAD : 0;
    if (!Number.isSafeInteger(size) || size < 1 || size > BLOCK_SIZE || (codec !== RAW && codec !== DEFLATE) || (codec === RAW && len !== size + overhead)) {
      return `entry ${e[0]} has a bad size or codec`;
    }
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || len < 1 + overhead || len > BLOCK_SIZE + overhead || offset < end || offset + len > dataEnd) {
      return `entry ${e[0]} (${offset}+${len}) is out of place`;
    }
    end = offset + len;
  }
  return blocks as PackEntry[];
}
