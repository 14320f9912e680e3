/**
 * The instance and image state machines, driven through the services with a
 * recording runtime (the runc driver has its own suite; here only the
 * transitions matter).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { App } from '../../server/app.js';
import { createApp } from '../../server/app.js';
import { createImageFromInstance } from './capture.js';
import type { Caller } from '../core/context.js';
import { InvalidState, NotFound } from '../core/errors.js';
import { visibleImages } from '../images/images.js';
import { statusOf } from '../../api/views/instances.js';
import { changeState, instanceStatuses } from './instances.js';
import { runInstances as run } from './launch.js';
import { TERMINATED_VISIBLE_MS, visibleInstances } from './lookup.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';

/** RunInstances' records (the service answers with their details). */
const runInstances = async (...a: Parameters<typeof run>) => (await run(...a)).map((d) => d.inst);


const caller: Caller = { account: '000000000000', region: 'us-east-1' };
let app: App;
let dir: string;
let rt: RecordingRuntime;
let baseImage: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-sm-'));
  rt = new RecordingRuntime();
  app = await createApp({ dataDir: dir, regions: ['us-east-1'], runtime: rt, log: () => undefined });
  await app.ready;
  baseImage = (await visibleImages(app.ctx, caller)).find((i) => i.account === CATALOG_ACCOUNT)!.id;
});
after(async () => { await app.close(); await rm(dir, { recursive: true, force: true }); });

const state = async (id: string) => (await app.ctx.store.instances.get(id))!.state;
const settle = () => app.ctx.tasks.idle();

test('pending -> running -> stopping -> stopped -> pending -> running -> shutting-down -> terminated', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.micro' });
  assert.equal(inst.state, 'pending');
  await settle();
  assert.equal(await state(inst.id), 'running');
  const [stop] = await changeState(app.ctx, caller, [inst.id], 'stop');
  assert.deepEqual([stop.previous, stop.current], ['running', 'stopping']);
  await settle();
  assert.equal(await state(inst.id), 'stopped');
  const [again] = await changeState(app.ctx, caller, [inst.id], 'stop');
  assert.deepEqual([again.previous, again.current], ['stopped', 'stopped'], 'stopping a stopped instance is a no-op');
  await assert.rejects(changeState(app.ctx, caller, [inst.id], 'reboot'), InvalidState);
  const [start] = await changeState(app.ctx, caller, [inst.id], 'start');
  assert.deepEqual([start.previous, start.current], ['stopped', 'pending']);
  await settle();
  assert.equal(await state(inst.id), 'running');
  const [term] = await changeState(app.ctx, caller, [inst.id], 'terminate');
  assert.deepEqual([term.previous, term.current], ['running', 'shutting-down']);
  await settle();
  assert.equal(await state(inst.id), 'terminated');
  await assert.rejects(changeState(app.ctx, caller, [inst.id], 'start'), InvalidState);
  await assert.rejects(changeState(app.ctx, caller, [inst.id], 'stop'), InvalidState);
  assert.deepEqual(rt.calls.filter((c) => c.endsWith(inst.id)).map((c) => c.split(' ')[0]), ['start', 'stop', 'start', 'stop']);
});

test('a bad id in a batch changes nothing', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1 });
  await settle();
  await assert.rejects(changeState(app.ctx, caller, [inst.id, 'i-00000000000000000'], 'stop'), NotFound);
  assert.equal(await state(inst.id), 'running');
});

test('a launch whose boot fails ends terminated with a reason, its volumes gone', async () => {
  rt.failNextStart = true;
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1 });
  await settle();
  const rec = (await app.ctx.store.instances.get(inst.id))!;
  assert.equal(rec.state, 'terminated');
  assert.equal(rec.stateReason?.code, 'Server.InternalError');
  for (const v of rec.volumeIds) assert.equal(await app.ctx.store.volumes.get(v), undefined);
});

test('an image is pending until its snapshots complete, then available; NoReboot freezes instead of stopping', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1 });
  await settle();
  rt.calls.length = 0;
  const img = await createImageFromInstance(app.ctx, caller, { instanceId: inst.id, name: 'sm-test', noReboot: true });
  assert.equal(img.state, 'pending');
  assert.deepEqual(rt.calls, [`freeze ${inst.id}`]);
  await settle();
  assert.equal((await app.ctx.store.images.get(img.id))!.state, 'available');
  const snap = await app.ctx.store.snapshots.get(img.blockDeviceMappings[0].ebs!.snapshotId!);
  assert.equal(snap!.state, 'completed');
  rt.calls.length = 0;
  await createImageFromInstance(app.ctx, caller, { instanceId: inst.id, name: 'sm-test-2' });
  assert.deepEqual(rt.calls, [`stop ${inst.id}`, `start ${inst.id}`], 'the default reboots the instance around the copy');
  await settle();
});

test('MaxCount is capped by the live-instance limit; a MinCount beyond it launches nothing', async () => {
  const other: Caller = { account: '999988887777', region: 'us-east-1' };
  const first = await runInstances(app.ctx, other, { imageId: baseImage, minCount: 1, maxCount: 15, instanceType: 't3.nano' });
  assert.equal(first.length, 15);
  const more = await runInstances(app.ctx, other, { imageId: baseImage, minCount: 1, maxCount: 10, instanceType: 't3.nano' });
  assert.equal(more.length, 5, 'only the room left under 20 live instances');
  await assert.rejects(runInstances(app.ctx, other, { imageId: baseImage, minCount: 1, maxCount: 1 }), { code: 'InstanceLimitExceeded' });
  await settle();
  await changeState(app.ctx, other, first.map((i) => i.id), 'terminate');
  await settle();
  const after = await runInstances(app.ctx, other, { imageId: baseImage, minCount: 2, maxCount: 2, instanceType: 't3.nano' });
  assert.equal(after.length, 2, 'terminated instances do not count');
  await settle();
  await changeState(app.ctx, other, [...more, ...after].map((i) => i.id), 'terminate');
  await settle();
});

test('a ClientToken names its launch: the same request gets the same instances, a different one IdempotentParameterMismatch', async () => {
  const req = { imageId: baseImage, minCount: 1, maxCount: 2, instanceType: 't3.nano', clientToken: 'launch-1' };
  const a = await runInstances(app.ctx, caller, req);
  const b = await runInstances(app.ctx, caller, { ...req });
  assert.deepEqual(b.map((i) => i.id), a.map((i) => i.id));
  await assert.rejects(runInstances(app.ctx, caller, { ...req, instanceType: 't3.small' }), { code: 'IdempotentParameterMismatch' });
  await assert.rejects(runInstances(app.ctx, caller, { ...req, clientToken: 'x'.repeat(65) }), { code: 'InvalidParameterValue' });
  await settle();
  await changeState(app.ctx, caller, a.map((i) => i.id), 'terminate');
  await settle();
});

test('a pending instance cannot be stopped; an image of another architecture cannot be launched', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  await assert.rejects(changeState(app.ctx, caller, [inst!.id], 'stop'), InvalidState);
  await settle();
  await changeState(app.ctx, caller, [inst!.id], 'terminate');
  await settle();
  const arm = await app.ctx.store.images.update(baseImage, (r) => ({ ...r, architecture: 'arm64' }));
  try {
    await assert.rejects(runInstances(app.ctx, caller, { imageId: arm.id, minCount: 1, maxCount: 1, instanceType: 't3.nano' }), { code: 'InvalidParameterValue' });
  } finally {
    await app.ctx.store.images.update(baseImage, (r) => ({ ...r, architecture: 'x86_64' }));
  }
});

test('a terminated instance is shown for an hour, then gone: not listed, and NotFound by id', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  await settle();
  await changeState(app.ctx, caller, [inst!.id], 'terminate');
  await settle();
  assert.equal((await visibleInstances(app.ctx, caller, [inst!.id]))[0]!.state, 'terminated');
  assert.ok((await visibleInstances(app.ctx, caller)).some((i) => i.id === inst!.id));
  await app.ctx.store.instances.update(inst!.id, (i) => ({ ...i, terminatedAt: new Date(Date.now() - TERMINATED_VISIBLE_MS - 1000).toISOString() }));
  assert.ok(!(await visibleInstances(app.ctx, caller)).some((i) => i.id === inst!.id));
  await assert.rejects(visibleInstances(app.ctx, caller, [inst!.id]), NotFound);
});

test('launch times and image creation dates are whole seconds, as AWS gives them', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  assert.match(inst!.launchTime, /\.000Z$/);
  await settle();
  const image = await createImageFromInstance(app.ctx, caller, { instanceId: inst!.id, name: `whole-seconds-${Date.now()}` });
  assert.match(image.creationDate, /\.000Z$/);
  await settle();
  await changeState(app.ctx, caller, [inst!.id], 'terminate');
  await settle();
});

test('an image without ENA support launches on Xen types (t2) but not on Nitro ones (t3), as on AWS', async () => {
  const noEna = await app.ctx.store.images.update(baseImage, (r) => ({ ...r, enaSupport: false }));
  try {
    await assert.rejects(runInstances(app.ctx, caller, { imageId: noEna.id, minCount: 1, maxCount: 1, instanceType: 't3.nano' }), { code: 'InvalidParameterCombination' });
    const [inst] = await runInstances(app.ctx, caller, { imageId: noEna.id, minCount: 1, maxCount: 1, instanceType: 't2.nano' });
    await settle();
    await changeState(app.ctx, caller, [inst!.id], 'terminate');
    await settle();
  } finally {
    await app.ctx.store.images.update(baseImage, (r) => ({ ...r, enaSupport: true }));
  }
});

test('DescribeInstanceStatus checks come from the runtime: a running record whose container is gone is impaired', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  await settle();
  const check = async () => statusOf((await instanceStatuses(app.ctx, caller, [inst.id], true))[0]!).InstanceStatus;
  assert.equal((await check())?.Status, 'ok');
  rt.running.delete(inst.id); // the container vanished behind Kiln's back (no exit event: the record still says running)
  assert.equal(await state(inst.id), 'running');
  const impaired = await check();
  assert.deepEqual([impaired?.Status, impaired?.Details?.[0]?.Status], ['impaired', 'failed']);
  await changeState(app.ctx, caller, [inst.id], 'terminate');
  await settle();
});

test('a guest exit the runtime reports ends the instance stopped, or terminated by its shutdown behaviour', async () => {
  const [keep] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  const [gone] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano', shutdownBehavior: 'terminate' });
  await settle();
  rt.guestExit(keep.id);
  rt.guestExit(gone.id);
  await settle();
  const rec = (await app.ctx.store.instances.get(keep.id))!;
  assert.deepEqual([rec.state, rec.stateReason?.code], ['stopped', 'Client.InstanceInitiatedShutdown']);
  assert.equal(await state(gone.id), 'terminated');
  await changeState(app.ctx, caller, [keep.id], 'terminate');
  await settle();
});

test('a stop asked for during a reboot wins: the reboot does not bring the instance back to running', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  await settle();
  await changeState(app.ctx, caller, [inst.id], 'reboot');
  await changeState(app.ctx, caller, [inst.id], 'stop');
  await settle();
  assert.equal(await state(inst.id), 'stopped');
  await changeState(app.ctx, caller, [inst.id], 'terminate');
  await settle();
});

test('a terminate racing a guest exit ends terminated, not stopped', async () => {
  const [inst] = await runInstances(app.ctx, caller, { imageId: baseImage, minCount: 1, maxCount: 1, instanceType: 't3.nano' });
  await settle();
  rt.guestExit(inst.id);
  await changeState(app.ctx, caller, [inst.id], 'terminate');
  await settle();
  assert.equal(await state(inst.id), 'terminated');
});
