/**
 * The volume pool, one suite run against every mode this host can have: copy
 * (full restores), xfs-loop (an XFS pool file Kiln makes and loop-mounts) and
 * reflink (a directory already on a reflink-capable filesystem: here, inside
 * a second XFS pool). Needs root and xfsprogs for the clone modes.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { BlockHash, BlockMap, BlockStore } from './blocks.js';
import { BLOCK_SIZE } from './blocks.js';
import { PackBlockStore } from './pack/pack-store.js';
import type { PoolMode } from './pool.js';
import { VolumePool } from './pool.js';
import { snapshotFile } from './volume-io.js';
import { skipOrFail } from '../../test/skips.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const canLoop = process.getuid?.() === 0 && await run('/usr/sbin/mkfs.xfs', ['-V']).then(() => true, () => false);
const cloneSkip = canLoop ? false : skipOrFail('the clone modes need root and mkfs.xfs (apt-get install xfsprogs)');

const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** A store that counts the blocks read from it. */
class CountingStore {
  reads = 0;
  constructor(private readonly inner: BlockStore) {}
  get(hash: BlockHash) { this.reads++; return this.inner.get(hash); }
}

let work: string;
let store: PackBlockStore;
let map: BlockMap;
let source: string;
const pools: VolumePool[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kiln-pool-'));
  store = await PackBlockStore.open(join(work, 'blocks'));
  // A 48 MiB "volume": 24 MiB of random data, holes around it.
  source = join(work, 'source.img');
  const fh = await open(source, 'w');
  await fh.truncate(48 * MiB);
  for (let i = 0; i < 24; i++) await fh.write(randomBytes(MiB), 0, MiB, (12 + i) * MiB);
  await fh.close();
  const snap = await snapshotFile(source, store);
  map = { sizeBytes: snap.sizeBytes, blocks: snap.blocks };
});

after(async () => {
  for (const p of pools.reverse()) await p.release().catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

async function openPool(mode: PoolMode, dir: string, budget?: number): Promise<VolumePool> {
  let pool: VolumePool;
  if (mode === 'copy') pool = await VolumePool.open(dir, { mode: 'copy', poolFile: `${dir}.xfs` });
  else if (mode === 'xfs-loop') pool = await VolumePool.open(dir, { mode: 'auto', poolFile: `${dir}.xfs`, sizeGiB: 2, baseBudgetBytes: budget });
  else {
    // A directory on a filesystem that already clones: inside another XFS pool.
    const outer = await VolumePool.open(`${dir}-fs`, { mode: 'auto', poolFile: `${dir}-fs.xfs`, sizeGiB: 2 });
    pools.push(outer);
    pool = await VolumePool.open(join(`${dir}-fs`, 'volumes'), { mode: 'auto', poolFile: `${dir}-unused.xfs`, baseBudgetBytes: budget });
  }
  pools.push(pool);
  assert.equal(pool.mode, mode, pool.reason);
  return pool;
}

for (const mode of ['copy', 'xfs-loop', 'reflink'] as const) {
  describe(`volume pool (${mode})`, { skip: mode === 'copy' ? false : cloneSkip }, () => {
    let pool: VolumePool;
    before(async () => { pool = await openPool(mode, join(work, mode)); });

    test('a volume holds exactly the snapshot, and is writable without touching the base or other volumes', async () => {
      const counting = new CountingStore(store);
      const a = join(pool.dir, 'a.img');
      const b = join(pool.dir, 'b.img');
      assert.equal(await pool.restore(map, counting as unknown as BlockStore, 'snap-0a', a), mode === 'copy' ? 'copy' : 'clone');
      const readsFirst = counting.reads;
      await pool.restore(map, counting as unknown as BlockStore, 'snap-0a', b);
      assert.equal(await sha(a), await sha(source));
      assert.equal(await sha(b), await sha(source));
      if (mode === 'copy') assert.equal(counting.reads, 2 * readsFirst, 'every restore reads every block');
      else assert.equal(counting.reads, readsFirst, 'the second volume of a snapshot reads nothing from the store');

      const fh = await open(a, 'r+');
      await fh.write(Buffer.alloc(MiB, 7), 0, MiB, 20 * MiB);
      await fh.close();
      assert.notEqual(await sha(a), await sha(source));
      assert.equal(await sha(b), await sha(source), 'the other volume is unchanged');
      if (mode !== 'copy') assert.deepEqual(await pool.baseSnapshots(), ['snap-0a']);
      if (mode !== 'copy') assert.equal(await sha(join(pool.dir, '.bases', 'snap-0a.img')), await sha(source), 'the base is unchanged');
    });

    // (Tests of what only clones do are not registered for the copy mode.)
    if (mode !== 'copy') test('a clone takes no space for the data it shares', async () => {
      const free = async () => { const s = await statfs(pool.dir); return s.bfree * s.bsize; };
      await pool.restore(map, store, 'snap-0a', join(pool.dir, 'warm.img')); // the base exists
      const before = await free();
      for (let i = 0; i < 5; i++) await pool.restore(map, store, 'snap-0a', join(pool.dir, `c${i}.img`));
      assert.ok(before - await free() < 4 * MiB, `5 clones of a 24 MiB volume took ${(before - await free()) / MiB} MiB`);
    });

    if (mode !== 'copy') test('bases past the budget go least recently used first; volumes made from them stay whole', async () => {
      const small = await openPool(mode, join(work, `${mode}-budget`), 30 * MiB);
      const v1 = join(small.dir, 'v1.img');
      await small.restore(map, store, 'snap-01', v1);
      await small.restore(map, store, 'snap-02', join(small.dir, 'v2.img'));
      assert.deepEqual(await small.baseSnapshots(), ['snap-02'], 'the older base went, the one just made stays');
      assert.equal(await sha(v1), await sha(source));
    });

    test('a staged copy that was stored as a snapshot becomes its base: launching it reads nothing from the store', async () => {
      if (!pool.clones) return assert.equal(await pool.adopt('snap-0c', source), false);
      const staged = join(pool.stagingDir, 'copy.img');
      await run('mkdir', ['-p', pool.stagingDir]);
      await run('cp', ['--sparse=always', '--reflink=auto', source, staged]);
      assert.equal(await pool.adopt('snap-0c', staged), true);
      const counting = new CountingStore(store);
      await pool.restore(map, counting as unknown as BlockStore, 'snap-0c', join(pool.dir, 'from-adopted.img'));
      assert.equal(counting.reads, 0);
      assert.equal(await sha(join(pool.dir, 'from-adopted.img')), await sha(source));
      // The same image in another region: its snapshot gets a clone of this base.
      assert.equal(await pool.shareBase('snap-0c', 'snap-0d'), true);
      await pool.restore(map, counting as unknown as BlockStore, 'snap-0d', join(pool.dir, 'from-shared.img'));
      assert.equal(counting.reads, 0);
      assert.equal(await sha(join(pool.dir, 'from-shared.img')), await sha(source));
    });

    if (mode !== 'copy') test('changed blocks from shared extents: random writes, overwrites, truncates, deletes and TRIMs in a mounted volume; 0 missed', { timeout: 120_000 }, async (t) => {
      // A base volume holding an ext4 filesystem with some files, stored as a snapshot.
      const seedFile = join(work, `${mode}-ext4.img`);
      await run('truncate', ['-s', '96M', seedFile]);
      await run('/usr/sbin/mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', seedFile]);
      const mnt = join(work, `${mode}-mnt`);
      await run('mkdir', ['-p', mnt]);
      const mounted = async (file: string, fn: () => Promise<void>) => {
        await run('mount', ['-o', 'loop,discard', file, mnt]);
        try { await fn(); } finally { await run('umount', [mnt]); }
      };
      const rand = (n: number) => Math.floor(Math.random() * n);
      await mounted(seedFile, async () => { for (let i = 0; i < 6; i++) await writeFile(join(mnt, `f${i}`), randomBytes(MiB + rand(4 * MiB))); });
      const snap = await snapshotFile(seedFile, store);
      const seedMap = { sizeBytes: snap.sizeBytes, blocks: snap.blocks };
      const vol = join(pool.dir, 'prop.img');
      await pool.restore(seedMap, store, 'snap-1f', vol);
      const base = join(pool.dir, '.bases', 'snap-1f.img');
      let missed = 0, extra = 0, truly = 0;
      for (let round = 0; round < 4; round++) {
        await mounted(vol, async () => {
          for (let op = 0; op < 12; op++) {
            const f = join(mnt, `f${rand(9)}`);
            const kind = rand(5);
            if (kind === 0) await writeFile(f, randomBytes(rand(3 * MiB) + 1));
            else if (kind === 1) {
              const fh = await open(f, 'a+').then(async (h) => { await h.close(); return open(f, 'r+'); });
              await fh.write(randomBytes(rand(256 * 1024) + 1), 0, undefined, rand(4 * MiB));
              await fh.close();
            } else if (kind === 2) await run('truncate', ['-s', String(rand(2 * MiB)), f]).catch(() => undefined);
            else if (kind === 3) await rm(f, { force: true });
            else await run('fstrim', [mnt]).catch(() => undefined);
          }
          await run('sync', []);
        });
        const copy = join(pool.stagingDir, `prop-${round}.img`);
        await run('mkdir', ['-p', pool.stagingDir]);
        await pool.copy(vol, copy);
        const changed = await pool.changedSince('snap-1f', copy, seedMap.sizeBytes);
        assert.ok(changed, 'the extents are known');
        const [a, b] = [await readFile(copy), await readFile(base)];
        for (let i = 0; i * BLOCK_SIZE < a.length; i++) {
          const differs = !a.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE).equals(b.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE));
          if (differs) truly++;
          if (differs && !changed.has(i)) missed++;
          if (!differs && changed.has(i)) extra++;
        }
        // And the snapshot made from the changed blocks alone is the one a full read makes.
        const incremental = await snapshotFile(copy, store, { parent: seedMap, changed });
        const full = await snapshotFile(copy, store);
        assert.deepEqual(incremental.blocks, full.blocks);
        await rm(copy);
      }
      t.diagnostic(`changed blocks: ${truly} really changed, ${missed} missed, ${extra} false positives, over 4 rounds`);
      assert.equal(missed, 0);
      assert.ok(truly > 0, 'the operations changed something');
    });

    if (mode === 'xfs-loop') test('an xfs pool is found again after it was unmounted (a host reboot)', async () => {
      await writeFile(join(pool.dir, 'kept.txt'), 'kept');
      await pool.release();
      const again = await VolumePool.open(pool.dir, { mode: 'auto', poolFile: `${pool.dir}.xfs` });
      pools.push(again);
      assert.equal(again.mode, 'xfs-loop');
      assert.equal(await readFile(join(pool.dir, 'kept.txt'), 'utf8'), 'kept');
      assert.deepEqual(await again.baseSnapshots(), ['snap-0a', 'snap-0c', 'snap-0d', 'snap-1f']);
    });
  });
}

test('auto mode on a directory that already holds volumes on a plain filesystem keeps copying, and says why', { skip: cloneSkip }, async () => {
  const dir = join(work, 'old-volumes');
  await run('mkdir', ['-p', dir]);
  await writeFile(join(dir, 'vol-0123.img'), 'x');
  const pool = await VolumePool.open(dir, { mode: 'auto', poolFile: `${dir}.xfs` });
  assert.equal(pool.mode, 'copy');
  assert.match(pool.reason, /already holds volumes/);
});

test('a loop pool opened again with a larger size grows online, its files kept', { skip: cloneSkip }, async () => {
  const dir = join(work, 'growing');
  const first = await VolumePool.open(dir, { mode: 'auto', poolFile: `${dir}.xfs`, sizeGiB: 1 });
  assert.equal(first.mode, 'xfs-loop', first.reason);
  await writeFile(join(dir, 'kept'), 'still here');
  const before = await statfs(dir);
  const again = await VolumePool.open(dir, { mode: 'auto', poolFile: `${dir}.xfs`, sizeGiB: 3 });
  assert.match(again.reason, /grown from 1\.0 to 3 GiB/);
  const after = await statfs(dir);
  assert.ok(after.blocks * after.bsize > 2.5 * before.blocks * before.bsize, `${before.blocks} -> ${after.blocks} blocks`);
  assert.equal(await readFile(join(dir, 'kept'), 'utf8'), 'still here');
  // Never shrinks.
  const smaller = await VolumePool.open(dir, { mode: 'auto', poolFile: `${dir}.xfs`, sizeGiB: 1 });
  assert.doesNotMatch(smaller.reason, /grown/);
  await again.release();
});
