/**
 * How a block is kept in a pack: raw, or deflated where that pays. Node 20's
 * zlib has deflate but not zstd (zstd arrives in node:zlib with 22.15); the
 * codec number in each pack entry lets zstd be added beside it. Compression
 * runs on libuv's thread pool (async zlib), not on the thread that hashes.
 *
 * Most blocks of a volume are either incompressible (packages, compressed
 * files, random data) or very compressible (filesystem metadata: inode
 * tables, bitmaps, directories, half-empty blocks). The byte entropy of a
 * 16 KiB sample decides cheaply which (deflating incompressible data is the
 * slow case: ~20 MB/s here, while counting bytes costs microseconds): a block
 * is deflated only when its sample has under 7 bits of entropy per byte, and
 * kept deflated only when the whole shrinks to under 7/8.
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
  if (data.length <= SAMPLE || sampledEntropy(data) > 7) return { codec: RAW, bytes: data };
  const whole = await deflate(data, { level: 1 });
  return whole.length < data.length * 0.875 ? { codec: DEFLATE, bytes: whole } : { codec: RAW, bytes: data };
}

/** The entropy of 8 slices of 2 KiB spread over the block: a block only partly compressible still shows it. */
function sampledEntropy(data: Uint8Array): number {
  const counts = new Uint32Array(256);
  const slice = SAMPLE / 8;
  for (let k = 0; k < 8; k++) {
    const at = Math.floor((data.length - slice) * k / 7);
    for (let i = at; i < at + slice; i++) counts[data[i]!]!++;
  }
  return entropyOf(counts, SAMPLE);
}

/** Shannon entropy, in bits per byte (8: random; 0: one value repeated), of `n` bytes counted in `counts`. */
function entropyOf(counts: Uint32Array, n: number): number {
  let bits = 0;
  for (const c of counts) if (c) bits -= (c / n) * Math.log2(c / n);
  return bits;
}

/** The block's bytes from what was stored (callers verify the hash). */
export async function decodeBlock(codec: number, stored: Buffer, size: number): Promise<Buffer> {
  if (codec === RAW) return stored;
  if (codec !== DEFLATE) throw new Error(`unknown block codec ${codec}`);
  // A damaged stream that inflates to more than a block is cut off: its hash will not match.
  return inflate(stored, { maxOutputLength: Math.max(size, 1) }).catch(() => Buffer.alloc(0));
}
