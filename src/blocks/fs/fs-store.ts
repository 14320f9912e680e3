/**
 * A BlockStore in a local directory, laid out like a restic repository:
 * `<dir>/<hh>/<hash>` for blocks, `<dir>/tmp/` for writes in progress.
 * The format, and what a crash can leave behind, is in docs/block-store.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { BLOCK_SIZE, BlockCorruptError, BlockNotFoundError, hashBlock, isBlockHash } from '../blocks.js';
import type { BlockHash, BlockStore, BlockWriter } from '../blocks.js';
import { syncDir } from '../fsync.js';

const SHARD = /^[0-9a-f]{2}$/;
const SWEEP_CONCURRENCY = 16;

export class FsBlockStore implements BlockStore {
  readonly tmpDir: string;
  /** Puts in progress in this process, by hash: a second put of the same block waits for the first. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Shard directories known to exist (created and fsynced, or found). */
  private readonly shards = new Set<string>();

  /**
   * A store over `dir`; directories are created on first write. Prefer
   * `FsBlockStore.open`, which also removes temporary files a crash left.
   */
  constructor(readonly dir: string) {
    this.tmpDir = join(dir, 'tmp');
  }

  /**
   * Opens (creating if needed) the store in `dir` and deletes every file in
   * its tmp/ directory. One process serves a store directory at a time: a
   * second process opening it would delete the first one's writes in progress.
   */
  static async open(dir: string): Promise<FsBlockStore> {
    const store = new FsBlockStore(dir);
    await mkdir(store.tmpDir, { recursive: true });
    await Promise.all((await readdir(store.tmpDir)).map((name) => rm(join(store.tmpDir, name), { force: true, recursive: true })));
    return store;
  }

  /** Where a block lives (whether or not it is stored). */
  pathOf(hash: BlockHash): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  async put(data: Uint8Array): Promise<BlockHash> {
    checkSize(data);
    const hash = hashBlock(data);
    await this.putHashed(hash, data);
    return hash;
  }

  /** Every put of this store is durable when it resolves, so a writer's commit has nothing left to do. */
  writer(): BlockWriter {
    return { put: (d) => this.put(d), putHashed: (h, d) => this.putHashed(h, d), commit: async () => undefined };
  }

  putHashed(hash: BlockHash, data: Uint8Array): Promise<void> {
    if (!isBlockHash(hash)) return Promise.reject(new TypeError(`not a block hash: ${String(hash).slice(0, 80)}`));
    try {
      checkSize(data);
    } catch (err) {
      return Promise.reject(err);
    }
    const pending = this.writing.get(hash);
    if (pending) return pending;
    const p = this.write(hash, data).finally(() => this.writing.delete(hash));
    this.writing.set(hash, p);
    return p;
  }

  async get(hash: BlockHash): Promise<Buffer> {
    if (!isBlockHash(hash)) throw new BlockNotFoundError(hash);
    let data: Buffer;
    try {
      data = await readFile(this.pathOf(hash));
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new BlockNotFoundError(hash);
      throw err;
    }
    const actual = hashBlock(data);
    if (actual !== hash) throw new BlockCorruptError(hash, actual);
    return data;
  }

  async has(hash: BlockHash): Promise<boolean> {
    if (!isBlockHash(hash)) return false;
    return exists(this.pathOf(hash));
  }

  async list(): Promise<Array<{ hash: BlockHash; bytes: number }>> {
    let shards: string[];
    try {
      shards = (await readdir(this.dir)).filter((n) => SHARD.test(n));
    } catch (err) {
      if (isCode(err, 'ENOENT')) return [];
      throw err;
    }
    const out: Array<{ hash: BlockHash; bytes: number }> = [];
    for (const shard of shards) {
      const names = (await readdir(join(this.dir, shard))).filter(isBlockHash);
      await forEachLimit(names, SWEEP_CONCURRENCY, async (name) => {
        const st = await stat(join(this.dir, shard, name)).catch(() => undefined);
        if (st) out.push({ hash: name, bytes: st.size });
      });
    }
    return out;
  }

  async remove(hashes: Iterable<BlockHash>): Promise<{ removed: number; bytes: number }> {
    let removed = 0;
    let bytes = 0;
    const victims = [...hashes].filter((h) => isBlockHash(h) && !this.writing.has(h));
    // Shard directories stay: a put in flight may be about to rename into one.
    await forEachLimit(victims, SWEEP_CONCURRENCY, async (hash) => {
      const file = this.pathOf(hash);
      try {
        const { size } = await stat(file);
        await unlink(file);
        removed++;
        bytes += size;
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    });
    return { removed, bytes };
  }

  /** temp file -> fsync -> read back and verify -> rename -> fsync the shard directory. */
  private async write(hash: BlockHash, data: Uint8Array): Promise<void> {
    const final = this.pathOf(hash);
    if (await exists(final)) return;
    const shard = join(this.dir, hash.slice(0, 2));
    await this.ensureDir(shard);
    await this.ensureDir(this.tmpDir);
    const tmp = join(this.tmpDir, `${hash}.${randomBytes(6).toString('hex')}`);
    try {
      const fh = await open(tmp, 'wx+');
      try {
        await writeAll(fh, data);
        await fh.sync();
        await verifyWritten(fh, hash, data.length);
      } finally {
        await fh.close();
      }
      // Another process may have stored the same block meanwhile: rename replaces it with identical bytes.
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await syncDir(shard);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.shards.has(dir)) return;
    if (!(await exists(dir))) {
      await mkdir(dir, { recursive: true });
      // The new directory entry must be durable before blocks renamed into it are.
      await syncDir(join(dir, '..'));
    }
    this.shards.add(dir);
  }
}

function checkSize(data: Uint8Array): void {
  if (data.length < 1 || data.length > BLOCK_SIZE) {
    throw new RangeError(`a block holds 1..${BLOCK_SIZE} bytes, not ${data.length}`);
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, done);
    done += bytesWritten;
  }
}

/**
 * Buffers for reading blocks back, reused: fresh memory costs page faults
 * (and, in a VM, host faults) that show up in every put.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 16;

/** Reads the just-written file back through its descriptor and checks length and hash. */
async function verifyWritten(fh: FileHandle, hash: BlockHash, length: number): Promise<void> {
  const back = spare.pop() ?? Buffer.allocUnsafeSlow(BLOCK_SIZE + 1);
  try {
    let got = 0;
    // One byte more than written, to notice a file longer than the block.
    while (got <= length) {
      const { bytesRead } = await fh.read(back, got, length + 1 - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const actual = got === length ? hashBlock(back.subarray(0, length)) : `(${got} bytes read back, ${length} written)`;
    if (actual !== hash) throw new BlockCorruptError(hash, actual);
  } finally {
    if (spare.length < SPARE_MAX) spare.push(back);
  }
}


async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

