/**
 * The EBS direct APIs through @aws-sdk/client-ebs against a real Kiln: a raw
 * disk file (1 GiB, sparse, 64 MiB of random data in scattered places)
 * uploaded block by block in parallel, completed with the LINEAR checksum,
 * listed (pages) and downloaded byte-identical; an incremental upload over a
 * parent and ListChangedBlocks between them; the error codes; ownership and
 * sharing; the snapshot as an ordinary EC2 snapshot (RegisterImage,
 * DescribeImages, CreateVolume); timeouts, restarts and the pruner.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CompleteSnapshotCommand, EBSClient, GetSnapshotBlockCommand, ListChangedBlocksCommand, ListSnapshotBlocksCommand,
  PutSnapshotBlockCommand, StartSnapshotCommand,
} from '@aws-sdk/client-ebs';
import type { ChangedBlock } from '@aws-sdk/client-ebs';
import { CreateVolumeCommand, DescribeImagesCommand, DescribeSnapshotsCommand, ModifySnapshotAttributeCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { BLOCK, downloadSnapshot, listBlocks, uploadDisk } from '../src/cli/disk-transfer.js';
import { createAccount } from '../src/services/accounts/accounts.js';
import { blockToken } from '../src/services/snapshots/direct-read.js';
import { tokenSecret } from '../src/services/snapshots/direct-state.js';
import { timeOutUpload } from '../src/services/snapshots/direct.js';
import type { Kiln } from './harness.js';
import { startKiln } from './harness.js';

const GiB = 1024 ** 3;
const B = { id: '444400000002', keys: { accessKeyId: 'AKIAEBSB', secretAccessKey: 'secret-ebs-b' } };

let kiln: Kiln;
let ebs: EBSClient;
let ebsB: EBSClient;
let dir: string;
let disk: string;
let parent = '';

const client = (keys = { accessKeyId: 'test', secretAccessKey: 'test' }) =>
  new EBSClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: keys, maxAttempts: 1 });

/** The error's code and Reason ("ValidationException/INVALID_BLOCK"), or 'none'. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) {
    const e = err as { name: string; Reason?: string };
    return e.Reason ? `${e.name}/${e.Reason}` : e.name;
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

/** A 1 GiB sparse file with 64 MiB of random data at random 4 KiB-aligned places (some across block boundaries, one in the last block). */
async function makeDisk(file: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.truncate(GiB);
    let written = 0;
    while (written < 64 * 1024 * 1024) {
      const len = randomInt(1, 384) * 4096;
      const at = randomInt(0, (GiB - len) / 4096) * 4096;
      await fh.write(randomBytes(len), 0, len, at);
      written += len;
    }
    await fh.write(randomBytes(4096), 0, 4096, GiB - 4096);
  } finally {
    await fh.close();
  }
}

/** The indexes of the file's blocks that are not all zeros. */
async function nonZeroBlocks(file: string): Promise<number[]> {
  const data = await readFile(file);
  const zero = Buffer.alloc(BLOCK);
  const out: number[] = [];
  for (let i = 0; i * BLOCK < data.length; i++) if (!data.subarray(i * BLOCK, (i + 1) * BLOCK).equals(zero)) out.push(i);
  return out;
}

async function put(c: EBSClient, snapshotId: string, index: number, data: Buffer, over: Record<string, unknown> = {}) {
  return c.send(new PutSnapshotBlockCommand({
    SnapshotId: snapshotId, BlockIndex: index, BlockData: data, DataLength: data.length,
    Checksum: sha(data).toString('base64'), ChecksumAlgorithm: 'SHA256', ...over,
  }));
}

async function getBlock(c: EBSClient, snapshotId: string, index: number, token: string): Promise<Buffer> {
  const r = await c.send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: index, BlockToken: token }));
  return Buffer.from(await r.BlockData!.transformToByteArray());
}

const snapshot = async (id: string) => (await kiln.client().send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;

before(async () => {
  kiln = await startKiln();
  await createAccount(kiln.app.ctx, { id: B.id, ...B.keys });
  ebs = client();
  ebsB = client(B.keys);
  dir = await mkdtemp(join(tmpdir(), 'kiln-ebs-'));
  disk = join(dir, 'disk.raw');
  await makeDisk(disk);
});

after(async () => {
  await kiln?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a raw disk through the EBS direct APIs', () => {
  test('every non-zero block uploaded in parallel and completed with the LINEAR checksum; downloaded byte-identical', async () => {
    const expected = await nonZeroBlocks(disk);
    const up = await uploadDisk(ebs, disk, { description: 'round trip', concurrency: 32 });
    parent = up.snapshotId;
    assert.equal(up.volumeSize, 1);
    assert.equal(up.blocksWritten, expected.length);
    const s = await snapshot(parent);
    assert.equal(s.State, 'completed');
    assert.equal(s.VolumeSize, 1);
    assert.equal(s.Description, 'round trip');
    const listed = await listBlocks(ebs, parent);
    assert.deepEqual(listed.blocks.map(([i]) => i), expected);
    const out = join(dir, 'out.raw');
    const got = await downloadSnapshot(ebs, parent, out);
    assert.equal(got.blocks, expected.length);
    assert.ok(sha(await readFile(out)).equals(sha(await readFile(disk))), 'the download is byte-identical');
  });

  test('ListSnapshotBlocks pages (MaxResults, NextToken, StartingBlockIndex), with ExpiryTime, VolumeSize and BlockSize', async () => {
    const all = (await listBlocks(ebs, parent)).blocks.map(([i]) => i);
    assert.ok(all.length > 100);
    const first = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: parent, MaxResults: 100 }));
    assert.equal(first.Blocks!.length, 100);
    assert.equal(first.BlockSize, 524288);
    assert.equal(first.VolumeSize, 1);
    assert.ok(first.ExpiryTime!.getTime() > Date.now() + 6 * 24 * 3600_000);
    const second = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: parent, MaxResults: 100, NextToken: first.NextToken, StartingBlockIndex: 0 }));
    assert.deepEqual([...first.Blocks!, ...second.Blocks!].map((b) => b.BlockIndex).slice(0, 200), all.slice(0, 200));
    const from = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: parent, StartingBlockIndex: all[150]! }));
    assert.deepEqual(from.Blocks!.map((b) => b.BlockIndex), all.slice(150));
    assert.equal(from.NextToken, undefined);
    assert.equal(await codeOf(ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: parent, NextToken: 'AAAA' }))), 'ValidationException/INVALID_PAGE_TOKEN');
  });

  test('an incremental upload over a parent starts with its blocks; ListChangedBlocks names what changed', async () => {
    const blocks = (await listBlocks(ebs, parent)).blocks;
    const [kept, overwritten, zeroed] = [blocks[0]!, blocks[1]!, blocks[2]!];
    const fresh = Array.from({ length: 2048 }, (_, i) => i).find((i) => !blocks.some(([b]) => b === i))!;
    const child = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ParentSnapshotId: parent, Description: 'child' }));
    assert.equal(child.ParentSnapshotId, parent);
    assert.equal(child.Status, 'pending');
    assert.equal(child.BlockSize, 524288);
    const newData = randomBytes(BLOCK);
    const overData = randomBytes(BLOCK);
    await Promise.all([put(ebs, child.SnapshotId!, fresh, newData), put(ebs, child.SnapshotId!, overwritten[0], overData),
      put(ebs, child.SnapshotId!, zeroed[0], Buffer.alloc(BLOCK))]);
    await ebs.send(new CompleteSnapshotCommand({ SnapshotId: child.SnapshotId!, ChangedBlocksCount: 3 }));
    const childBlocks = (await listBlocks(ebs, child.SnapshotId!)).blocks.map(([i]) => i);
    assert.deepEqual(childBlocks, [...blocks.map(([i]) => i).filter((i) => i !== zeroed[0]), fresh].sort((a, b) => a - b));

    const changed: ChangedBlock[] = (await ebs.send(new ListChangedBlocksCommand({ FirstSnapshotId: parent, SecondSnapshotId: child.SnapshotId! }))).ChangedBlocks!;
    assert.deepEqual(changed.map((c) => c.BlockIndex), [overwritten[0], zeroed[0], fresh].sort((a, b) => a - b));
    const at = (i: number) => changed.find((c) => c.BlockIndex === i)!;
    assert.ok(at(overwritten[0]).FirstBlockToken && at(overwritten[0]).SecondBlockToken);
    assert.ok(at(zeroed[0]).FirstBlockToken && !at(zeroed[0]).SecondBlockToken);
    assert.ok(!at(fresh).FirstBlockToken && at(fresh).SecondBlockToken);
    assert.ok((await getBlock(ebs, child.SnapshotId!, fresh, at(fresh).SecondBlockToken!)).equals(newData));
    assert.ok((await getBlock(ebs, child.SnapshotId!, overwritten[0], at(overwritten[0]).SecondBlockToken!)).equals(overData));
    const old = await getBlock(ebs, parent, overwritten[0], at(overwritten[0]).FirstBlockToken!);
    assert.ok(old.equals(await getBlock(ebs, parent, overwritten[0], overwritten[1])));
    assert.ok(!old.equals(overData));
    // The block not changed is the parent's, by token from either listing.
    const childKept = (await listBlocks(ebs, child.SnapshotId!)).blocks.find(([i]) => i === kept[0])!;
    assert.ok((await getBlock(ebs, child.SnapshotId!, kept[0], childKept[1])).equals(await getBlock(ebs, parent, kept[0], kept[1])));
    // Without a first snapshot, every block of the second is listed.
    const alone = await ebs.send(new ListChangedBlocksCommand({ SecondSnapshotId: child.SnapshotId! }));
    assert.deepEqual(alone.ChangedBlocks!.map((c) => c.BlockIndex), childBlocks);
  });
});

describe('errors', () => {
  let pending = '';
  before(async () => {
    pending = (await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }))).SnapshotId!;
  });

  test('PutSnapshotBlock refuses a bad checksum, a wrong size, an index out of range, and another algorithm', async () => {
    const data = randomBytes(BLOCK);
    assert.equal(await codeOf(put(ebs, pending, 0, data, { Checksum: sha(randomBytes(8)).toString('base64') })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(put(ebs, pending, 0, data, { Checksum: 'notbase64!' })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(put(ebs, pending, 0, randomBytes(4096))), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(put(ebs, pending, 2048, data)), 'ValidationException/INVALID_BLOCK');
    assert.equal(await codeOf(put(ebs, pending, -1, data)), 'ValidationException/INVALID_BLOCK');
    assert.equal(await codeOf(put(ebs, pending, 0, data, { ChecksumAlgorithm: 'MD5' })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(put(ebs, 'snap-0123456789abcdef0', 0, data)), 'ResourceNotFoundException/SNAPSHOT_NOT_FOUND');
    assert.equal(await codeOf(put(ebs, 'vol-1', 0, data)), 'ValidationException/INVALID_SNAPSHOT_ID');
  });

  test('CompleteSnapshot refuses a wrong ChangedBlocksCount or checksum and the snapshot stays pending; then completes; then refuses writes', async () => {
    const data = randomBytes(BLOCK);
    await put(ebs, pending, 7, data);
    const complete = (over: Record<string, unknown>) => ebs.send(new CompleteSnapshotCommand({ SnapshotId: pending, ChangedBlocksCount: 1, ...over }));
    assert.equal(await codeOf(complete({ ChangedBlocksCount: 2 })), 'ValidationException/INVALID_PARAMETER_VALUE');
    const wrong = sha(Buffer.from('x')).toString('base64');
    assert.equal(await codeOf(complete({ Checksum: wrong, ChecksumAlgorithm: 'SHA256', ChecksumAggregationMethod: 'LINEAR' })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal((await snapshot(pending)).State, 'pending');
    assert.equal(await codeOf(ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: pending }))), 'ValidationException/INVALID_SNAPSHOT_ID');
    const linear = sha(sha(data)).toString('base64');
    assert.equal((await complete({ Checksum: linear, ChecksumAlgorithm: 'SHA256', ChecksumAggregationMethod: 'LINEAR' })).Status, 'completed');
    assert.equal((await snapshot(pending)).State, 'completed');
    assert.equal(await codeOf(put(ebs, pending, 8, data)), 'ValidationException/INVALID_SNAPSHOT_ID');
    assert.equal(await codeOf(complete({})), 'ValidationException/INVALID_SNAPSHOT_ID');
  });

  test('StartSnapshot: sizes, timeouts, tags, parent and encryption together, and ClientToken idempotency (ConflictException)', async () => {
    const start = (input: Record<string, unknown>) => ebs.send(new StartSnapshotCommand({ VolumeSize: 1, ...input }));
    assert.equal(await codeOf(start({ VolumeSize: 0 })), 'ValidationException/INVALID_VOLUME_SIZE');
    assert.equal(await codeOf(start({ VolumeSize: 65537 })), 'ValidationException/INVALID_VOLUME_SIZE');
    assert.equal(await codeOf(start({ Timeout: 5 })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(start({ Tags: [{ Key: 'aws:x', Value: 'y' }] })), 'ValidationException/INVALID_TAG');
    assert.equal(await codeOf(start({ ParentSnapshotId: parent, Encrypted: true })), 'ValidationException/INVALID_PARAMETER_VALUE');
    assert.equal(await codeOf(start({ ParentSnapshotId: 'snap-0123456789abcdef0' })), 'ResourceNotFoundException/SNAPSHOT_NOT_FOUND');
    const token = `tok-${randomBytes(4).toString('hex')}`;
    const a = await start({ ClientToken: token, Tags: [{ Key: 'k', Value: 'v' }], Encrypted: true });
    assert.equal(a.SseType, 'sse-kms');
    assert.match(a.KmsKeyArn!, /^arn:aws:kms:us-east-1:/);
    assert.deepEqual(a.Tags, [{ Key: 'k', Value: 'v' }]);
    assert.equal((await start({ ClientToken: token, Tags: [{ Key: 'k', Value: 'v' }], Encrypted: true })).SnapshotId, a.SnapshotId);
    assert.equal(await codeOf(start({ ClientToken: token, VolumeSize: 2 })), 'ConflictException');
  });

  test("another account's snapshot: not found until shared; shared, it reads but cannot write", async () => {
    const own = (await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }))).SnapshotId!;
    const data = randomBytes(BLOCK);
    assert.equal(await codeOf(put(ebsB, own, 0, data)), 'ResourceNotFoundException/SNAPSHOT_NOT_FOUND');
    const [index, token] = (await listBlocks(ebs, parent)).blocks[0]!;
    assert.equal(await codeOf(ebsB.send(new ListSnapshotBlocksCommand({ SnapshotId: parent }))), 'ResourceNotFoundException/SNAPSHOT_NOT_FOUND');
    assert.equal(await codeOf(getBlock(ebsB, parent, index, token)), 'ResourceNotFoundException/SNAPSHOT_NOT_FOUND');
    for (const id of [parent, own]) {
      await kiln.client().send(new ModifySnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [B.id] }));
    }
    assert.equal((await listBlocks(ebsB, parent)).blocks.length, (await listBlocks(ebs, parent)).blocks.length);
    assert.ok((await getBlock(ebsB, parent, index, token)).equals(await getBlock(ebs, parent, index, token)));
    assert.equal(await codeOf(put(ebsB, own, 0, data)), 'AccessDeniedException/UNAUTHORIZED_ACCOUNT');
    assert.equal(await codeOf(ebsB.send(new CompleteSnapshotCommand({ SnapshotId: own, ChangedBlocksCount: 0 }))), 'AccessDeniedException/UNAUTHORIZED_ACCOUNT');
  });

  test('block tokens: forged, for another block or snapshot, or expired, are refused', async () => {
    const [[i0, t0], [i1]] = (await listBlocks(ebs, parent)).blocks;
    const flipped = `${t0[5] === 'A' ? 'B' : 'A'}`;
    assert.equal(await codeOf(getBlock(ebs, parent, i0!, t0.slice(0, 5) + flipped + t0.slice(6))), 'ValidationException/INVALID_BLOCK_TOKEN');
    assert.equal(await codeOf(getBlock(ebs, parent, i1!, t0)), 'ValidationException/INVALID_BLOCK_TOKEN');
    assert.equal(await codeOf(getBlock(ebs, parent, i0!, 'bm90IGEgdG9rZW4=')), 'ValidationException/INVALID_BLOCK_TOKEN');
    // A token Kiln itself signed, with an expiry in the past.
    const hash = sha(await getBlock(ebs, parent, i0!, t0)).toString('hex');
    const key = await tokenSecret(kiln.app.ctx);
    const expired = blockToken(key, parent, i0!, hash as never, Math.floor(Date.now() / 1000) - 1);
    assert.equal(await codeOf(getBlock(ebs, parent, i0!, expired)), 'ValidationException/INVALID_BLOCK_TOKEN');
    const fresh = blockToken(key, parent, i0!, hash as never, Math.floor(Date.now() / 1000) + 60);
    assert.equal(sha(await getBlock(ebs, parent, i0!, fresh)).toString('hex'), hash);
  });
});

describe('an uploaded snapshot is an ordinary EC2 snapshot', () => {
  test('RegisterImage with it as the root volume: DescribeImages shows the image available; CreateVolume from it', async () => {
    const ec2 = kiln.client();
    const name = `uploaded-${randomBytes(3).toString('hex')}`;
    const { ImageId } = await ec2.send(new RegisterImageCommand({
      Name: name, RootDeviceName: '/dev/xvda', Architecture: 'x86_64', VirtualizationType: 'hvm',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: parent, VolumeSize: 1 } }],
    }));
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0]!;
    assert.equal(image.State, 'available');
    assert.equal(image.Name, name);
    assert.equal(image.BlockDeviceMappings![0]!.Ebs!.SnapshotId, parent);
    const vol = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: parent }));
    assert.equal(vol.SnapshotId, parent);
    assert.equal(vol.Size, 1);
  });
});

describe('uploads in progress', () => {
  test('their blocks survive a prune; a timeout errors the snapshot and its blocks then go', async () => {
    const ctx = kiln.app.ctx;
    const id = (await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }))).SnapshotId!;
    const data = randomBytes(BLOCK);
    await put(ebs, id, 3, data);
    const hash = sha(data).toString('hex') as never;
    ctx.pruner.request();
    await ctx.pruner.idle();
    assert.ok(await ctx.blocks.has(hash), 'a prune keeps the blocks of an upload in progress');
    await timeOutUpload(ctx, id);
    assert.equal((await snapshot(id)).State, 'error');
    assert.equal(await codeOf(put(ebs, id, 4, data)), 'ValidationException/INVALID_SNAPSHOT_ID');
    await ctx.tasks.idle(); // background work holding the pruner (a volume restore) ends, and the prune asked for runs
    await ctx.pruner.idle();
    assert.ok(!(await ctx.blocks.has(hash)), 'the timed-out upload left nothing behind');
  });

  test('a server restart errors a snapshot still pending from StartSnapshot', async () => {
    const data = await mkdtemp(join(tmpdir(), 'kiln-ebs-restart-'));
    try {
      let k = await startKiln({ dataDir: data });
      const c = new EBSClient({ endpoint: k.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
      const id = (await c.send(new StartSnapshotCommand({ VolumeSize: 1 }))).SnapshotId!;
      await put(c, id, 0, randomBytes(BLOCK));
      await k.close();
      k = await startKiln({ dataDir: data });
      try {
        const s = (await k.client().send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }))).Snapshots![0]!;
        assert.equal(s.State, 'error');
      } finally {
        await k.close();
      }
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
