/** The pack store when a write fails (a full disk): nothing partial stays, every file is accounted for, and it goes on. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDirs } from '../../../test/temp.js';
import { BLOCK_SIZE } from '../blocks.js';
import { Pruner } from '../prune.js';
import { PackBlockStore } from './pack-store.js';

const tempDir = tempDirs('kiln-pack-full-');

/** Makes every FileHandle write fail with ENOSPC while `fn` runs (the writes a full disk refuses). */
async function whileFull<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const write = proto.write;
  proto.write = (async () => { throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' }); }) as never;
  try {
    return await fn();
  } finally {
    proto.write = write;
  }
}

test('a write refused by a full disk gives up the open pack at once: its file goes, its writers fail at commit, the store goes on', async () => {
  const dir = await tempDir();
  const store = await PackBlockStore.open(join(dir, 'blocks'), { packBytes: 4 * BLOCK_SIZE });
  const early = store.writer();
  await early.put(randomBytes(1000)); // in the open pack, not yet durable
  const doomed = store.writer();
  await assert.rejects(whileFull(dir, () => doomed.put(randomBytes(BLOCK_SIZE))), { code: 'ENOSPC' });
  assert.deepEqual(await readdir(join(dir, 'blocks', 'tmp')), [], 'no partial pack stays behind');
  await assert.rejects(early.commit(), { code: 'ENOSPC' }, 'a writer whose block was in the given-up pack fails at commit');
  const files = await store.files();
  assert.deepEqual([files.open.count, files.sealed.count, files.unknown], [0, 0, []]);
  // Space again: the store writes and commits as before.
  const later = store.writer();
  const hash = await later.put(randomBytes(2000));
  await later.commit();
  assert.equal((await store.get(hash)).length, 2000);
  await store.close();
});

test('packs sealed for a writer that then failed are listed by files() and pruned after a flush', async () => {
  const dir = await tempDir();
  const store = await PackBlockStore.open(join(dir, 'blocks'), { packBytes: 2 * BLOCK_SIZE });
  const w = store.writer();
  for (let i = 0; i < 4; i++) await w.put(randomBytes(BLOCK_SIZE)); // two packs sealed, never committed
  let files = await store.files();
  assert.deepEqual([files.sealed.count, files.open.count, files.indexed.count, files.unknown], [2, 0, 0, []]);
  const pruner = new Pruner(store, async () => new Set());
  const report = await pruner.runNow();
  assert.equal(report.removed, 4);
  files = await store.files();
  assert.deepEqual([files.indexed.count, files.sealed.count, files.open.count, files.unknown], [0, 0, 0, []]);
  await store.close();
});

test('blocks an upload holds are kept, but an absent one is not "missing": a cut-short upload does not stop the prune', async () => {
  const store = await PackBlockStore.open(join(await tempDir(), 'blocks'));
  const kept = await store.put(randomBytes(3000));
  const garbage = await store.put(randomBytes(3000));
  const lost = '0'.repeat(64) as typeof kept;
  const pruner = new Pruner(store, async () => new Set(), () => undefined, async () => new Set([kept, lost]));
  const report = await pruner.runNow();
  assert.deepEqual([report.refused, report.removed, report.plan.missing], [undefined, 1, []]);
  assert.ok(await store.has(kept));
  assert.ok(!(await store.has(garbage)));
  await store.close();
});
