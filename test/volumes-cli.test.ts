/**
 * Volumes and snapshots with the real aws-cli and real instances (runc): an
 * empty volume attached to a running instance appears in it at /mnt/xvdf,
 * the instance's user data writes a file there; detached, snapshotted, made
 * into a new volume attached to a second instance (at /dev/sdg), the file is
 * there. Attached volumes stay across stop/start, terminate detaches them,
 * and nothing is left mounted. Needs root and runc; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Kiln } from './harness.js';
import { aws, awsErrorCode, inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const run = promisify(execFile);
const skip = await skipUnless('aws-cli', 'instances');

const WRITER = `#!/bin/sh
i=0
while ! grep -q ' /mnt/xvdf ' /proc/mounts; do sleep 0.2; i=$((i+1)); [ $i -gt 600 ] && exit 1; done
echo "written by $(cat /run/kiln/instance-id)" > /mnt/xvdf/hello.txt
sync
echo "data-volume: wrote $(cat /mnt/xvdf/hello.txt)"
`;

const READER = `#!/bin/sh
i=0
while [ ! -e /mnt/sdg/hello.txt ]; do sleep 0.2; i=$((i+1)); [ $i -gt 600 ] && exit 1; done
echo "data-volume: found $(cat /mnt/sdg/hello.txt)"
`;

let kiln: Kiln;
let ami = '';
const cli = (args: string[]) => aws(kiln.endpoint, ['ec2', ...args]);

const cliCode = (args: string[]) => awsErrorCode(cli(args));

async function volumeState(id: string): Promise<{ State: string; Attachments: Array<{ InstanceId: string; Device: string }> }> {
  return (await cli(['describe-volumes', '--volume-ids', id])).Volumes[0];
}

async function launch(userData: string, az = 'us-east-1a'): Promise<string> {
  const file = join(kiln.dataDir, `ud-${Date.now()}.sh`);
  await writeFile(file, userData);
  const r = await cli(['run-instances', '--image-id', ami, '--instance-type', 't3.micro', '--user-data', `file://${file}`,
    '--placement', `AvailabilityZone=${az}`]);
  const id = r.Instances[0].InstanceId as string;
  await until(`${id} running`, async () => (await cli(['describe-instances', '--instance-ids', id])).Reservations[0].Instances[0].State.Name === 'running');
  await cli(['wait', 'instance-running', '--instance-ids', id]);
  return id;
}

/** The aws-cli decodes the base64 console output itself. */
const consoleOf = async (id: string): Promise<string> => (await cli(['get-console-output', '--instance-id', id]))?.Output ?? '';

async function newVolume(args: string[]): Promise<string> {
  const v = await cli(['create-volume', ...args]);
  assert.equal(v.State, 'creating');
  await until(`${v.VolumeId} available`, async () => (await volumeState(v.VolumeId)).State === 'available');
  await cli(['wait', 'volume-available', '--volume-ids', v.VolumeId]);
  return v.VolumeId;
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4]).filter((m) => m && m.startsWith(`${dir}/`));
}

const loopsFor = async (file: string) => (await run('losetup', ['-j', file])).stdout.trim();

describe('volumes and snapshots through the aws-cli and real instances', { skip }, () => {
  let writer = '';
  let reader = '';
  let blank = '';
  let restored = '';
  let snapshot = '';

  before(async () => {
    kiln = await startKiln();
    ami = (await cli(['describe-images', '--owners', 'amazon'])).Images[0].ImageId;
  });

  after(async () => kiln?.close());

  test('an empty volume attached to a running instance is usable inside it', async () => {
    [writer, blank] = await Promise.all([launch(WRITER), newVolume(['--size', '1', '--availability-zone', 'us-east-1a', '--volume-type', 'gp3'])]);
    const att = await cli(['attach-volume', '--volume-id', blank, '--instance-id', writer, '--device', '/dev/xvdf']);
    assert.deepEqual([att.State, att.Device, att.InstanceId], ['attaching', '/dev/xvdf', writer]);
    await cli(['wait', 'volume-in-use', '--volume-ids', blank]);
    const v = await volumeState(blank);
    assert.deepEqual([v.State, v.Attachments[0].InstanceId, v.Attachments[0].Device], ['in-use', writer, '/dev/xvdf']);
    await until('the instance to write to its new volume', async () => (await consoleOf(writer)).includes(`data-volume: wrote written by ${writer}`));
    const mappings = (await cli(['describe-instances', '--instance-ids', writer])).Reservations[0].Instances[0].BlockDeviceMappings;
    assert.deepEqual(mappings.map((m: { DeviceName: string; Ebs: { VolumeId: string } }) => m.DeviceName), ['/dev/xvda', '/dev/xvdf']);
    assert.equal(mappings[1].Ebs.VolumeId, blank);
    assert.equal(mappings[1].Ebs.DeleteOnTermination, false);
    const filtered = await cli(['describe-volumes', '--filters', `Name=attachment.instance-id,Values=${writer}`, 'Name=attachment.device,Values=/dev/xvdf']);
    assert.deepEqual(filtered.Volumes.map((x: { VolumeId: string }) => x.VolumeId), [blank]);
  });

  test('bad attachments answer AWS error codes', async () => {
    const other = await newVolume(['--size', '1', '--availability-zone', 'us-east-1b']);
    assert.equal(await cliCode(['attach-volume', '--volume-id', other, '--instance-id', writer, '--device', '/dev/sdh']), 'InvalidVolume.ZoneMismatch');
    const spare = await newVolume(['--size', '1', '--availability-zone', 'us-east-1a']);
    assert.equal(await cliCode(['attach-volume', '--volume-id', spare, '--instance-id', writer, '--device', '/dev/sdz']), 'InvalidParameterValue');
    assert.equal(await cliCode(['attach-volume', '--volume-id', spare, '--instance-id', writer, '--device', '/dev/xvda']), 'InvalidParameterValue');
    assert.equal(await cliCode(['attach-volume', '--volume-id', spare, '--instance-id', writer, '--device', '/dev/sdf']), 'InvalidParameterValue');
    assert.equal(await cliCode(['attach-volume', '--volume-id', blank, '--instance-id', writer, '--device', '/dev/sdh']), 'VolumeInUse');
    assert.equal(await cliCode(['attach-volume', '--volume-id', spare, '--instance-id', 'i-0123456789abcdef0', '--device', '/dev/sdh']), 'InvalidInstanceID.NotFound');
    assert.equal(await cliCode(['delete-volume', '--volume-id', blank]), 'VolumeInUse');
    const root = (await cli(['describe-volumes', '--filters',
      `Name=attachment.instance-id,Values=${writer}`, 'Name=attachment.device,Values=/dev/xvda'])).Volumes[0].VolumeId;
    assert.equal(await cliCode(['detach-volume', '--volume-id', root]), 'IncorrectState');
    assert.equal(await cliCode(['detach-volume', '--volume-id', spare]), 'IncorrectState');
    assert.equal(await cliCode(['detach-volume', '--volume-id', blank, '--instance-id', 'i-0123456789abcdef0']), 'InvalidInstanceID.NotFound');
    for (const id of [other, spare]) await cli(['delete-volume', '--volume-id', id]);
    assert.equal((await volumeState(blank)).State, 'in-use');
  });

  test('detach takes it out of the instance; a snapshot of it holds the file', async () => {
    const d = await cli(['detach-volume', '--volume-id', blank]);
    assert.deepEqual([d.State, d.InstanceId], ['detaching', writer]);
    await cli(['wait', 'volume-available', '--volume-ids', blank]);
    assert.deepEqual((await volumeState(blank)).Attachments, []);
    assert.equal(await inInstance(kiln, writer, "grep -c ' /mnt/xvdf ' /proc/mounts || true"), '0\n');
    assert.equal(await loopsFor(kiln.app.ctx.paths.volume(blank)), '');
    const s = await cli(['create-snapshot', '--volume-id', blank, '--description', 'data of the writer',
      '--tag-specifications', 'ResourceType=snapshot,Tags=[{Key=Name,Value=writer-data}]']);
    snapshot = s.SnapshotId;
    assert.equal(s.State, 'pending');
    await until(`${snapshot} completed`, async () => (await cli(['describe-snapshots', '--snapshot-ids', snapshot])).Snapshots[0].State === 'completed');
    await cli(['wait', 'snapshot-completed', '--snapshot-ids', snapshot]);
    const listed = await cli(['describe-snapshots', '--owner-ids', 'self', '--filters', 'Name=tag:Name,Values=writer-data']);
    assert.deepEqual(listed.Snapshots.map((x: { SnapshotId: string }) => x.SnapshotId), [snapshot]);
  });

  test('a volume from the snapshot, attached to a second instance, has the file', async () => {
    [reader, restored] = await Promise.all([
      launch(READER), newVolume(['--snapshot-id', snapshot, '--size', '2', '--availability-zone', 'us-east-1a']),
    ]);
    await cli(['attach-volume', '--volume-id', restored, '--instance-id', reader, '--device', '/dev/sdg']);
    await until('the second instance to find the file', async () => (await consoleOf(reader)).includes(`data-volume: found written by ${writer}`));
    assert.match(await inInstance(kiln, reader, 'df -k /mnt/sdg | tail -1'), /\s\/mnt\/sdg$/m);
  });

  test('a snapshot of a volume in use by a running instance is taken frozen, consistent', async () => {
    await inInstance(kiln, reader, 'echo live > /mnt/sdg/live.txt');
    const s = await cli(['create-snapshot', '--volume-id', restored]);
    await until(`${s.SnapshotId} completed`, async () => (await cli(['describe-snapshots', '--snapshot-ids', s.SnapshotId])).Snapshots[0].State === 'completed');
    const copy = await newVolume(['--snapshot-id', s.SnapshotId, '--availability-zone', 'us-east-1a']);
    const { stdout } = await run('/usr/sbin/debugfs', ['-R', 'cat /live.txt', kiln.app.ctx.paths.volume(copy)]);
    assert.equal(stdout, 'live\n');
    assert.equal((await volumeState(restored)).State, 'in-use');
  });

  test('attached volumes stay attached across stop/start and are mounted again', async () => {
    await cli(['stop-instances', '--instance-ids', reader]);
    await until(`${reader} stopped`, async () => (await cli(['describe-instances', '--instance-ids', reader])).Reservations[0].Instances[0].State.Name === 'stopped');
    const v = await volumeState(restored);
    assert.deepEqual([v.State, v.Attachments[0]?.InstanceId], ['in-use', reader]);
    assert.equal(await loopsFor(kiln.app.ctx.paths.volume(restored)), '');
    await cli(['start-instances', '--instance-ids', reader]);
    await until(`${reader} running`, async () => (await cli(['describe-instances', '--instance-ids', reader])).Reservations[0].Instances[0].State.Name === 'running');
    assert.equal(await inInstance(kiln, reader, 'cat /mnt/sdg/hello.txt'), `written by ${writer}\n`);
  });

  test('a root volume detaches only from a stopped instance, and attaches back at the root device', async () => {
    const stateOf = async () => (await cli(['describe-instances', '--instance-ids', writer])).Reservations[0].Instances[0].State.Name;
    const root = (await cli(['describe-volumes', '--filters', `Name=attachment.instance-id,Values=${writer}`])).Volumes[0].VolumeId;
    await cli(['stop-instances', '--instance-ids', writer]);
    await until(`${writer} stopped`, async () => (await stateOf()) === 'stopped');
    await cli(['detach-volume', '--volume-id', root]);
    assert.equal((await volumeState(root)).State, 'available');
    assert.equal(await cliCode(['attach-volume', '--volume-id', root, '--instance-id', writer, '--device', '/dev/xvdb']), 'InvalidParameterValue');
    await cli(['attach-volume', '--volume-id', root, '--instance-id', writer, '--device', '/dev/xvda']);
    await cli(['start-instances', '--instance-ids', writer]);
    await until(`${writer} running again`, async () => (await stateOf()) === 'running');
    // The same machine again: its hostname is its private IP name (ip-172-31-...), as EC2's.
    const ip = (await cli(['describe-instances', '--instance-ids', writer])).Reservations[0].Instances[0].PrivateIpAddress as string;
    assert.equal(await inInstance(kiln, writer, 'hostname'), `ip-${ip.replace(/\./g, '-')}\n`);
  });

  test('terminate detaches volumes (kept unless DeleteOnTermination, as the reader\'s root); nothing stays mounted', async () => {
    const readerRoot = (await cli(['describe-volumes', '--filters', `Name=attachment.instance-id,Values=${reader}`,
      'Name=attachment.device,Values=/dev/xvda'])).Volumes[0].VolumeId;
    await cli(['terminate-instances', '--instance-ids', writer, reader]);
    await until('both terminated', async () => (await cli(['describe-instances', '--instance-ids', writer, reader])).Reservations
      .flatMap((r: { Instances: Array<{ State: { Name: string } }> }) => r.Instances).every((i: { State: { Name: string } }) => i.State.Name === 'terminated'));
    const v = await volumeState(restored);
    assert.deepEqual([v.State, v.Attachments], ['available', []]);
    assert.equal(await cliCode(['describe-volumes', '--volume-ids', readerRoot]), 'InvalidVolume.NotFound');
    assert.deepEqual(await mountsUnder(kiln.dataDir), []);
    for (const id of [blank, restored]) assert.equal(await loopsFor(kiln.app.ctx.paths.volume(id)), '');
    await cli(['delete-volume', '--volume-id', restored]);
    await cli(['wait', 'volume-deleted', '--volume-ids', restored]);
  });
});
