/**
 * Volumes through @aws-sdk/client-ec2 against a real Kiln: CreateVolume
 * (empty: a real sparse ext4 file; from a snapshot, grown), DescribeVolumes
 * with filters and pages, DescribeVolumeStatus, DeleteVolume, the waiters,
 * and the error codes of bad requests. Attach/detach through real instances
 * is in test/volumes-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateSnapshotCommand, CreateVolumeCommand, DeleteVolumeCommand, DescribeVolumesCommand, DescribeVolumeStatusCommand,
  waitUntilSnapshotCompleted, waitUntilVolumeAvailable, waitUntilVolumeDeleted,
} from '@aws-sdk/client-ec2';
import type { CreateVolumeCommandInput, EC2Client } from '@aws-sdk/client-ec2';
import type { Kiln } from '../../../test/harness.js';
import { startKiln } from '../../../test/harness.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
const AZ = 'us-east-1a';

let kiln: Kiln;
let ec2: EC2Client;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return (err as { name: string }).name; }
}
const wait = { maxWaitTime: 60, minDelay: 1, maxDelay: 1 };

async function newVolume(input: Partial<CreateVolumeCommandInput> = {}): Promise<string> {
  const v = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1, ...input }));
  await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
  return v.VolumeId!;
}

const debugfs = async (file: string, cmd: string, write = false) =>
  (await run('/usr/sbin/debugfs', [...(write ? ['-w'] : []), '-R', cmd, file])).stdout;

before(async () => {
  kiln = await startKiln();
  ec2 = kiln.client();
});

after(async () => kiln?.close());

describe('CreateVolume', () => {
  test('an encrypted volume reports its KMS key (the one named, else the account\'s aws/ebs key), and its snapshot the same', async () => {
    const plain = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1 }));
    assert.equal(plain.KmsKeyId, undefined);
    const byDefault = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1, Encrypted: true }));
    assert.match(byDefault.KmsKeyId ?? '', /^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);
    const key = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';
    const named = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1, Encrypted: true, KmsKeyId: key }));
    assert.equal(named.KmsKeyId, key);
    await assert.rejects(ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1, KmsKeyId: key })), { name: 'InvalidParameterDependency' });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [plain.VolumeId!, byDefault.VolumeId!, named.VolumeId!] });
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: named.VolumeId! }));
    assert.deepEqual([snap.Encrypted, snap.KmsKeyId], [true, key]);
    await waitUntilSnapshotCompleted({ client: ec2, ...wait }, { SnapshotIds: [snap.SnapshotId!] });
    for (const v of [plain, byDefault, named]) await ec2.send(new DeleteVolumeCommand({ VolumeId: v.VolumeId! }));
  });

  test('a retry with the same ClientToken gets the same volume; other parameters get IdempotentParameterMismatch', async () => {
    const input = { AvailabilityZone: AZ, Size: 1, ClientToken: `retry-${Date.now()}` };
    const a = await ec2.send(new CreateVolumeCommand(input));
    const b = await ec2.send(new CreateVolumeCommand(input));
    assert.equal(b.VolumeId, a.VolumeId);
    await assert.rejects(ec2.send(new CreateVolumeCommand({ ...input, Size: 2 })), { name: 'IdempotentParameterMismatch' });
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [a.VolumeId!] });
    await ec2.send(new DeleteVolumeCommand({ VolumeId: a.VolumeId! }));
  });

  test('an empty volume is a sparse file holding a fresh ext4 filesystem', async () => {
    const v = await ec2.send(new CreateVolumeCommand({
      AvailabilityZone: AZ, Size: 3, VolumeType: 'gp3', TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'data' }] }],
    }));
    assert.equal(v.State, 'creating');
    assert.equal(v.Size, 3);
    assert.equal(v.SnapshotId, '');
    assert.deepEqual([v.Iops, v.Throughput], [3000, 125]);
    assert.deepEqual(v.Tags, [{ Key: 'Name', Value: 'data' }]);
    await waitUntilVolumeAvailable({ client: ec2, ...wait }, { VolumeIds: [v.VolumeId!] });
    const file = kiln.app.ctx.paths.volume(v.VolumeId!);
    const st = await stat(file);
    assert.equal(st.size, 3 * GiB);
    assert.ok(st.blocks * 512 < 64 * 1024 * 1024, `not sparse: ${st.blocks * 512} bytes allocated`);
    assert.match(await debugfs(file, 'stats'), /Filesystem magic number:\s+0xEF53/);
  });

  test('from a snapshot: the snapshot content, grown to the size asked (file and filesystem)', async () => {
    const src = await newVolume();
    const srcFile = kiln.app.ctx.paths.volume(src);
    await run('sh', ['-c', `echo from-snapshot > ${kiln.dataDir}/hello.txt`]);
    await debugfs(srcFile, `write ${kiln.dataDir}/hello.txt hello.txt`, true);
    const snap = await ec2.send(new CreateSnapshotCommand({ VolumeId: src }));
    await waitUntilSnapshotCompleted({ client: ec2, ...wait }, { SnapshotIds: [snap.SnapshotId!] });
    const id = await newVolume({ SnapshotId: snap.SnapshotId, Size: 2 });
    const [v] = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [id] }))).Volumes!;
    assert.equal(v.SnapshotId, snap.SnapshotId);
    assert.equal(v.Size, 2);
    const file = kiln.app.ctx.paths.volume(id);
    assert.equal((await stat(file)).size, 2 * GiB);
    assert.equal(await debugfs(file, 'cat /hello.txt'), 'from-snapshot\n');
    const blocks = Number(/Block count:\s+(\d+)/.exec(await debugfs(file, 'stats'))![1]);
    const blockSize = Number(/Block size:\s+(\d+)/.exec(await debugfs(file, 'stats'))![1]);
    assert.equal(blocks * blockSize, 2 * GiB, 'the filesystem was not grown');
    // The size defaults to the snapshot's; a size below it is refused.
    const same = await newVolume({ SnapshotId: snap.SnapshotId, Size: undefined });
    assert.equal((await ec2.send(new DescribeVolumesCommand({ VolumeIds: [same] }))).Volumes![0].Size, 1);
    const big = await ec2.send(new CreateSnapshotCommand({ VolumeId: id }));
    await waitUntilSnapshotCompleted({ client: ec2, ...wait }, { SnapshotIds: [big.SnapshotId!] });
    assert.equal(await codeOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, SnapshotId: big.SnapshotId, Size: 1 }))), 'InvalidParameterValue');
  });

  test('bad requests answer AWS error codes and create nothing', async () => {
    const before = (await ec2.send(new DescribeVolumesCommand({}))).Volumes!.length;
    const cases: Array<[string, Partial<CreateVolumeCommandInput>]> = [
      ['MissingParameter', { AvailabilityZone: undefined }],
      ['InvalidParameterValue', { AvailabilityZone: 'us-east-1z' }],
      ['MissingParameter', { Size: undefined }],
      ['InvalidParameterValue', { Size: 0 }],
      ['InvalidParameterValue', { Size: 20000 }],
      ['InvalidParameterValue', { VolumeType: 'ssd' as never }],
      ['InvalidParameterValue', { VolumeType: 'st1', Size: 10 }],
      ['MissingParameter', { VolumeType: 'io1', Size: 10 }],
      ['InvalidParameterCombination', { VolumeType: 'gp2', Iops: 3000 }],
      ['InvalidParameterCombination', { VolumeType: 'io2', Size: 10, Iops: 1000, Throughput: 200 }],
      ['InvalidParameterValue', { VolumeType: 'gp3', Iops: 100 }],
      ['InvalidSnapshotID.Malformed', { SnapshotId: 'snap-nope' }],
      ['InvalidSnapshot.NotFound', { SnapshotId: 'snap-0123456789abcdef0' }],
      ['InvalidParameterValue', { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }],
    ];
    for (const [code, input] of cases) {
      assert.equal(await codeOf(ec2.send(new CreateVolumeCommand({ AvailabilityZone: AZ, Size: 1, ...input }))), code, JSON.stringify(input));
    }
    assert.equal((await ec2.send(new DescribeVolumesCommand({}))).Volumes!.length, before);
  });

  test('io1/io2 volumes keep their IOPS; gp2 reports its baseline', async () => {
    const io = await newVolume({ VolumeType: 'io2', Size: 10, Iops: 5000 });
    const gp2 = await newVolume({ VolumeType: 'gp2', Size: 50 });
    const vols = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [io, gp2] }))).Volumes!;
    assert.deepEqual(vols.map((v) => [v.VolumeType, v.Iops]), [['io2', 5000], ['gp2', 150]]);
  });
});

describe('DescribeVolumes', () => {
  test('filters, pages and ids', async () => {
    const tagged = await newVolume({ Size: 7, AvailabilityZone: 'us-east-1b', TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'blue' }] }] });
    const ids = async (Filters: Array<{ Name: string; Values: string[] }>) =>
      (await ec2.send(new DescribeVolumesCommand({ Filters }))).Volumes!.map((v) => v.VolumeId);
    assert.deepEqual(await ids([{ Name: 'tag:team', Values: ['bl*'] }]), [tagged]);
    assert.deepEqual(await ids([{ Name: 'size', Values: ['7'] }, { Name: 'availability-zone', Values: ['us-east-1b'] }]), [tagged]);
    assert.deepEqual(await ids([{ Name: 'volume-id', Values: [tagged] }, { Name: 'status', Values: ['available'] }]), [tagged]);
    assert.deepEqual(await ids([{ Name: 'volume-id', Values: [tagged] }, { Name: 'status', Values: ['in-use'] }]), []);
    assert.deepEqual(await ids([{ Name: 'attachment.instance-id', Values: ['i-*'] }]), []);
    assert.equal(await codeOf(ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] }))), 'InvalidParameterValue');

    const all = (await ec2.send(new DescribeVolumesCommand({}))).Volumes!.map((v) => v.VolumeId);
    assert.ok(all.length > 5, `only ${all.length} volumes`);
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await ec2.send(new DescribeVolumesCommand({ MaxResults: 5, NextToken: token }));
      assert.ok(page.Volumes!.length <= 5);
      paged.push(...page.Volumes!.map((v) => v.VolumeId!));
      token = page.NextToken;
    } while (token);
    assert.deepEqual(paged, all);

    assert.equal(await codeOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-nope'] }))), 'InvalidVolumeID.Malformed');
    assert.equal(await codeOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef0'] }))), 'InvalidVolume.NotFound');
    assert.equal(await codeOf(ec2.send(new DescribeVolumesCommand({ VolumeIds: [tagged], MaxResults: 5 }))), 'InvalidParameterCombination');
    assert.equal(await codeOf(ec2.send(new DescribeVolumesCommand({ MaxResults: 4 }))), 'InvalidParameterValue');
    assert.ok((await ec2.send(new DescribeVolumesCommand({ MaxResults: 1000 }))).Volumes, 'above 500 answers 500 at most, as the aws-cli asks for 1000');
    const status = await ec2.send(new DescribeVolumeStatusCommand({ VolumeIds: [tagged] }));
    assert.equal(status.VolumeStatuses![0].VolumeStatus!.Status, 'ok');
  });
});

describe('DeleteVolume', () => {
  test('deletes the file and the record; the volume-deleted waiter sees it go', async () => {
    const id = await newVolume();
    const file = kiln.app.ctx.paths.volume(id);
    await ec2.send(new DeleteVolumeCommand({ VolumeId: id }));
    await waitUntilVolumeDeleted({ client: ec2, ...wait }, { VolumeIds: [id] });
    assert.equal(await stat(file).then(() => true, () => false), false);
    assert.equal(await codeOf(ec2.send(new DeleteVolumeCommand({ VolumeId: id }))), 'InvalidVolume.NotFound');
    assert.equal(await codeOf(ec2.send(new DeleteVolumeCommand({ VolumeId: 'vol-x' }))), 'InvalidVolumeID.Malformed');
    assert.equal(await codeOf(ec2.send(new DeleteVolumeCommand({} as never))), 'MissingParameter');
  });
});
