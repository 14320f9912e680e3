/**
 * Launching over the volume pool (pool mode auto: an XFS pool file on this
 * host's plain filesystem): a launch volume is a reflink clone of its
 * snapshot's base, the instance writes to it, an image captured from it is
 * launched as a clone of the new snapshot's base and holds what was written.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';
import { findExecutable } from '../src/runtime/runc/host.js';

const skip = (await skipUnless('instances')) || (!(await findExecutable('mkfs.xfs')) && skipOrFail('mkfs.xfs is absent (Debian package xfsprogs)'));
let kiln: Kiln;
let ec2: EC2Client;

before(async () => { if (!skip) { kiln = await startKiln({ pool: 'auto' }); ec2 = kiln.client(); } });
after(async () => { await kiln?.close(); });

async function launch(imageId: string, userData?: string): Promise<string> {
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: userData }));
  const id = Instances[0]!.InstanceId!;
  await until(`${id} running`, async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!.State?.Name === 'running');
  return id;
}

const rootSnapshot = async (imageId: string) =>
  (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;

test('launches are clones of per-snapshot bases in the XFS pool; a captured image launches as a clone too', { skip, timeout: 180_000 }, async () => {
  assert.equal(kiln.app.ctx.pool.mode, 'xfs-loop', kiln.app.ctx.pool.reason);
  const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const writer = await launch(base, Buffer.from('#!/bin/sh\necho "written in the pool" > /root/pool.txt\nsync\n').toString('base64'));
  assert.deepEqual(await kiln.app.ctx.pool.baseSnapshots(), [await rootSnapshot(base)]);
  await until('the user data to write', async () => (await inInstance(kiln, writer, 'cat /root/pool.txt 2>/dev/null || true')) === 'written in the pool\n');

  const { ImageId: captured } = await ec2.send(new CreateImageCommand({ InstanceId: writer, Name: 'pooled', NoReboot: true }));
  await until('the image', async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [captured!] }))).Images![0]!.State === 'available', 120_000);
  const reader = await launch(captured!);
  assert.equal(await inInstance(kiln, reader, 'cat /root/pool.txt'), 'written in the pool\n');
  assert.deepEqual(await kiln.app.ctx.pool.baseSnapshots(), [await rootSnapshot(base), await rootSnapshot(captured!)].sort());
  // Each instance's root volume is its own: what the reader writes, the writer does not see.
  await inInstance(kiln, reader, 'echo changed > /root/pool.txt && sync');
  assert.equal(await inInstance(kiln, writer, 'cat /root/pool.txt'), 'written in the pool\n');
});
