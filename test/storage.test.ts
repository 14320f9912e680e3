/**
 * What the block store holds, what deleting frees, and what fsck finds, with
 * `kiln storage`, `kiln gc` and `kiln fsck` as an operator runs them against a
 * server with real instances in the volume pool:
 *
 *  - two images captured from one instance share every block but the newer
 *    one's changes; `kiln storage` says how many bytes only the newer one
 *    holds, and deregistering it with its snapshots frees exactly those;
 *  - nothing the older image refers to is deleted (fsck is clean; a launch
 *    of it reads back the file written before it was captured);
 *  - a byte flipped in one of its blocks on disk: fsck exits 1 naming the
 *    snapshot and the image; the snapshot is `error`; RunInstances and
 *    CreateVolume refuse it with IncorrectState; the catalog image still launches;
 *  - a damaged base file in the pool is reported and dropped, and built again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateImageCommand, CreateVolumeCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeSnapshotsCommand, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { BlockHash } from '../src/blocks/blocks.js';
import type { PackBlockStore } from '../src/blocks/pack/pack-store.js';
import { ensureAdminToken } from '../src/server/admin-token.js';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('instances');
let kiln: Kiln;
let ec2: EC2Client;

before(async () => {
  if (skip) return;
  kiln = await startKiln({ pool: 'auto' });
  ec2 = kiln.client();
  await ensureAdminToken(kiln.dataDir); // as kiln serve makes it at its first start
});
after(async () => { await kiln?.close(); });

/** The kiln CLI against the test's server; its exit code and stdout. */
async function kilnCli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await execFileP(process.execPath, [resolve('bin/kiln.js'), ...args, '--endpoint', kiln.endpoint, '--data', kiln.dataDir]);
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, out: e.stdout + e.stderr };
  }
}
const json = async (...args: string[]) => JSON.parse((await kilnCli(...args, '--json')).out);

async function launch(imageId: string, userData?: string): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: userData }));
  const id = r.Instances![0]!.InstanceId!;
  await until(`${id} running`, async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State?.Name === 'running');
  return id;
}

async function capture(instanceId: string, name: string): Promise<{ imageId: string; snapshotId: string }> {
  const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name, NoReboot: true }));
  const img = await until(`${name} available`, async () => {
    const i = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0]!;
    return i.State === 'available' && i;
  }, 120_000);
  return { imageId: ImageId!, snapshotId: img.BlockDeviceMappings![0]!.Ebs!.SnapshotId! };
}

const errorCode = (p: Promise<unknown>) => p.then(() => 'none', (e: { name?: string }) => e.name ?? String(e));

test('storage, gc and fsck: exact bytes freed, nothing referenced lost, damage found and refused', { skip, timeout: 300_000 }, async () => {
  const minimal = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0]!;
  const s0 = minimal.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  const builder = await launch(minimal.ImageId!);
  await inInstance(kiln, builder, 'dd if=/dev/urandom of=/root/a bs=1M count=4 2>/dev/null; sha256sum /root/a > /root/a.sum; sync');
  const a = await capture(builder, 'storage-a');
  await inInstance(kiln, builder, 'dd if=/dev/urandom of=/root/b bs=1M count=3 2>/dev/null; sync');
  const b = await capture(builder, 'storage-b');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [builder] }));

  // FullSnapshotSizeInBytes: the bytes of the blocks each snapshot holds.
  const snaps = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [a.snapshotId, b.snapshotId] }))).Snapshots!;
  const full = Object.fromEntries(snaps.map((s) => [s.SnapshotId!, s.FullSnapshotSizeInBytes!]));
  assert.ok(full[b.snapshotId]! >= full[a.snapshotId]! + 3 * 1024 * 1024, JSON.stringify(full));

  const report = await json('storage');
  const only = (id: string) => report.images.find((i: { imageId: string }) => i.imageId === id).uniqueBytes as number;
  assert.ok(only(b.imageId) >= 3 * 1024 * 1024, `image b alone holds ${only(b.imageId)} bytes`);
  assert.equal(report.snapshots.find((s: { snapshotId: string }) => s.snapshotId === b.snapshotId).fullBytes, full[b.snapshotId]);
  const human = await kilnCli('storage');
  assert.equal(human.code, 0);
  assert.match(human.out, new RegExp(`${b.snapshotId} .*${b.imageId}`));

  await ec2.send(new DeregisterImageCommand({ ImageId: b.imageId, DeleteAssociatedSnapshots: true }));
  const dry = await json('gc', '--dry-run');
  assert.equal(dry.dryRun, true);
  const gc = await json('gc');
  assert.equal(gc.plan.missing, 0);
  // The background prune DeleteSnapshot asks for may have run first: measure the store, not one report.
  assert.equal(report.store.blockBytes - gc.after.blockBytes, only(b.imageId));
  assert.equal((await json('gc', '--dry-run')).plan.unreferenced, 0);

  const clean = await kilnCli('fsck');
  assert.equal(clean.code, 0, clean.out);
  assert.match(clean.out, / 0 corrupt, 0 missing/);
  const reader = await launch(a.imageId);
  assert.equal(await inInstance(kiln, reader, 'sha256sum -c /root/a.sum >/dev/null && echo intact'), 'intact\n');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [reader] }));

  // Flip one byte of a block only image a holds, where the store keeps it.
  const mapA = (await kiln.app.ctx.store.blockMaps.get(a.snapshotId))!;
  const mapS0 = new Set((await kiln.app.ctx.store.blockMaps.get(s0))!.blocks.map(([, h]) => h));
  const victim = mapA.blocks.map(([, h]) => h).find((h) => !mapS0.has(h)) as BlockHash;
  const at = (kiln.app.ctx.blocks as PackBlockStore).locate(victim)!;
  await flipByte(at.path, at.offset + 7);
  // And one byte of the catalog image's base file in the pool.
  const s0Base = join(kiln.dataDir, 'volumes', '.bases', `${s0}.img`);
  await chmod(s0Base, 0o644);
  await flipByte(s0Base, (await kiln.app.ctx.store.blockMaps.get(s0))!.blocks[0]![0] * 524288 + 3);

  const damaged = await kilnCli('fsck');
  assert.equal(damaged.code, 1, damaged.out);
  assert.match(damaged.out, new RegExp(`${a.snapshotId} .*DAMAGED, 1 corrupt .*${a.imageId}`));
  assert.match(damaged.out, new RegExp(`${s0}: blocks`));
  const snapA = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [a.snapshotId] }))).Snapshots![0]!;
  assert.equal(snapA.State, 'error');
  assert.equal(await errorCode(ec2.send(new RunInstancesCommand({ ImageId: a.imageId, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }))), 'IncorrectState');
  assert.equal(await errorCode(ec2.send(new CreateVolumeCommand({ SnapshotId: a.snapshotId, AvailabilityZone: 'us-east-1a' }))), 'IncorrectState');
  // The catalog image's blocks are sound: it launches, over a base built again from them.
  assert.equal((await kiln.app.ctx.store.snapshots.get(s0))!.state, 'completed');
  const again = await launch(minimal.ImageId!);
  assert.deepEqual(await kiln.app.ctx.pool.checkBase(s0, (await kiln.app.ctx.store.blockMaps.get(s0))!), []);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [again] }));
});

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] ^= 0x55;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}
