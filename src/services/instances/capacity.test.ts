/**
 * Launches sized against the host, without root: a recording runtime that
 * says the host has 4 GiB. A type larger than the host, or more instances
 * than it holds, is InsufficientInstanceCapacity for RunInstances (nothing
 * recorded) and StartInstances (the instance stays stopped); MinCount/MaxCount
 * launch as many as fit. Volumes beyond the pool's space are
 * InsufficientVolumeCapacity for CreateVolume, RunInstances and ModifyVolume.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { App } from '../../server/app.js';
import { createApp } from '../../server/app.js';
import type { Caller } from '../core/context.js';
import { InsufficientCapacity } from '../core/errors.js';
import { visibleImages } from '../images/images.js';
import { changeState } from './instances.js';
import { runInstances } from './launch.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';
import { createVolume } from '../volumes/volumes.js';
import { modifyVolume } from '../volumes/volume-modify.js';
import { toApiError } from '../../api/errors.js';

const caller: Caller = { account: '000000000000', region: 'us-east-1' };
let app: App;
let dir: string;
let image: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-capacity-'));
  const rt = new RecordingRuntime();
  rt.hostMemoryMiB = 4096;
  app = await createApp({ dataDir: dir, regions: ['us-east-1'], runtime: rt, log: () => undefined });
  await app.ready;
  image = (await visibleImages(app.ctx, caller)).find((i) => i.account === CATALOG_ACCOUNT)!.id;
});
after(async () => { await app.close(); await rm(dir, { recursive: true, force: true }); });

const codeOf = (p: Promise<unknown>) => p.then(() => 'none', (err: unknown) => {
  assert.ok(err instanceof InsufficientCapacity, String(err));
  const api = toApiError(err);
  return `${api.code} ${api.status}`;
});
const live = async () => (await app.ctx.store.instances.list()).filter((i) => i.state !== 'terminated').length;
const launch = (instanceType: string, minCount = 1, maxCount = minCount) => runInstances(app.ctx, caller, { imageId: image, instanceType, minCount, maxCount });

test('a type larger than the host is InsufficientInstanceCapacity (500, as EC2), and nothing is launched', async () => {
  assert.equal(await codeOf(launch('r5.4xlarge')), 'InsufficientInstanceCapacity 500');
  assert.equal(await codeOf(launch('t3.large')), 'InsufficientInstanceCapacity 500'); // 8 GiB on a 4 GiB host
  assert.equal(await live(), 0);
});

test('the instances the host holds share its memory: MaxCount is cut to what fits, MinCount beyond it is refused; StartInstances too', async () => {
  assert.equal(await codeOf(launch('t3.medium', 2)), 'InsufficientInstanceCapacity 500');
  const some = await launch('t3.small', 1, 5); // 2 GiB each on 4 GiB: two
  assert.equal(some.length, 2);
  await app.ctx.tasks.idle();
  assert.equal(await codeOf(launch('t3.nano')), 'InsufficientInstanceCapacity 500');
  const [a, b] = some.map((d) => d.inst.id) as [string, string];
  await changeState(app.ctx, caller, [a], 'stop');
  await app.ctx.tasks.idle();
  const [small] = await launch('t3.micro'); // the stopped one's memory is free: a 1 GiB instance fits
  await app.ctx.tasks.idle();
  assert.equal(await codeOf(changeState(app.ctx, caller, [a], 'start')), 'InsufficientInstanceCapacity 500');
  assert.equal((await app.ctx.store.instances.get(a))!.state, 'stopped');
  await changeState(app.ctx, caller, [small!.inst.id, b], 'terminate');
  await app.ctx.tasks.idle();
  await changeState(app.ctx, caller, [a], 'start');
  await app.ctx.tasks.idle();
  assert.equal((await app.ctx.store.instances.get(a))!.state, 'running');
  await changeState(app.ctx, caller, [a], 'terminate');
  await app.ctx.tasks.idle();
});

test('a volume beyond the pool\'s free space is InsufficientVolumeCapacity: CreateVolume, a RunInstances root, ModifyVolume', async () => {
  const usable = () => Promise.reject(new Error('no snapshot here'));
  const before = (await app.ctx.store.volumes.list()).length;
  const { freeBytes } = await app.ctx.pool.space();
  const tooBig = Math.ceil(freeBytes / 1024 ** 3) + 1;
  assert.ok(tooBig <= 16384, 'a size gp2 takes');
  assert.equal(await codeOf(createVolume(app.ctx, caller, { availabilityZone: 'us-east-1a', size: tooBig }, usable)), 'InsufficientVolumeCapacity 500');
  const root = { deviceName: '/dev/xvda', ebs: { volumeSize: tooBig } };
  assert.equal(await codeOf(runInstances(app.ctx, caller, { imageId: image, instanceType: 't3.nano', minCount: 1, maxCount: 1, blockDeviceMappings: [root] })), 'InsufficientVolumeCapacity 500');
  assert.equal((await app.ctx.store.volumes.list()).length, before, 'nothing recorded');
  const vol = await createVolume(app.ctx, caller, { availabilityZone: 'us-east-1a', size: 1 }, usable);
  await app.ctx.tasks.idle();
  assert.equal(await codeOf(modifyVolume(app.ctx, caller, { volumeId: vol.id, size: tooBig })), 'InsufficientVolumeCapacity 500');
});

test('the provisioned sizes together stay within the overcommit of the pool\'s size', async () => {
  const usable = () => Promise.reject(new Error('no snapshot here'));
  const { sizeBytes, freeBytes } = await app.ctx.pool.space();
  const saved = app.ctx.capacity;
  try {
    // An overcommit that leaves room for less than one more small volume.
    const provisioned = (await app.ctx.store.volumes.list()).reduce((a, v) => a + v.size, 0);
    app.ctx.capacity = { ...saved, volumeOvercommit: (provisioned + 0.5) * 1024 ** 3 / sizeBytes };
    assert.ok(freeBytes > 1024 ** 3);
    assert.equal(await codeOf(createVolume(app.ctx, caller, { availabilityZone: 'us-east-1a', size: 1 }, usable)), 'InsufficientVolumeCapacity 500');
  } finally {
    app.ctx.capacity = saved;
  }
});
