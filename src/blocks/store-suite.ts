/**
 * The shared suite every BlockStore implementation must pass (local files now; S3 later).
 * `make` gives a store that can encrypt (it has a master key).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { BLOCK_SIZE, BlockCorruptError, BlockNotFoundError } from './blocks.js';
import type { BlockHash, BlockStore } from './blocks.js';

/** What the suite cannot do through the BlockStore interface itself. */
export interface BlockStoreSuiteHooks<S extends BlockStore = BlockStore> {
  /** Changes the stored bytes of `hash` behind the store's back (bit rot, a bad disk, a tampered object). */
  corrupt?(store: S, hash: BlockHash): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function blockStoreSuite<S extends BlockStore>(name: string, make: () => Promise<S>, hooks: BlockStoreSuiteHooks<S> = {}): void {
  describe(`BlockStore: ${name}`, () => {
    test('put then get returns the same bytes, named by their SHA-256', async () => {
      const store = await make();
      const data = randomBytes(BLOCK_SIZE);
      const hash = await store.put(data);
      assert.equal(hash, sha256(data));
      assert.equal(await store.has(hash), true);
      assert.deepEqual(await store.get(hash), data);
    });

    test('putHashed stores under the given hash', async () => {
      const store = await make();
      const data = randomBytes(4096);
      const hash = sha256(data) as BlockHash;
      await store.writer().putHashed(hash, data);
      assert.deepEqual(await store.get(hash), data);
    });

    test('put is idempotent', async () => {
      const store = await make();
      const data = randomBytes(1000);
      const a = await store.put(data);
      const b = await store.put(Buffer.from(data));
      assert.equal(a, b);
      assert.deepEqual(await store.get(a), data);
    });

    test('concurrent puts of the same block all succeed', async () => {
      const store = await make();
      const data = randomBytes(BLOCK_SIZE);
      const hashes = await Promise.all(Array.from({ length: 8 }, () => store.put(Buffer.from(data))));
      assert.equal(new Set(hashes).size, 1);
      assert.deepEqual(await store.get(hashes[0]), data);
    });

    test('a short block (the end of a volume) round-trips with its length', async () => {
      const store = await make();
      for (const size of [1, 777, BLOCK_SIZE - 1]) {
        const data = randomBytes(size);
        const got = await store.get(await store.put(data));
        assert.equal(got.length, size);
        assert.deepEqual(got, data);
      }
    });

    test('empty and oversized blocks are refused', async () => {
      const store = await make();
      await assert.rejects(store.put(new Uint8Array(0)), RangeError);
      await assert.rejects(store.put(new Uint8Array(BLOCK_SIZE + 1)), RangeError);
      await assert.rejects(store.writer().putHashed('0'.repeat(64) as BlockHash, new Uint8Array(0)), RangeError);
    });

    test('putHashed with a hash that does not match the bytes stores nothing', async () => {
      const store = await make();
      const wrong = sha256(Buffer.from('something else')) as BlockHash;
      await assert.rejects(store.writer().putHashed(wrong, randomBytes(100)), (e: BlockCorruptError) => e.code === 'BlockCorrupt' && e.hash === wrong);
      assert.equal(await store.has(wrong), false);
      await assert.rejects(store.get(wrong), BlockNotFoundError);
    });

    test('a missing block is not found', async () => {
      const store = await make();
      const absent = sha256(Buffer.from('never stored')) as BlockHash;
      assert.equal(await store.has(absent), false);
      await assert.rejects(store.get(absent), (e: BlockNotFoundError) => e.code === 'BlockNotFound' && e.hash === absent);
      await assert.rejects(store.get('../../etc/passwd' as BlockHash), BlockNotFoundError);
      assert.equal(await store.has('nope' as BlockHash), false);
    });

    test('list names every stored block with its size; remove takes exactly the named ones', async () => {
      const store = await make();
      const [a, b, c] = await Promise.all([1000, 2000, 3000].map((n) => store.put(randomBytes(n))));
      assert.deepEqual((await store.list()).map((x) => [x.hash, x.bytes]).sort(), [[a, 1000], [b, 2000], [c, 3000]].sort());
      assert.deepEqual(await store.remove([b, c]), { removed: 2, bytes: 5000 });
      assert.equal(await store.has(a), true);
      assert.equal(await store.has(b), false);
      await assert.rejects(store.get(b), BlockNotFoundError);
      assert.deepEqual(await store.remove([b, 'nope' as BlockHash]), { removed: 0, bytes: 0 });
      assert.deepEqual((await store.list()).map((x) => x.hash), [a]);
    });

    test('an empty store lists nothing and removes nothing', async () => {
      const store = await make();
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.remove([]), { removed: 0, bytes: 0 });
    });

    test('a block whose stored bytes changed is reported corrupt, not returned', { skip: !hooks.corrupt }, async () => {
      const store = await make();
      const hash = await store.put(randomBytes(8192));
      await hooks.corrupt!(store, hash);
      await assert.rejects(store.get(hash), (e: BlockCorruptError) => e.code === 'BlockCorrupt' && e.hash === hash && e.actual !== hash);
    });
  });
  encryptedSuite(name, make, hooks);
}

/** Blocks written with a key: stored encrypted, named by a keyed id, deduplicated within their key only. */
function encryptedSuite<S extends BlockStore>(name: string, make: () => Promise<S>, hooks: BlockStoreSuiteHooks<S>): void {
  describe(`BlockStore: ${name}, encrypted`, () => {
    test('a block put with a key reads back, under an id that is not its SHA-256', async () => {
      const store = await make();
      for (const size of [1, 777, BLOCK_SIZE]) {
        const data = randomBytes(size);
        const id = await store.put(data, { key: 'key-a' });
        assert.match(id, /^[0-9a-f]{64}$/);
        assert.notEqual(id, sha256(data));
        assert.equal(await store.has(id), true);
        assert.deepEqual(await store.get(id), data);
      }
    });

    test('dedup within one key; none across keys or with plain blocks', async () => {
      const store = await make();
      const data = randomBytes(BLOCK_SIZE);
      const a1 = await store.put(data, { key: 'key-a' });
      const a2 = await store.writer({ key: 'key-a' }).put(Buffer.from(data));
      const b = await store.put(Buffer.from(data), { key: 'key-b' });
      const plain = await store.put(Buffer.from(data));
      assert.equal(a1, a2);
      assert.equal(new Set([a1, b, plain]).size, 3);
      assert.equal(plain, sha256(data));
      assert.equal((await store.list()).length, 3);
      for (const id of [a1, b, plain]) assert.deepEqual(await store.get(id), data);
    });

    test("a writer has only blocks stored its way: another key's or a plain block is not there for it", async () => {
      const store = await make();
      const data = randomBytes(4096);
      const a = await store.put(data, { key: 'key-a' });
      const plain = await store.put(Buffer.from(data));
      assert.equal(await store.writer({ key: 'key-a' }).has(a), true);
      assert.equal(await store.writer({ key: 'key-b' }).has(a), false);
      assert.equal(await store.writer().has(a), false);
      assert.equal(await store.writer({ key: 'key-a' }).has(plain), false);
      assert.equal(await store.writer().has(plain), true);
    });

    test('putHashed with a key checks the SHA-256 and returns the keyed id', async () => {
      const store = await make();
      const data = randomBytes(8192);
      const w = store.writer({ key: 'key-a' });
      const id = await w.putHashed(sha256(data) as BlockHash, data);
      await w.commit();
      assert.equal(id, await store.put(Buffer.from(data), { key: 'key-a' }));
      assert.deepEqual(await store.get(id), data);
      await assert.rejects(w.putHashed(sha256(Buffer.from('other')) as BlockHash, data), (e: BlockCorruptError) => e.code === 'BlockCorrupt');
    });

    test('matches tells a block by its name, plain or keyed', async () => {
      const store = await make();
      const data = randomBytes(3000);
      const a = await store.put(data, { key: 'key-a' });
      const plain = await store.put(Buffer.from(data));
      assert.equal(await store.matches(a, data), true);
      assert.equal(await store.matches(plain, data), true);
      assert.equal(await store.matches(a, randomBytes(3000)), false);
    });

    test('list and remove treat encrypted blocks as any other', async () => {
      const store = await make();
      const a = await store.put(randomBytes(1000), { key: 'key-a' });
      const b = await store.put(randomBytes(2000), { key: 'key-b' });
      assert.deepEqual((await store.list()).map((x) => [x.hash, x.bytes]).sort(), [[a, 1000], [b, 2000]].sort());
      assert.deepEqual(await store.remove([a]), { removed: 1, bytes: 1000 });
      await assert.rejects(store.get(a), BlockNotFoundError);
      assert.equal((await store.get(b)).length, 2000);
    });

    test('an encrypted block whose stored bytes changed fails authentication: corrupt, not returned', { skip: !hooks.corrupt }, async () => {
      const store = await make();
      const id = await store.put(randomBytes(8192), { key: 'key-a' });
      await hooks.corrupt!(store, id);
      await assert.rejects(store.get(id), (e: BlockCorruptError) => e.code === 'BlockCorrupt' && e.hash === id);
      assert.deepEqual((await store.check()).corrupt, [id]);
    });
  });
}
