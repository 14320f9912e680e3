/**
 * How a block is kept in a pack: raw, or deflated where that pays. Node 20's
 * zlib has deflate but not zstd (zstd arrives in node:zlib with 22.15); the
 * codec number in each pack entry lets zstd be added beside it. Compression
 * runs on libuv's thread pool (async zlib), not on the thread that hashes.
 *
 * Most blocks of a volume are either incompressible (packages, compressed
 * files, random data) or very compressible (filesystem metadata: inode
 * tables, bitmaps, directories, half-empty blocks). A 16 KiB sample decides
 * cheaply which: a block is deflated whole only when its sample shrinks to
 * under 3/4, and kept deflated only when the whole shrinks to under 7/8.
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';

export const RAW = 0;
export const DEFLATE = 1;
export type Codec = typeof RAW | typeof DEFLATE;

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);
const SAMPLE = 16 * 1024;

/** The bytes to store for `data`, and how they are encoded. */
export async function encodeBlock(data: Uint8Array): Promise<{ codec: Codec; bytes: Uint8Array }> {
  if (data.length <= SAMPLE) return { codec: RAW, bytes: data };
  const sample = await deflate(data.subarray(0, SAMPLE), { level: 1 });
  if (sample.length > SAMPLE * 0.75) return { codec: RAW, bytes: data };
  const whole = await deflate(data, { level: 1 });
  return whole.length < data.length * 0.875 ? { codec: DEFLATE, bytes: whole } : { codec: RAW, bytes: data };
}

/** The block's bytes from what was stored (callers verify the hash). */
export async function decodeBlock(codec: number, stored: Buffer, size: number): Promise<Buffer> {
  if (codec === RAW) return stored;
  if (codec !== DEFLATE) throw new Error(`unknown block codec ${codec}`);
  // A damaged stream that inflates to more than a block is cut off: its hash will not match.
  return inflate(stored, { maxOutputLength: Math.max(size, 1) }).catch(() => Buffer.alloc(0));
}
