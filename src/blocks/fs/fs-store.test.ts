import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDirs } from '../../../test/temp.js';
import { BlockCorruptError } from '../blocks.js';
import type { BlockHash } from '../blocks.js';
import { blockStoreSuite } from '../store-suite.js';
import { FsBlockStore } from './fs-store.js';

const tempDir = tempDirs('kiln-fs-store-');

/** Every file under the store's shard directories. */
async function blockFiles(dir: string): Promise<string[]> {
  const shards = (await readdir(dir)).filter((n) => /^[0-9a-f]{2}$/.test(n));
  return (await Promise.all(shards.map(async (s) => (await readdir(join(dir, s))).map((f) => join(s, f))))).flat();
}

blockStoreSuite('FsBlockStore', async () => FsBlockStore.open(join(await tempDir(), 'blocks')), {
  async corrupt(store, hash) {
    const file = store.pathOf(hash);
    const bytes = await readFile(file);
    bytes[100] ^= 0xff;
    await writeFile(file, bytes);
  },
});

describe('FsBlockStore on disk', () => {
  test('a block lives at <dir>/<first two hex>/<hash>, and tmp/ is empty after puts', async () => {
    const dir = await tempDir();
    const store = await FsBlockStore.open(dir);
    const hash = await store.put(randomBytes(5000));
    assert.deepEqual(await blockFiles(dir), [join(hash.slice(0, 2), hash)]);
    assert.equal(store.pathOf(hash), join(dir, hash.slice(0, 2), hash));
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  test('the same content is one file, whichever store instance wrote it', async () => {
    const dir = await tempDir();
    const data = randomBytes(64 * 1024);
    const one = await FsBlockStore.open(dir);
    const two = new FsBlockStore(dir);
    await Promise.all([one.put(data), one.put(Buffer.from(data)), two.put(Buffer.from(data))]);
    await one.put(randomBytes(10));
    assert.equal((await blockFiles(dir)).length, 2);
  });

  test('putting an existing block does not rewrite its file', async () => {
    const dir = await tempDir();
    const store = await FsBlockStore.open(dir);
    const data = randomBytes(3000);
    const hash = await store.put(data);
    const before = await stat(store.pathOf(hash));
    await new Promise((r) => setTimeout(r, 20));
    await store.put(data);
    await store.putHashed(hash, data);
    const after = await stat(store.pathOf(hash));
    assert.equal(after.ino, before.ino);
    assert.equal(after.mtimeMs, before.mtimeMs);
  });

  test('a truncated block file is corrupt', async () => {
    const dir = await tempDir();
    const store = await FsBlockStore.open(dir);
    const hash = await store.put(randomBytes(9000));
    await writeFile(store.pathOf(hash), (await readFile(store.pathOf(hash))).subarray(0, 4000));
    await assert.rejects(store.get(hash), BlockCorruptError);
  });

  test('open removes temporary files a crash left behind and keeps blocks', async () => {
    const dir = await tempDir();
    const hash = await (await FsBlockStore.open(dir)).put(randomBytes(100));
    await writeFile(join(dir, 'tmp', `${hash}.0123456789ab`), 'half a block');
    await writeFile(join(dir, 'tmp', 'anything'), '');
    const store = await FsBlockStore.open(dir);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    assert.equal((await store.get(hash)).length, 100);
  });

  test('list and remove leave files that are not blocks alone', async () => {
    const dir = await tempDir();
    const store = await FsBlockStore.open(dir);
    const hash = await store.put(randomBytes(100));
    await writeFile(join(dir, hash.slice(0, 2), 'README'), 'not a block');
    assert.deepEqual((await store.list()).map((b) => b.hash), [hash]);
    assert.equal((await store.remove([hash, 'README' as BlockHash])).removed, 1);
    assert.deepEqual(await readdir(join(dir, hash.slice(0, 2))), ['README']);
  });

  test('a store made with the constructor alone creates its directories on first put', async () => {
    const dir = join(await tempDir(), 'not', 'yet');
    const store = new FsBlockStore(dir);
    assert.deepEqual(await store.list(), []);
    const hash = await store.put(randomBytes(10));
    assert.equal((await store.get(hash)).length, 10);
  });
});
