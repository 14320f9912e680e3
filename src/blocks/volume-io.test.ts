import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDirs } from '../../test/temp.js';
import { BLOCK_SIZE, BlockCorruptError, BlockNotFoundError } from './blocks.js';
import type { BlockHash, BlockMap } from './blocks.js';
import { PackBlockStore } from './pack/pack-store.js';
import { blocksWithData, copySparse, removeTempFiles, restoreFile, snapshotFile } from './volume-io.js';

const MiB = 1024 * 1024;
const workDir = tempDirs('kiln-volume-io-');

/** A sparse file of `size` bytes with `writes` (byte offset -> bytes) written into it. */
async function makeFile(path: string, size: number, writes: Array<[number, Buffer]>): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.truncate(size);
    for (const [at, data] of writes) await fh.write(data, 0, data.length, at);
  } finally {
    await fh.close();
  }
}

async function patch(path: string, at: number, data: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(data, 0, data.length, at);
  } finally {
    await fh.close();
  }
}


const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
const indexes = (map: BlockMap) => map.blocks.map(([i]) => i);

describe('snapshotFile', () => {
  test('stores only non-zero blocks, holes and written zeros alike', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'vol.img');
    await makeFile(vol, 8 * BLOCK_SIZE, [
      [1 * BLOCK_SIZE + 10, randomBytes(100)],
      [3 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE)],
      [5 * BLOCK_SIZE, randomBytes(BLOCK_SIZE)],
    ]);
    for (const skipHoles of [true, false]) {
      const map = await snapshotFile(vol, store, { skipHoles });
      assert.equal(map.sizeBytes, 8 * BLOCK_SIZE);
      assert.deepEqual(indexes(map), [1, 5]);
      assert.equal(map.changedBlocks, 2);
    }
    assert.equal(store.stats().blocks, 2);
  });

  test('an all-zero file has no blocks', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'empty.img');
    await makeFile(vol, 64 * MiB, []);
    const map = await snapshotFile(vol, store);
    assert.deepEqual(map, { sizeBytes: 64 * MiB, blocks: [], changedBlocks: 0 });
  });

  test('two snapshots of nearly the same file share all but the changed blocks', async () => {
    const dir = await workDir();
    const blocksDir = join(dir, 'blocks');
    const store = await PackBlockStore.open(blocksDir);
    const a = join(dir, 'a.img');
    const b = join(dir, 'b.img');
    await makeFile(a, 16 * BLOCK_SIZE, [0, 2, 3, 7, 8, 15].map((i) => [i * BLOCK_SIZE, randomBytes(BLOCK_SIZE)]));
    await copyFile(a, b);
    await patch(b, 7 * BLOCK_SIZE + 4096, randomBytes(1));
    const first = await snapshotFile(a, store);
    assert.equal(store.stats().blocks, 6);
    const second = await snapshotFile(b, store, { parent: first });
    assert.equal(store.stats().blocks, 7);
    assert.equal(second.changedBlocks, 1);
    const differ = second.blocks.filter(([i, h], k) => first.blocks[k][0] !== i || first.blocks[k][1] !== h);
    assert.deepEqual(differ.map(([i]) => i), [7]);
  });

  test('changedBlocks counts blocks that differ from the parent, zeroed ones included', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'vol.img');
    await makeFile(vol, 10 * BLOCK_SIZE, [1, 2, 3, 4].map((i) => [i * BLOCK_SIZE, randomBytes(BLOCK_SIZE)]));
    const parent = await snapshotFile(vol, store);
    assert.equal(parent.changedBlocks, 4);
    assert.equal((await snapshotFile(vol, store, { parent })).changedBlocks, 0);
    await patch(vol, 2 * BLOCK_SIZE, randomBytes(10));
    await patch(vol, 4 * BLOCK_SIZE, Buffer.alloc(BLOCK_SIZE));
    await patch(vol, 9 * BLOCK_SIZE, randomBytes(10));
    const child = await snapshotFile(vol, store, { parent });
    assert.deepEqual(indexes(child), [1, 2, 3, 9]);
    assert.equal(child.changedBlocks, 3);
  });

  test('identical blocks at several indexes are stored once', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'vol.img');
    const same = randomBytes(BLOCK_SIZE);
    await makeFile(vol, 20 * BLOCK_SIZE, Array.from({ length: 20 }, (_, i) => [i * BLOCK_SIZE, same]));
    const map = await snapshotFile(vol, store);
    assert.equal(map.blocks.length, 20);
    assert.equal(new Set(map.blocks.map(([, h]) => h)).size, 1);
    assert.equal(store.stats().blocks, 1);
  });
});

describe('restoreFile', () => {
  test('restores a byte-identical file whose zero blocks are holes', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'vol.img');
    const size = 64 * MiB;
    await makeFile(vol, size, [[0, randomBytes(BLOCK_SIZE)], [40 * MiB + 123, randomBytes(3 * BLOCK_SIZE)]]);
    const map = await snapshotFile(vol, store);
    const out = join(dir, 'restored.img');
    await writeFile(out, 'an older volume file at the same path');
    await restoreFile(map, store, out);
    const st = await stat(out);
    assert.equal(st.size, size);
    assert.equal(await sha(out), await sha(vol));
    assert.ok(st.blocks * 512 < size / 8, `restored file uses ${st.blocks * 512} bytes of ${size}`);
    assert.deepEqual((await readdir(dir)).sort(), ['blocks', 'restored.img', 'vol.img']);
  });

  test('a file whose size is not a multiple of the block size', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'odd.img');
    const size = 3 * BLOCK_SIZE + 1234;
    await makeFile(vol, size, [[BLOCK_SIZE - 5, randomBytes(10)], [size - 1000, randomBytes(1000)]]);
    for (const skipHoles of [true, false]) {
      const map = await snapshotFile(vol, store, { skipHoles });
      assert.equal(map.sizeBytes, size);
      assert.deepEqual(indexes(map), [0, 1, 3]);
      assert.equal((await store.get(map.blocks[2][1])).length, 1234);
      const out = join(dir, `restored-${skipHoles}.img`);
      await restoreFile(map, store, out);
      assert.equal((await stat(out)).size, size);
      assert.equal(await sha(out), await sha(vol));
    }
  });

  test('a missing or corrupt block fails the restore and leaves nothing behind', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const vol = join(dir, 'vol.img');
    await makeFile(vol, 4 * BLOCK_SIZE, [[0, randomBytes(BLOCK_SIZE)], [2 * BLOCK_SIZE, randomBytes(BLOCK_SIZE)]]);
    const map = await snapshotFile(vol, store);
    const out = join(dir, 'out.img');
    const missing: BlockMap = { ...map, blocks: [...map.blocks, [3, 'f'.repeat(64) as BlockHash]] };
    await assert.rejects(restoreFile(missing, store, out), BlockNotFoundError);
    const at = store.locate(map.blocks[1][1])!;
    const bytes = await readFile(at.path);
    bytes[at.offset] ^= 1;
    await writeFile(at.path, bytes);
    await assert.rejects(restoreFile(map, store, out), BlockCorruptError);
    assert.deepEqual((await readdir(dir)).sort(), ['blocks', 'vol.img']);
  });

  test('a block past the end of the volume is refused', async () => {
    const dir = await workDir();
    const store = await PackBlockStore.open(join(dir, 'blocks'));
    const hash = await store.put(randomBytes(BLOCK_SIZE));
    await assert.rejects(restoreFile({ sizeBytes: BLOCK_SIZE, blocks: [[1, hash]] }, store, join(dir, 'x.img')), RangeError);
  });
});

describe('copySparse', () => {
  test('copies content, keeps holes, and replaces the destination whole', async () => {
    const dir = await workDir();
    const src = join(dir, 'src.img');
    const dst = join(dir, 'dst.img');
    const size = 64 * MiB;
    await makeFile(src, size, [[5 * MiB, randomBytes(MiB)]]);
    await writeFile(dst, 'old');
    await copySparse(src, dst);
    const st = await stat(dst);
    assert.equal(st.size, size);
    assert.equal(await sha(dst), await sha(src));
    assert.ok(st.blocks * 512 < 4 * MiB);
    await copySparse(src, join(dir, 'durable.img'), { durable: true });
    assert.equal(await sha(join(dir, 'durable.img')), await sha(src));
    assert.deepEqual((await readdir(dir)).sort(), ['dst.img', 'durable.img', 'src.img']);
  });

  test('a failed copy leaves no temporary file', async () => {
    const dir = await workDir();
    await assert.rejects(copySparse(join(dir, 'absent.img'), join(dir, 'dst.img')));
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('helpers', () => {
  test('blocksWithData lists the blocks that hold extents (when FIEMAP is available)', async (t) => {
    const dir = await workDir();
    const vol = join(dir, 'vol.img');
    await makeFile(vol, 32 * BLOCK_SIZE, [[3 * BLOCK_SIZE + 8192, randomBytes(4096)], [10 * BLOCK_SIZE - 4096, randomBytes(8192)]]);
    const found = await blocksWithData(vol, 32 * BLOCK_SIZE);
    if (!found) return t.skip('filefrag or FIEMAP is not available here');
    assert.deepEqual(found, [3, 9, 10]);
  });

  test('removeTempFiles removes what an interrupted restore or copy left', async () => {
    const dir = await workDir();
    await writeFile(join(dir, '.vol-1.img.restore-0123456789ab'), '');
    await writeFile(join(dir, '.vol-2.img.copy-ba9876543210'), '');
    await writeFile(join(dir, 'vol-3.img'), '');
    assert.equal(await removeTempFiles(dir), 2);
    assert.deepEqual(await readdir(dir), ['vol-3.img']);
    assert.equal(await removeTempFiles(join(dir, 'absent')), 0);
  });
});
