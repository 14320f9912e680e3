import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDirs } from '../../../test/temp.js';
import { BLOCK_SIZE, BlockNotFoundError, hashBlock } from '../blocks.js';
import type { BlockHash } from '../blocks.js';
import { blockStoreSuite } from '../store-suite.js';
import { PackBlockStore } from './pack-store.js';

const tempDir = tempDirs('kiln-pack-store-');
const newStore = async (packBytes?: number) => {
  const dir = await tempDir();
  return PackBlockStore.open(join(dir, 'blocks'), { packBytes, masterKeyFile: join(dir, 'master.key') });
};
const packFiles = async (dir: string) => (await readdir(join(dir, 'packs'))).filter((n) => n.endsWith('.pack'));

blockStoreSuite('PackBlockStore', () => newStore(), {
  async corrupt(store, hash) {
    const at = store.locate(hash)!;
    const fh = await open(at.path, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at.offset + 100);
    b[0] ^= 0xff;
    await fh.write(b, 0, 1, at.offset + 100);
    await fh.close();
  },
});

describe('PackBlockStore: packs', () => {
  test('a writer of 100 blocks makes 16 MiB packs: one fsync per pack and one for the commit', async () => {
    const store = await newStore();
    const w = store.writer();
    const before = store.stats().fsyncs;
    const hashes = await Promise.all(Array.from({ length: 100 }, () => w.put(randomBytes(BLOCK_SIZE))));
    await w.commit();
    const stats = store.stats();
    assert.equal(stats.packs, Math.ceil(100 * BLOCK_SIZE / (16 * 1024 * 1024)));
    assert.equal(stats.fsyncs - before, stats.packs + 1);
    assert.equal(stats.blockBytes, 100 * BLOCK_SIZE);
    assert.equal((await packFiles(store.dir)).length, stats.packs);
    for (const h of hashes.slice(0, 5)) assert.equal(hashBlock(await store.get(h)), h);
  });

  test('blocks are readable and deduplicated before the commit; a commit with nothing new costs no fsync', async () => {
    const store = await newStore();
    const data = randomBytes(5000);
    const w = store.writer();
    const h = await w.put(data);
    assert.deepEqual(await store.get(h), data);
    assert.equal(await store.has(h), true);
    await store.writer().put(Buffer.from(data));
    await w.commit();
    assert.equal(store.stats().blocks, 1);
    const again = store.writer();
    await again.put(Buffer.from(data));
    const before = store.stats().fsyncs;
    await again.commit();
    assert.equal(store.stats().fsyncs, before);
  });

  test("a writer's has() of a block another writer has not committed makes its own commit wait for it", async () => {
    const store = await newStore();
    const a = store.writer();
    const h = await a.put(randomBytes(3000));
    const b = store.writer();
    assert.equal(await b.has(h), true);
    await b.commit(); // a never commits: b's commit made the block durable and indexed all the same
    const reopened = await PackBlockStore.open(store.dir);
    assert.equal(hashBlock(await reopened.get(h)), h);
  });

  test('concurrent writers with the same blocks store each once, and both commits hold them', async () => {
    const store = await newStore(1024 * 1024);
    const blocks = Array.from({ length: 20 }, () => randomBytes(BLOCK_SIZE / 4));
    const [a, b] = [store.writer(), store.writer()];
    const [ha, hb] = await Promise.all([a, b].map((w) => Promise.all(blocks.map((d) => w.put(d)))));
    await Promise.all([a.commit(), b.commit()]);
    assert.deepEqual(ha, hb);
    assert.equal(store.stats().blocks, 20);
    const reopened = await PackBlockStore.open(store.dir);
    for (const h of ha) assert.equal(hashBlock(await reopened.get(h)), h);
  });
});

describe('PackBlockStore: compression', () => {
  test('a block that compresses well is stored deflated and read back exact; random data stays raw', async () => {
    const store = await newStore();
    const text = Buffer.alloc(BLOCK_SIZE);
    for (let i = 0; i < 2000; i++) text.write(`inode ${i} /usr/lib/x86_64-linux-gnu/lib${i}.so\n`, i * 40);
    const noise = randomBytes(BLOCK_SIZE);
    const w = store.writer();
    const [t, n] = [await w.put(text), await w.put(noise)];
    await w.commit();
    assert.deepEqual([store.locate(t)!.codec, store.locate(n)!.codec], [1, 0]);
    assert.ok(store.locate(t)!.length < BLOCK_SIZE / 4, `${store.locate(t)!.length} bytes stored`);
    assert.equal(store.stats().blockBytes, 2 * BLOCK_SIZE);
    assert.ok(store.stats().storedBytes < 1.25 * BLOCK_SIZE);
    assert.deepEqual(await store.get(t), text);
    // Indexed again from the trailer, the codec comes back with it.
    const dir = join(await tempDir(), 'blocks');
    await mkdir(join(dir, 'packs'), { recursive: true });
    for (const name of await packFiles(store.dir)) await copyFile(join(store.dir, 'packs', name), join(dir, 'packs', name));
    const again = await PackBlockStore.open(dir);
    assert.deepEqual(await again.get(t), text);
    // A damaged deflated block is reported corrupt, not returned.
    const at = again.locate(t)!;
    const bytes = await readFile(at.path);
    bytes[at.offset + Math.floor(at.length / 2)] ^= 0xff;
    await writeFile(at.path, bytes);
    await assert.rejects(again.get(t), (e: Error & { code?: string }) => e.code === 'BlockCorrupt');
    assert.deepEqual((await again.check()).corrupt, [t]);
  });
});

describe('PackBlockStore: what a crash leaves', () => {
  test('blocks never committed are gone after a restart, and tmp/ is emptied', async () => {
    const store = await newStore();
    const w = store.writer();
    const h = await w.put(randomBytes(1000));
    assert.equal((await readdir(join(store.dir, 'tmp'))).length, 1);
    // No commit, no close: the process "dies" here.
    const reopened = await PackBlockStore.open(store.dir);
    assert.equal(await reopened.has(h), false);
    assert.deepEqual(await readdir(join(store.dir, 'tmp')), []);
  });

  test('a sealed pack whose index rows were lost is indexed again from its trailer', async () => {
    const source = await newStore();
    const hashes = await Promise.all(Array.from({ length: 3 }, () => source.put(randomBytes(7000))));
    const dir = join(await tempDir(), 'blocks');
    await mkdir(join(dir, 'packs'), { recursive: true });
    for (const name of await packFiles(source.dir)) await copyFile(join(source.dir, 'packs', name), join(dir, 'packs', name));
    const store = await PackBlockStore.open(dir);
    for (const h of hashes) assert.equal(hashBlock(await store.get(h)), h);
    assert.deepEqual(await store.check(), { checked: 3, corrupt: [], missing: [] });
  });

  test('a pack cut short, or with a trailer that does not match its digest, is deleted at open and never indexed', async () => {
    const source = await newStore();
    const [a] = await Promise.all([source.put(randomBytes(7000)), source.put(randomBytes(9000))]);
    const names = await packFiles(source.dir);
    const dir = join(await tempDir(), 'blocks');
    await mkdir(join(dir, 'packs'), { recursive: true });
    const cut = join(dir, 'packs', names[0]!);
    await copyFile(join(source.dir, 'packs', names[0]!), cut);
    await truncate(cut, (await stat(cut)).size - 10);
    const bad = join(dir, 'packs', `${'a'.repeat(32)}.pack`);
    const bytes = await readFile(join(source.dir, 'packs', names[names.length - 1]!));
    bytes[bytes.length - 60] ^= 1;
    await writeFile(bad, bytes);
    const store = await PackBlockStore.open(dir, { log: () => undefined });
    assert.deepEqual(await packFiles(dir), []);
    assert.equal(await store.has(a!), false);
  });

  test('an index row whose pack is gone is reported missing by check, and get says not found', async () => {
    const store = await newStore();
    const h = await store.put(randomBytes(3000));
    const { rm } = await import('node:fs/promises');
    await rm(store.locate(h)!.path);
    assert.deepEqual(await store.check(), { checked: 1, corrupt: [], missing: [h] });
    await assert.rejects(store.get(h), BlockNotFoundError);
  });

  test('killed at random moments while writing and removing (plain and encrypted): every committed block survives, nothing indexed is damaged', async () => {
    const dir = join(await tempDir(), 'blocks');
    const masterKeyFile = join(dir, '..', 'master.key');
    const committed = new Set<string>();
    // The keys exist before the first child (their creation is a few fsyncs, slow on a busy disk; not what this tests).
    const first = await PackBlockStore.open(dir, { masterKeyFile });
    for (const key of ['key-a', 'key-b']) committed.add(await first.put(randomBytes(100), { key }));
    await first.close();
    for (let round = 0; round < 4; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-child.ts'), dir, masterKeyFile], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      // From its first commit (a busy host may take seconds to start it), then at a random moment.
      await new Promise((res) => { child.stdout.once('data', res); child.once('exit', res); });
      await new Promise((res) => setTimeout(res, 500 + randomInt(2000)));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      for (const line of out.split('\n')) {
        const [kind, ...hashes] = line.split(' ');
        if (kind === 'C') hashes.forEach((h) => committed.add(h));
        if (kind === 'R') hashes.forEach((h) => committed.delete(h));
      }
      const store = await PackBlockStore.open(dir, { log: () => undefined, masterKeyFile });
      const report = await store.check();
      assert.deepEqual([report.corrupt, report.missing], [[], []], `round ${round}`);
      for (const h of committed) assert.ok(await store.matches(h as BlockHash, await store.get(h as BlockHash)), `round ${round}: committed block ${h}`);
      assert.deepEqual(await readdir(join(dir, 'tmp')), []);
      await store.close();
    }
    assert.ok(committed.size > 20, `${committed.size} blocks committed across the rounds`);
  });
});

describe('PackBlockStore: freeing space', () => {
  test('remove frees exactly the named blocks; a pack with nothing left is deleted, one under half live is rewritten', async () => {
    const store = await newStore(BLOCK_SIZE * 4);
    const w = store.writer();
    const hashes = await Promise.all(Array.from({ length: 12 }, () => w.put(randomBytes(BLOCK_SIZE))));
    await w.commit();
    assert.equal(store.stats().packs, 3);
    const [p0, p1, p2] = [hashes.slice(0, 4), hashes.slice(4, 8), hashes.slice(8)];
    // All of the first pack, three quarters of the second, a quarter of the third.
    const victims = [...p0, ...p1.slice(0, 3), p2[0]!];
    assert.deepEqual(await store.remove(victims), { removed: 8, bytes: 8 * BLOCK_SIZE });
    const stats = store.stats();
    assert.deepEqual([stats.blocks, stats.blockBytes], [4, 4 * BLOCK_SIZE]);
    // Pack 1 went, pack 2 was rewritten (its last block moved), pack 3 (75% live) stays.
    assert.equal(stats.packs, 2);
    assert.ok(stats.packBytes < 5 * BLOCK_SIZE + 4096, `${stats.packBytes} bytes of packs`);
    assert.equal((await packFiles(store.dir)).length, 2);
    for (const h of victims) assert.equal(await store.has(h), false);
    const reopened = await PackBlockStore.open(store.dir);
    for (const h of [p1[3]!, ...p2.slice(1)]) assert.equal(hashBlock(await reopened.get(h)), h);
    assert.deepEqual((await reopened.check()).corrupt, []);
  });

  test('a block being written is never removed', async () => {
    const store = await newStore();
    const w = store.writer();
    const h = await w.put(randomBytes(100));
    assert.deepEqual(await store.remove([h]), { removed: 0, bytes: 0 });
    await w.commit();
    assert.equal(hashBlock(await store.get(h)), h);
  });
});

test('a data directory of the one-file-per-block layout is moved into packs at open', async () => {
  const dir = join(await tempDir(), 'blocks');
  const blocks = [randomBytes(1000), randomBytes(BLOCK_SIZE)];
  const hashes = blocks.map(hashBlock);
  for (const [i, h] of hashes.entries()) {
    await mkdir(join(dir, h.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, h.slice(0, 2), h), blocks[i]!);
  }
  const store = await PackBlockStore.open(dir, { log: () => undefined });
  for (const h of hashes) assert.equal(hashBlock(await store.get(h)), h);
  assert.deepEqual((await readdir(dir)).sort(), ['index.db', 'index.db-shm', 'index.db-wal', 'packs', 'tmp'].filter((n) => n !== 'x'));
});
