/**
 * The volume pool: where volume files live, on a filesystem that can clone a
 * file without copying its data (a reflink), so a volume made from a snapshot
 * costs the same whatever the image's size.
 *
 * Modes, found at open:
 *   reflink   the volumes directory is on a reflink-capable filesystem (XFS
 *             with reflink=1, btrfs): used as it is.
 *   xfs-loop  it is not, and Kiln may make one: an XFS filesystem
 *             (`mkfs.xfs -m reflink=1`) in a sparse pool file in the data
 *             directory, loop-mounted at the volumes directory (mounted again
 *             at the next start; it stays mounted while the server is down,
 *             as instances keep running over its files).
 *   copy      neither (no xfsprogs, not root, volumes already stored on the
 *             plain filesystem): every volume is written out in full, as
 *             before. `reason` says why.
 *
 * With reflinks, each snapshot launched on this host has one base file,
 * `.bases/<snapshot id>.img` beside the volumes: built once from the block
 * store (every block verified on the way), renamed into place complete,
 * read-only. A volume from that snapshot is a reflink clone of its base
 * (`copyFile` with COPYFILE_FICLONE_FORCE), fsynced, renamed into place. A
 * clone owns its extents once written, and shares the rest by reference
 * count, so removing a base never touches a volume made from it: bases are
 * evicted least recently used past a byte budget.
 *
 * Captures: the point-in-time copy of a volume is a clone too (`copy`,
 * instant, so a no-reboot capture freezes the instance for milliseconds);
 * the blocks that can differ from the volume's parent snapshot are found
 * from the extents the copy still shares with the parent's base
 * (`changedSince`, changed-blocks.ts), and only those are read and hashed;
 * then the copy becomes the new snapshot's base (`adopt`).
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, rename, rm, stat, statfs, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { exists, findExecutable, loopBackingFile, mountAt } from '../lib/host-files.js';
import { KeyedMutex } from '../lib/keyed-mutex.js';
import type { BlockMap, BlockStore } from './blocks.js';
import { syncDir, syncFile } from './fsync.js';
import { compareFile, copySparse, restoreFile } from './volume-io.js';
import { changedBlocks } from './changed-blocks.js';

const run = promisify(execFile);

export type PoolMode = 'reflink' | 'xfs-loop' | 'copy';

export interface PoolOptions {
  /** 'auto': reflinks where the filesystem has them, else an XFS pool file where Kiln can make one; 'copy': never. */
  mode: 'auto' | 'copy';
  /** The pool file (xfs-loop), e.g. <data>/volumes.xfs. */
  poolFile: string;
  /** The pool file's size (sparse: only what is written takes space). Default: 90% of the free space, at most 1 TiB. */
  sizeGiB?: number;
  /** Bytes the base files may take before the least recently used go. Default 16 GiB. */
  baseBudgetBytes?: number;
}

const GIB = 1024 ** 3;
const BASES = '.bases';
const PROBE = '.reflink-probe';

export class VolumePool {
  private readonly bases = new KeyedMutex();

  private constructor(
    /** The volumes directory. */
    readonly dir: string,
    readonly mode: PoolMode,
    /** Why the mode is what it is (for `kiln doctor`, the log and the bench). */
    readonly reason: string,
    private readonly budget: number,
  ) {}

  /** Finds (or, in auto mode, makes) the pool for the volumes directory `dir`. */
  static async open(dir: string, opts: PoolOptions): Promise<VolumePool> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const budget = opts.baseBudgetBytes ?? 16 * GIB;
    if (opts.mode === 'copy') return new VolumePool(dir, 'copy', 'reflink clones are off (pool mode copy)', budget);
    if (await mountedAt(dir) === opts.poolFile) {
      return new VolumePool(dir, 'xfs-loop', `XFS pool ${opts.poolFile}, mounted${await growLoopPool(dir, opts)}`, budget);
    }
    if (await canReflink(dir)) return new VolumePool(dir, 'reflink', `${dir} is on a reflink-capable filesystem`, budget);
    // A pool file that exists but does not mount stops the start: its volumes are in it.
    const poolExists = await exists(opts.poolFile);
    const why = await makeLoopPool(dir, opts).catch((err: Error) => {
      if (poolExists) throw new Error(`the volume pool ${opts.poolFile} holds this server's volumes but does not mount at ${dir}: ${err.message}`);
      return err.message;
    });
    if (why) return new VolumePool(dir, 'copy', why, budget);
    return new VolumePool(dir, 'xfs-loop', `XFS pool ${opts.poolFile}, loop-mounted at ${dir}${await growLoopPool(dir, opts)}`, budget);
  }

  /** What `open` in auto mode would find or make for `dir`, without making or mounting anything (`kiln doctor`). */
  static async predict(dir: string, poolFile: string): Promise<{ mode: PoolMode; reason: string }> {
    if (await exists(dir) && await mountedAt(dir) === poolFile) return { mode: 'xfs-loop', reason: `XFS pool ${poolFile} is mounted at ${dir}` };
    let probeDir = dir;
    while (!(await exists(probeDir))) probeDir = join(probeDir, '..');
    if (await canReflink(probeDir)) return { mode: 'reflink', reason: `${probeDir} is on a reflink-capable filesystem` };
    if (process.getuid?.() !== 0) return { mode: 'copy', reason: 'not root: no XFS pool can be mounted' };
    if (!(await findExecutable('mkfs.xfs'))) return { mode: 'copy', reason: 'mkfs.xfs is missing (apt-get install xfsprogs)' };
    return { mode: 'xfs-loop', reason: `${await exists(poolFile) ? 'the' : 'kiln serve makes an'} XFS pool file ${poolFile}, loop-mounted at ${dir}` };
  }

  /**
   * The pool's filesystem: its size, and the bytes volumes can still take
   * (for an XFS pool file, also bounded by the free space of the host's
   * filesystem beneath the sparse pool file).
   */
  async space(): Promise<{ sizeBytes: number; freeBytes: number }> {
    const fs = await statfs(this.dir);
    let freeBytes = fs.bavail * fs.bsize;
    const backing = this.mode === 'xfs-loop' ? await mountedAt(this.dir) : undefined;
    if (backing) freeBytes = Math.min(freeBytes, await statfs(join(backing, '..')).then((h) => h.bavail * h.bsize));
    return { sizeBytes: fs.blocks * fs.bsize, freeBytes };
  }

  get clones(): boolean {
    return this.mode !== 'copy';
  }

  /**
   * Writes the volume of `map` at `dst` (a temporary name the caller renames):
   * a clone of the snapshot's base where the pool clones, else a full restore.
   */
  async restore(map: BlockMap, store: BlockStore, snapshotId: string | undefined, dst: string): Promise<'clone' | 'copy'> {
    if (!this.clones || !snapshotId) {
      await restoreFile(map, store, dst);
      return 'copy';
    }
    // A concurrent build of another snapshot's base may evict this one between the two steps: once more, then.
    for (let attempt = 0; ; attempt++) {
      const base = await this.base(snapshotId, map, store);
      const cloned = await copyFile(base, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT' || attempt > 0) throw err;
        return false;
      });
      if (cloned) break;
    }
    await chmod(dst, 0o600);
    await syncFile(dst);
    return 'clone';
  }

  /** The snapshot's base file, built now if this host has none (one build per snapshot at a time). */
  async base(snapshotId: string, map: BlockMap, store: BlockStore): Promise<string> {
    if (!/^snap-[0-9a-f]+$/.test(snapshotId)) throw new Error(`invalid snapshot id for a base file: ${snapshotId}`);
    const file = join(this.dir, BASES, `${snapshotId}.img`);
    return this.bases.run(snapshotId, async () => {
      const now = new Date();
      if (await exists(file)) {
        await utimes(file, now, now); // most recently used
        return file;
      }
      await mkdir(join(this.dir, BASES), { recursive: true, mode: 0o700 });
      await restoreFile(map, store, file); // verified block by block; complete or absent under this name
      await chmod(file, 0o400);
      await this.evict(file);
      return file;
    });
  }

  /** Removes the least recently used bases until they fit the budget; never `keep`. */
  private async evict(keep: string): Promise<void> {
    const dir = join(this.dir, BASES);
    const bases = await Promise.all((await readdir(dir)).filter((n) => n.endsWith('.img')).map(async (n) => {
      const st = await stat(join(dir, n));
      return { file: join(dir, n), bytes: st.blocks * 512, used: st.mtimeMs };
    }));
    let total = bases.reduce((a, b) => a + b.bytes, 0);
    for (const b of bases.sort((x, y) => x.used - y.used)) {
      if (total <= this.budget) break;
      if (b.file === keep) continue;
      await rm(b.file, { force: true });
      total -= b.bytes;
    }
  }

  /**
   * Where point-in-time copies of volumes are taken (captures, snapshots):
   * in the pool, so the copy is a clone (instant, whatever the volume's size)
   * and can become the new snapshot's base. Emptied at each start.
   */
  get stagingDir(): string {
    return this.clones ? join(this.dir, '.staging') : '';
  }

  /**
   * A point-in-time copy of the volume file `src` at `dst`: a reflink clone
   * where the pool clones (no data read or written), else a sparse copy.
   * The caller keeps `src` still meanwhile (instance stopped or frozen).
   */
  async copy(src: string, dst: string): Promise<void> {
    if (!this.clones) return copySparse(src, dst);
    await copyFile(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
  }

  /**
   * `file` holds exactly the snapshot's data (it was just stored from it):
   * it becomes the snapshot's base, so launching the new image is a clone
   * too. A no-op (false) without clones, or when `file` is on another
   * filesystem; the caller removes it then.
   */
  async adopt(snapshotId: string, file: string): Promise<boolean> {
    if (!this.clones || !/^snap-[0-9a-f]+$/.test(snapshotId)) return false;
    const base = join(this.dir, BASES, `${snapshotId}.img`);
    return this.bases.run(snapshotId, async () => {
      await mkdir(join(this.dir, BASES), { recursive: true, mode: 0o700 });
      await chmod(file, 0o400);
      await syncFile(file).catch(() => undefined);
      const moved = await rename(file, base).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'EXDEV') return false;
        throw err;
      });
      if (moved) {
        await syncDir(join(this.dir, BASES));
        await this.evict(base);
      }
      return moved;
    });
  }

  /**
   * The blocks of `file` (a point-in-time copy of a volume cloned from the
   * base of `parent`, whose data is `parentSize` bytes) that may differ
   * from that snapshot, from the extents the two share; undefined when this
   * host has no such base or cannot tell (then every block is read).
   */
  async changedSince(parent: string, file: string, parentSize: number): Promise<Set<number> | undefined> {
    if (!this.clones || !/^snap-[0-9a-f]+$/.test(parent)) return undefined;
    const base = join(this.dir, BASES, `${parent}.img`);
    const size = await stat(file).then((s) => s.size, () => -1);
    if (size < 0 || !(await exists(base))) return undefined;
    return changedBlocks(file, base, size, parentSize);
  }

  /** Gives snapshot `to`, whose data is `from`'s (the same image in another region), a clone of `from`'s base. */
  async shareBase(from: string, to: string): Promise<boolean> {
    const src = join(this.dir, BASES, `${from}.img`);
    if (!this.clones || !(await exists(src))) return false;
    await mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.stagingDir, `.${to}.share-${process.pid}-${Date.now()}`);
    await this.copy(src, tmp);
    return this.adopt(to, tmp).finally(() => rm(tmp, { force: true }));
  }

  /** Removes the snapshot's base (its data changed, or it is deleted); volumes cloned from it keep theirs. */
  async forget(snapshotId: string): Promise<void> {
    if (!/^snap-[0-9a-f]+$/.test(snapshotId)) return;
    await this.bases.run(snapshotId, () => rm(join(this.dir, BASES, `${snapshotId}.img`), { force: true }));
  }

  /**
   * Checks the snapshot's base file, if this host has one, against its map:
   * undefined without a base, else the block indexes where it differs ([] when sound).
   */
  async checkBase(snapshotId: string, map: BlockMap, store?: BlockStore): Promise<number[] | undefined> {
    if (!/^snap-[0-9a-f]+$/.test(snapshotId)) return undefined;
    const file = join(this.dir, BASES, `${snapshotId}.img`);
    return this.bases.run(snapshotId, async () => (await exists(file)) ? compareFile(file, map, store) : undefined);
  }

  /** The base files there are (snapshot ids), for tests and reports. */
  async baseSnapshots(): Promise<string[]> {
    const names = await readdir(join(this.dir, BASES)).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith('.img')).map((n) => n.slice(0, -4)).sort();
  }

  /**
   * Unmounts a loop pool (tests, after their instances are gone). A server
   * leaves it mounted: instances run over its files while the server is down.
   */
  async release(): Promise<void> {
    if (this.mode === 'xfs-loop') await run('umount', [this.dir]);
  }
}

/** Whether files in `dir` can be cloned (FICLONE). */
async function canReflink(dir: string): Promise<boolean> {
  const probe = join(dir, PROBE);
  try {
    const fh = await open(probe, 'w', 0o600);
    await fh.write(Buffer.alloc(4096, 1));
    await fh.close();
    await copyFile(probe, `${probe}.clone`, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
    await rm(`${probe}.clone`, { force: true });
  }
}

/** The backing file of the loop device mounted at `dir`, if one is. */
async function mountedAt(dir: string): Promise<string | undefined> {
  const mount = await mountAt(dir);
  return mount && loopBackingFile(mount.majorMinor);
}

/**
 * Grows a mounted pool file to `opts.sizeGiB` when it is smaller (it never
 * shrinks): the file, then the loop device's size, then XFS, online. Returns
 * what it did, for the pool's reason ('' when nothing).
 */
async function growLoopPool(dir: string, opts: PoolOptions): Promise<string> {
  const want = (opts.sizeGiB ?? 0) * GIB;
  const { size } = await stat(opts.poolFile);
  if (want <= size) return '';
  const growfs = await findExecutable('xfs_growfs');
  if (!growfs) return `; not grown to ${opts.sizeGiB} GiB: xfs_growfs is missing`;
  await truncate(opts.poolFile, want);
  await run('losetup', ['-c', await loopDevice(opts.poolFile)]);
  await run(growfs, ['-d', dir]);
  return `; grown from ${(size / GIB).toFixed(1)} to ${opts.sizeGiB} GiB`;
}

/** The loop device backed by `file`. */
async function loopDevice(file: string): Promise<string> {
  const { stdout } = await run('losetup', ['-j', file]);
  const device = stdout.split(':')[0]!;
  if (!device.startsWith('/dev/loop')) throw new Error(`no loop device for ${file}`);
  return device;
}

/** Makes (first time) and mounts the XFS pool file at `dir`; resolves with why it could not, or undefined. */
async function makeLoopPool(dir: string, opts: PoolOptions): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not root: no XFS pool can be mounted';
  const mkfsXfs = await findExecutable('mkfs.xfs');
  if (!mkfsXfs) return 'mkfs.xfs is missing: volumes are copied in full (apt-get install xfsprogs for reflink clones)';
  if (!(await exists(opts.poolFile))) {
    const entries = (await readdir(dir)).filter((n) => n !== PROBE);
    if (entries.length) return `${dir} already holds volumes on a filesystem without reflinks: they stay there, copied in full`;
    const free = await statfs(join(opts.poolFile, '..')).then((s) => s.bavail * s.bsize);
    const size = opts.sizeGiB ? opts.sizeGiB * GIB : Math.min(1024 * GIB, Math.floor(free * 0.9 / GIB) * GIB);
    if (size < GIB) return `too little free space for an XFS pool beside ${opts.poolFile}`;
    const tmp = `${opts.poolFile}.tmp-${process.pid}`;
    try {
      const fh = await open(tmp, 'wx', 0o600);
      await fh.truncate(size);
      await fh.close();
      await run(mkfsXfs, ['-q', '-m', 'reflink=1', tmp]);
      await rename(tmp, opts.poolFile);
      await syncDir(join(opts.poolFile, '..'));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
  // discard: space XFS frees (deleted volumes, TRIM inside instances) goes back to the host's filesystem.
  await run('mount', ['-o', 'loop,discard', opts.poolFile, dir]);
  // Direct I/O to the pool file: the host's page cache does not hold every block twice (in the pool's files and in
  // the pool file), and reading a capture's clone, whose pages are not cached yet, goes ~1.5x faster (measured here).
  await run('losetup', ['--direct-io=on', await loopDevice(opts.poolFile)]).catch(() => undefined);
  return (await canReflink(dir)) ? undefined : `the XFS pool at ${dir} does not clone files`;
}
