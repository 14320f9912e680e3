/** The pack store's encrypted blocks on disk: ciphertext in the packs, version 2 trailers, keys and master key. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDirs } from '../../../test/temp.js';
import { BLOCK_SIZE, hashBlock } from '../blocks.js';
import { readTrailer } from './pack-format.js';
import { PackBlockStore } from './pack-store.js';

const tempDir = tempDirs('kiln-pack-crypt-');
const MARKER = Buffer.from('KILN-CRYPT-MARKER-4f1d2c');

async function newStore(packBytes?: number) {
  const dir = await tempDir();
  return { dir, store: await PackBlockStore.open(join(dir, 'blocks'), { packBytes, masterKeyFile: join(dir, 'master.key') }) };
}

/** Random bytes (incompressible: stored raw when plain) with the marker in the middle. */
const marked = (n = BLOCK_SIZE) => Buffer.concat([randomBytes(n / 2), MARKER, randomBytes(n / 2 - MARKER.length)]);

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...await filesUnder(p));
    else out.push(p);
  }
  return out;
}

async function containing(dir: string, needle: Buffer): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await filesUnder(dir)) if ((await readFile(f)).includes(needle)) hits.push(f);
  return hits;
}

async function trailerVersions(blocksDir: string): Promise<number[]> {
  const out: number[] = [];
  for (const n of await readdir(join(blocksDir, 'packs'))) {
    const fh = await open(join(blocksDir, 'packs', n), 'r');
    const { size } = await fh.stat();
    const entries = await readTrailer(fh, size).finally(() => fh.close());
    assert.ok(Array.isArray(entries), String(entries));
    out.push(entries.some((e) => e.length === 6) ? 2 : 1);
  }
  return out.sort();
}

describe('PackBlockStore: encrypted blocks on disk', () => {
  test("an encrypted block's bytes and SHA-256 appear nowhere in the store; a plain one's are in its pack", async () => {
    const { store } = await newStore();
    const secret = marked();
    const id = await store.put(secret, { key: 'k1' });
    await store.close();
    assert.deepEqual(await containing(store.dir, MARKER), []);
    const sha = hashBlock(secret);
    assert.deepEqual(await containing(store.dir, Buffer.from(sha)), []);
    // The control: the same data stored plain is there to be found, so the grep would have seen it.
    const { store: plain } = await newStore();
    await plain.put(secret);
    await plain.close();
    assert.equal((await containing(plain.dir, MARKER)).length, 1);
    const reopened = await PackBlockStore.open(store.dir, { masterKeyFile: join(store.dir, '..', 'master.key') });
    assert.deepEqual(await reopened.get(id), secret);
  });

  test('a pack of plain blocks keeps trailer version 1; one with encrypted blocks is version 2 and is indexed again from it', async () => {
    const { dir, store } = await newStore();
    const plain = await store.put(randomBytes(5000));
    const w = store.writer({ key: 'k1' });
    const text = Buffer.alloc(BLOCK_SIZE, 'compressible text, encrypted after deflate. ');
    const [a, b] = [await w.put(randomBytes(7000)), await w.put(text)];
    await w.commit();
    assert.deepEqual(await trailerVersions(store.dir), [1, 2]);
    assert.equal(store.locate(b)!.codec, 1);
    // A store that lost its index (only the packs and keys are copied) reads every block back from the trailers.
    const copy = join(await tempDir(), 'blocks');
    for (const sub of ['packs', 'keys']) {
      await mkdir(join(copy, sub), { recursive: true });
      for (const n of await readdir(join(store.dir, sub))) await copyFile(join(store.dir, sub, n), join(copy, sub, n));
    }
    const again = await PackBlockStore.open(copy, { masterKeyFile: join(dir, 'master.key') });
    assert.equal((await again.get(plain)).length, 5000);
    assert.equal((await again.get(a)).length, 7000);
    assert.deepEqual(await again.get(b), text);
    assert.deepEqual(await again.check(), { checked: 3, corrupt: [], missing: [] });
  });

  test('without the right master key nothing encrypted is read or written; plain blocks still are', async () => {
    const { dir, store } = await newStore();
    const id = await store.put(randomBytes(3000), { key: 'k1' });
    const plain = await store.put(randomBytes(3000));
    await store.close();
    const keyless = await PackBlockStore.open(store.dir);
    assert.equal((await keyless.get(plain)).length, 3000);
    await assert.rejects(keyless.get(id), /no master key/);
    await assert.rejects(keyless.put(randomBytes(10), { key: 'k1' }), /no master key/);
    await writeFile(join(dir, 'other.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const wrong = await PackBlockStore.open(store.dir, { masterKeyFile: join(dir, 'other.key') });
    await assert.rejects(wrong.get(id), /does not open/);
  });

  test('a repack moves encrypted blocks as ciphertext, still readable under their keys', async () => {
    const { store } = await newStore(1024 * 1024);
    const w = store.writer({ key: 'k1' });
    const ids = await Promise.all(Array.from({ length: 8 }, () => w.put(randomBytes(BLOCK_SIZE / 4))));
    await w.commit();
    const keep = ids.slice(0, 2);
    const blocks = new Map(await Promise.all(keep.map(async (id) => [id, await store.get(id)] as const)));
    await store.remove(ids.slice(2));
    for (const id of keep) assert.deepEqual(await store.get(id), blocks.get(id));
    assert.deepEqual(await containing(store.dir, MARKER), []);
    assert.deepEqual((await store.check()).corrupt, []);
  });
});
