/** The shared suite every Store implementation must pass (SQLite now; PostgreSQL later). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BlockHash } from '../blocks/blocks.js';
import type { KeyPairRecord } from '../model/extra-records.js';
import type { ImageRecord } from '../model/records.js';
import type { Store } from './store.js';
import { DuplicateError, NotInStoreError } from './store.js';

function image(id: string, name: string, over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id, account: '111122223333', region: 'us-east-1', name, state: 'available', architecture: 'x86_64',
    rootDeviceName: '/dev/xvda', blockDeviceMappings: [], creationDate: new Date().toISOString(), isPublic: false,
    enaSupport: true, tags: [], ...over,
  };
}

export function storeSuite(name: string, open: () => Promise<{ store: Store; reopen(): Promise<Store> }>): void {
  describe(`Store: ${name}`, () => {
    test('collections by kind are separate, persistent and scoped', async () => {
      const { store, reopen } = await open();
      type Setting = { id: string; account: string; region: string; value: string };
      await store.collection<Setting>('setting').insert({ id: 's1', account: '111122223333', region: 'us-east-1', value: 'on' });
      assert.equal(store.collection<Setting>('setting'), store.collection<Setting>('setting'));
      assert.equal(await store.collection<Setting>('product').get('s1'), undefined);
      const again = await reopen();
      assert.equal((await again.collection<Setting>('setting').get('s1'))?.value, 'on');
      assert.deepEqual((await again.collection<Setting>('setting').list({ region: 'eu-west-1' })), []);
    });

    test('insert, get, list by scope, update, delete', async () => {
      const { store } = await open();
      await store.images.insert(image('ami-1', 'a'));
      await store.images.insert(image('ami-2', 'b', { region: 'eu-west-1' }));
      await store.images.insert(image('ami-3', 'c', { account: '444455556666' }));
      assert.equal((await store.images.get('ami-1'))?.name, 'a');
      assert.deepEqual((await store.images.list({ region: 'us-east-1' })).map((i) => i.id), ['ami-1', 'ami-3']);
      assert.deepEqual((await store.images.list({ account: '111122223333', region: 'eu-west-1' })).map((i) => i.id), ['ami-2']);
      const u = await store.images.update('ami-1', (i) => ({ ...i, description: 'd' }));
      assert.equal(u.description, 'd');
      assert.equal((await store.images.get('ami-1'))?.description, 'd');
      assert.equal(await store.images.delete('ami-1'), true);
      assert.equal(await store.images.get('ami-1'), undefined);
      await assert.rejects(store.images.update('ami-1', (i) => i), NotInStoreError);
    });

    test('image names are unique per account and region until deregistered', async () => {
      const { store } = await open();
      await store.images.insert(image('ami-1', 'web'));
      await assert.rejects(store.images.insert(image('ami-2', 'web')), (e: DuplicateError) => e instanceof DuplicateError && e.existingId === 'ami-1');
      await store.images.insert(image('ami-3', 'web', { region: 'eu-west-1' }));
      await store.images.insert(image('ami-4', 'web', { account: '444455556666' }));
      await store.images.update('ami-1', (i) => ({ ...i, state: 'deregistered' }));
      await store.images.insert(image('ami-5', 'web'));
      await store.images.insert(image('ami-6', 'other'));
      await assert.rejects(store.images.update('ami-6', (i) => ({ ...i, name: 'web' })), DuplicateError);
      assert.equal((await store.images.get('ami-6'))?.name, 'other');
    });

    test('a transaction commits all its writes together, or none when it throws', async () => {
      const { store, reopen } = await open();
      await store.transaction(async (tx) => {
        await tx.images.insert(image('ami-1', 'a'));
        await tx.snapshots.insert({ id: 'snap-1', account: '111122223333', region: 'us-east-1' } as never);
        assert.equal((await tx.images.get('ami-1'))?.name, 'a', 'a transaction reads its own writes');
      });
      await assert.rejects(store.transaction(async (tx) => {
        await tx.images.insert(image('ami-2', 'b'));
        await tx.images.update('ami-1', (i) => ({ ...i, description: 'changed' }));
        await tx.blockMaps.put('snap-2', { sizeBytes: 512, blocks: [] });
        throw new Error('abort');
      }), /abort/);
      const again = await reopen();
      assert.equal((await again.images.get('ami-1'))?.description, undefined);
      assert.equal(await again.images.get('ami-2'), undefined);
      assert.equal(await again.blockMaps.get('snap-2'), undefined);
      assert.ok(await again.snapshots.get('snap-1'));
    });

    test('a transaction inside a transaction rolls back alone', async () => {
      const { store } = await open();
      await store.transaction(async (tx) => {
        await tx.images.insert(image('ami-1', 'a'));
        await assert.rejects(tx.transaction(async (inner) => {
          await inner.images.insert(image('ami-2', 'b'));
          throw new Error('inner');
        }), /inner/);
      });
      assert.ok(await store.images.get('ami-1'));
      assert.equal(await store.images.get('ami-2'), undefined);
    });

    test('two concurrent writers are isolated: neither sees the other half-done, and both check-then-insert in turn', async () => {
      const { store } = await open();
      await store.images.insert(image('ami-0', 'counter', { description: '0' }));
      // Each writer reads the counter, yields, then writes it back incremented: without isolation one increment is lost.
      const bump = () => store.transaction(async (tx) => {
        const n = Number((await tx.images.get('ami-0'))!.description);
        await new Promise((r) => setImmediate(r));
        await tx.images.update('ami-0', (i) => ({ ...i, description: String(n + 1) }));
      });
      const seen: string[] = [];
      const writer = store.transaction(async (tx) => {
        await tx.images.insert(image('ami-1', 'half'));
        await new Promise((r) => setTimeout(r, 20));
        await tx.images.insert(image('ami-2', 'other-half'));
      });
      const reader = (async () => {
        await new Promise((r) => setTimeout(r, 5));
        const names = (await store.images.list()).map((i) => i.name);
        seen.push(names.includes('half') === names.includes('other-half') ? 'whole' : 'half');
      })();
      await Promise.all([bump(), bump(), bump(), writer, reader]);
      assert.equal((await store.images.get('ami-0'))!.description, '3');
      assert.deepEqual(seen, ['whole']);
    });

    test('key-pair names are unique per account and region, and a racing second insert loses', async () => {
      const { store } = await open();
      const kp = (id: string, keyName: string, over: Partial<KeyPairRecord> = {}): KeyPairRecord => ({
        id, account: '111122223333', region: 'us-east-1', keyName, keyType: 'ed25519', fingerprint: 'f', publicKey: 'p', createTime: '', tags: [], ...over,
      });
      const keys = store.collection<KeyPairRecord>('key-pair');
      const results = await Promise.allSettled([keys.insert(kp('key-1', 'deploy')), keys.insert(kp('key-2', 'deploy'))]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.ok((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason instanceof DuplicateError);
      await keys.insert(kp('key-3', 'deploy', { region: 'eu-west-1' }));
      await keys.insert(kp('key-4', 'deploy', { account: '444455556666' }));
      await keys.delete('key-1');
      await keys.delete('key-2');
      await keys.insert(kp('key-5', 'deploy'));
    });

    test('a transaction may not end while one inside it runs: it rolls back, and the inner one cannot write on its own', async () => {
      const { store } = await open();
      let inner: Promise<unknown> | undefined;
      await assert.rejects(store.transaction(async (tx) => {
        await tx.images.insert(image('ami-1', 'a'));
        inner = tx.transaction(async (t) => { await new Promise((r) => setTimeout(r, 20)); await t.images.insert(image('ami-2', 'b')); });
      }));
      await assert.rejects(inner!);
      await store.transaction(async (tx) => { await tx.images.insert(image('ami-3', 'c')); });
      assert.deepEqual((await store.images.list()).map((i) => i.id), ['ami-3']);
    });

    test('an update whose function throws changes nothing', async () => {
      const { store } = await open();
      await store.images.insert(image('ami-1', 'a'));
      await assert.rejects(store.images.update('ami-1', () => { throw new Error('no'); }), /no/);
      assert.equal((await store.images.get('ami-1'))?.name, 'a');
    });

    test('accounts and their keys', async () => {
      const { store } = await open();
      await store.accounts.put({ id: '111122223333', alias: 'dev', keys: [{ accessKeyId: 'AKIA1', secretAccessKey: 's1', createdAt: '' }] });
      assert.equal((await store.accounts.byAccessKey('AKIA1'))?.secretAccessKey, 's1');
      await store.accounts.put({ id: '111122223333', alias: 'dev', keys: [{ accessKeyId: 'AKIA2', secretAccessKey: 's2', createdAt: '' }] });
      assert.equal(await store.accounts.byAccessKey('AKIA1'), undefined);
      assert.equal((await store.accounts.byAccessKey('AKIA2'))?.account.alias, 'dev');
    });

    test('block maps and the live set survive a reopen', async () => {
      const { store, reopen } = await open();
      const h = (c: string) => c.repeat(64) as BlockHash;
      await store.blockMaps.put('snap-1', { sizeBytes: 1024, blocks: [[0, h('a')], [3, h('b')]] });
      await store.blockMaps.put('snap-2', { sizeBytes: 1024, blocks: [[0, h('a')], [5, h('c')]] });
      await store.images.insert(image('ami-1', 'kept'));
      const again = await reopen();
      assert.deepEqual((await again.blockMaps.get('snap-1'))?.blocks, [[0, h('a')], [3, h('b')]]);
      await again.blockMaps.delete('snap-1');
      assert.deepEqual([...await again.blockMaps.liveHashes()].sort(), [h('a'), h('c')]);
      assert.equal((await again.images.get('ami-1'))?.name, 'kept');
      await again.close();
    });
  });
}
