import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { tempDirs } from '../../test/temp.js';
import type { BlockHash } from './blocks.js';
import { PackBlockStore } from './pack/pack-store.js';
import type { PruneReport } from './prune.js';
import { Pruner } from './prune.js';

const tempDir = tempDirs('kiln-prune-');

async function setup() {
  const blocks = await PackBlockStore.open(await tempDir());
  const live = new Set<BlockHash>();
  const reports: PruneReport[] = [];
  const pruner = new Pruner(blocks, async () => live, () => undefined);
  pruner.onReport((r) => reports.push(r));
  return { blocks, live, reports, pruner };
}

test('a prune plans first, then removes exactly the unreferenced blocks and reports the bytes freed', async () => {
  const { blocks, live, reports, pruner } = await setup();
  const [a, b, c] = await Promise.all([1000, 2000, 3000].map((n) => blocks.put(randomBytes(n))));
  live.add(a);
  const plan = await pruner.plan();
  assert.deepEqual([plan.stored, plan.referenced, plan.unreferenced.sort(), plan.unreferencedBytes, plan.missing], [3, 1, [b, c].sort(), 5000, []]);
  pruner.request();
  await pruner.idle();
  assert.equal(reports.length, 1);
  assert.deepEqual([reports[0]!.removed, reports[0]!.freedBytes, reports[0]!.refused], [2, 5000, undefined]);
  assert.equal(await blocks.has(a), true);
  assert.equal(await blocks.has(b), false);
});

test('a prune refuses to remove anything while referenced blocks are missing', async () => {
  const { blocks, live, reports, pruner } = await setup();
  const a = await blocks.put(randomBytes(100));
  live.add('f'.repeat(64) as BlockHash);
  pruner.request();
  await pruner.idle();
  assert.equal(reports[0]!.removed, 0);
  assert.match(reports[0]!.refused ?? '', /missing/);
  assert.equal(await blocks.has(a), true, 'nothing removed');
});

test('a build holds prunes off: a block it relies on survives until its map is saved, and the prune asked for meanwhile runs after', async () => {
  const { blocks, live, reports, pruner } = await setup();
  const reused = await blocks.put(randomBytes(100));
  let release!: () => void;
  const build = pruner.hold(async () => {
    // The build saw `has(reused)` and did not write it again; its map is not saved yet.
    await new Promise<void>((r) => { release = r; });
    live.add(reused);
  });
  await new Promise((r) => setImmediate(r));
  pruner.request();
  pruner.request();
  await pruner.idle();
  assert.equal(reports.length, 0, 'no prune while the build holds');
  release();
  await build;
  await pruner.idle();
  assert.equal(reports.length, 1, 'two requests during the build give one prune after it');
  assert.equal(await blocks.has(reused), true);
});
