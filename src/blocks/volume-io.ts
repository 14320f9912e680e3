/**
 * Moving volume files (sparse raw files holding a filesystem) in and out of a
 * BlockStore, and taking quick point-in-time copies of them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { BLOCK_SIZE, hashBlock } from './blocks.js';
import type { BlockHash, BlockMap, BlockStore } from './blocks.js';
import { fileExtents } from './fiemap.js';
import { syncDir, syncFile } from './fsync.js';

const run = promisify(execFile);

/**
 * Blocks in flight at once. Each lane reads, checks, hashes and stores one
 * block at a time with its own reused buffer, so one lane hashes (on the main
 * thread) while the others wait for reads, writes and fsyncs on libuv's
 * thread pool. Measured on 2 cores: 8 lanes beat 4 by ~15% when most blocks
 * are new (the store's writes are latency-bound); more did not help.
 */
const LANES = 8;
const ZERO = Buffer.alloc(BLOCK_SIZE);

export interface SnapshotOptions {
  /** The snapshot the volume was made from: only used to count changed blocks. */
  parent?: BlockMap;
  /**
   * Ask the filesystem where the file's holes are (FIEMAP, through
   * e2fsprogs' `filefrag`) and not read them at all. Default true; when
   * filefrag is missing or unsupported there, the whole file is read.
   */
  skipHoles?: boolean;
  /**
   * With `parent`: the only blocks that can differ from the parent's
   * (changed-blocks.ts finds them from the extents the file shares with the
   * parent's base). The others take the parent's blocks without being read.
   */
  changed?: Set<number>;
  /**
   * Store the blocks encrypted under this key (BlockStore's WriterOptions).
   * Parent blocks stored otherwise (plain, or under another key) are read and
   * stored again under this one.
   */
  key?: string;
}

export type SnapshotResult = BlockMap & {
  /**
   * Block indexes whose content differs from the parent's at the same index
   * (a block that became all zeros counts; so does a parent block past the
   * new end of file). Without a parent: every non-zero block.
   */
  changedBlocks: number;
};

/**
 * Reads the volume file at `path` into `store` in BLOCK_SIZE blocks and
 * returns its block map. All-zero blocks (holes included) are skipped; blocks
 * the store already has are not written again. The file must not change while
 * this runs: snapshot a point-in-time copy (copySparse) of a live volume.
 */
export async function snapshotFile(path: string, store: BlockStore, opts: SnapshotOptions = {}): Promise<SnapshotResult> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const count = Math.ceil(size / BLOCK_SIZE);
    const found: Array<BlockHash | undefined> = new Array(count);
    const writer = store.writer({ key: opts.key });
    const reused = opts.changed && opts.parent ? new Map(opts.parent.blocks.filter(([i]) => i < count && !opts.changed!.has(i))) : undefined;
    for (const [index, hash] of reused ?? []) {
      // A block taken from the parent must still be stored (the parent may have been swept since).
      if (await writer.has(hash)) found[index] = hash;
      else opts.changed!.add(index);
    }
    // Through /proc, filefrag maps the very file we have open even if `path` is replaced meanwhile.
    const todo = reused ? [...opts.changed!].filter((i) => i < count).sort((a, b) => a - b)
      : (opts.skipHoles ?? true) ? await blocksWithData(`/proc/${process.pid}/fd/${fh.fd}`, size) : undefined;
    await inLanes(todo?.length ?? count, () => Buffer.allocUnsafeSlow(BLOCK_SIZE), async (i, buf) => {
      const index = todo ? todo[i] : i;
      const len = Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE);
      const data = await readAt(fh, buf, len, index * BLOCK_SIZE);
      if (data.equals(len === BLOCK_SIZE ? ZERO : ZERO.subarray(0, len))) return;
      // Even a block equal to the parent's is stored again if the parent's was swept since.
      found[index] = await writer.put(data);
    });
    await writer.commit();
    const blocks: Array<[number, BlockHash]> = [];
    found.forEach((hash, index) => hash && blocks.push([index, hash]));
    return { sizeBytes: size, blocks, changedBlocks: countChanged(blocks, opts.parent) };
  } finally {
    await fh.close();
  }
}

/**
 * Writes the volume described by `map` to `path`: a sparse file of
 * map.sizeBytes where all-zero blocks stay holes. Every block is verified on
 * the way (store.get). The file is built under a temporary name beside
 * `path`, fsynced, then renamed, so `path` is either absent, the old file, or
 * the complete new one. Throws BlockNotFoundError / BlockCorruptError.
 */
export async function restoreFile(map: BlockMap, store: BlockStore, path: string): Promise<void> {
  const tmp = tempBeside(path, 'restore');
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.truncate(map.sizeBytes);
      await inLanes(map.blocks.length, () => undefined, async (i) => {
        const [index, hash] = map.blocks[i];
        const data = await store.get(hash);
        const offset = index * BLOCK_SIZE;
        if (offset + data.length > map.sizeBytes) {
          throw new RangeError(`block ${index} (${data.length} bytes) ends past the volume's ${map.sizeBytes} bytes`);
        }
        await writeAt(fh, data, offset);
      });
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(path));
}

/**
 * The block indexes at which the file at `path` does not hold `map`: a block
 * of the map that reads differently, or a block outside it that is not all
 * zeros. A file of another size differs everywhere ([-1]). Reads only the
 * blocks the map names and those the filesystem says hold data. With
 * `store`, a block is compared by the name the store gives it (an encrypted
 * block's keyed id); without, by its SHA-256.
 */
export async function compareFile(path: string, map: BlockMap, store?: Pick<BlockStore, 'matches'>): Promise<number[]> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size !== map.sizeBytes) return [-1];
    const want = new Map(map.blocks);
    const count = Math.ceil(size / BLOCK_SIZE);
    const data = await blocksWithData(`/proc/${process.pid}/fd/${fh.fd}`, size) ?? Array.from({ length: count }, (_, i) => i);
    const todo = [...new Set([...want.keys(), ...data])].sort((a, b) => a - b);
    const bad: number[] = [];
    await inLanes(todo.length, () => Buffer.allocUnsafeSlow(BLOCK_SIZE), async (i, buf) => {
      const index = todo[i]!;
      const len = Math.min(BLOCK_SIZE, size - index * BLOCK_SIZE);
      const got = await readAt(fh, buf, len, index * BLOCK_SIZE);
      const expected = want.get(index);
      const same = expected ? (store ? await store.matches(expected, got) : hashBlock(got) === expected) : got.equals(ZERO.subarray(0, len));
      if (!same) bad.push(index);
    });
    return bad.sort((a, b) => a - b);
  } finally {
    await fh.close();
  }
}

export interface CopyOptions {
  /**
   * fsync the copy before renaming it into place, so that even a crash cannot
   * leave a partial file at `dst`. Off by default: copies are usually taken
   * while an instance is frozen and are consumed at once, so the freeze
   * should not wait for the disk.
   */
  durable?: boolean;
}

/**
 * A point-in-time copy of the volume file `src` at `dst` that keeps holes
 * (and turns all-zero runs into holes): `cp --sparse=always --reflink=auto`,
 * which shares extents instantly on filesystems that can (btrfs, xfs). The
 * copy is made under a temporary name beside `dst` and renamed, so readers
 * never see a partial copy at `dst`. The caller keeps `src` still meanwhile
 * (instance stopped or frozen).
 */
export async function copySparse(src: string, dst: string, opts: CopyOptions = {}): Promise<void> {
  const tmp = tempBeside(dst, 'copy');
  try {
    await run('cp', ['--sparse=always', '--reflink=auto', '--', src, tmp]);
    if (opts.durable) await syncFile(tmp);
    await rename(tmp, dst);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  if (opts.durable) await syncDir(dirname(dst));
}

/**
 * Runs `work(0..count-1)` on LANES concurrent lanes, each with its own state
 * (e.g. a buffer it reuses). After the first failure no lane starts new work;
 * all lanes settle before the first error is thrown, so nothing still uses
 * the caller's resources (file handles) when it closes them.
 */
async function inLanes<S>(count: number, state: () => S, work: (index: number, state: S) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    const s = state();
    while (!failed && next < count) {
      try {
        await work(next++, s);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(LANES, count) }, lane));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

/**
 * Indexes of the BLOCK_SIZE blocks of the file at `path` (`size` bytes long)
 * that overlap any extent the filesystem maps, from FIEMAP as `filefrag`
 * reports it (delayed-allocation and unwritten extents included), or
 * undefined when that is not available (tmpfs, no e2fsprogs, no /proc) or
 * the report is not whole (fiemap.ts).
 */
export async function blocksWithData(path: string, size: number): Promise<number[] | undefined> {
  const extents = await fileExtents(path);
  if (!extents) return undefined;
  const perBlock = BLOCK_SIZE / 512;
  const blocks = new Set<number>();
  for (const e of extents) {
    const last = Math.min(Math.floor((e.logical + e.length - 1) / perBlock), Math.ceil(size / BLOCK_SIZE) - 1);
    for (let b = Math.floor(e.logical / perBlock); b <= last; b++) blocks.add(b);
  }
  return [...blocks].sort((a, b) => a - b);
}

function countChanged(blocks: Array<[number, BlockHash]>, parent?: BlockMap): number {
  if (!parent) return blocks.length;
  const before = new Map(parent.blocks);
  let changed = 0;
  for (const [index, hash] of blocks) {
    if (before.get(index) !== hash) changed++;
    before.delete(index);
  }
  // What remains in `before` was non-zero in the parent and is zero (or gone) now.
  return changed + before.size;
}

/** Reads exactly `len` bytes at `offset` into `buf` (a short file reads as zeros past its end). */
async function readAt(fh: FileHandle, buf: Buffer, len: number, offset: number): Promise<Buffer> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
    if (bytesRead === 0) {
      buf.fill(0, got, len);
      break;
    }
    got += bytesRead;
  }
  return buf.subarray(0, len);
}

async function writeAt(fh: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}

/** A unique name in `path`'s directory (same filesystem, so rename is atomic). */
function tempBeside(path: string, what: 'restore' | 'copy'): string {
  return join(dirname(path), `.${basename(path)}.${what}-${randomBytes(6).toString('hex')}`);
}

const TEMP_NAME = /^\..+\.(restore|copy)-[0-9a-f]{12}$/;

/**
 * Removes the temporary files restoreFile and copySparse leave in `dir` when
 * the process dies mid-way; returns how many. It cannot tell those from
 * temporary files still being written, so call it at startup, before any
 * restore or copy into `dir` begins.
 */
export async function removeTempFiles(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  const stale = names.filter((n) => TEMP_NAME.test(n));
  await Promise.all(stale.map((n) => rm(join(dir, n), { force: true })));
  return stale.length;
}


