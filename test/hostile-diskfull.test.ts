/**
 * A full disk is a state, not a crash. Kiln's data directory is put on a small
 * loop-mounted ext4 filesystem of its own, which the test fills (fallocate)
 * around real work:
 *  (a) CreateImage with too little room for the point-in-time copy answers
 *      (no 500), the image ends failed and its snapshots error, and no reason
 *      names a host path; CreateSnapshot answers AWS's capacity error, and
 *      RunInstances ends terminated with a capacity reason;
 *  (b) a capture with room for its copy but not its packs fails as cleanly,
 *      `kiln gc --dry-run`'s report accounts for every pack file on disk,
 *      and once space is freed `kiln gc` removes what the failures left;
 *  (c) PutSnapshotBlock on a full disk answers the EBS model's quota error,
 *      not a generic 500;
 *  (d) with space again the server works (a new CreateImage completes) and a
 *      restart finds nothing pending.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { EBSClient, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import {
  CreateImageCommand, CreateSnapshotCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Image } from '@aws-sdk/client-ec2';
import { collectGarbage } from '../src/services/snapshots/storage.js';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const run = promisify(execFile);
const skip = await skipUnless('instances');
const MiB = 1024 * 1024;

/** Fills the filesystem at `dir` until `leave` bytes are free (one fallocate'd file, removed by `free`). */
async function fill(dir: string, leave: number): Promise<{ free: () => Promise<void> }> {
  const filler = join(dir, `filler-${randomBytes(4).toString('hex')}`);
  const { bavail, bsize } = await statfs(dir);
  const bytes = Math.max(0, bavail * bsize - leave);
  if (bytes > 0) await run('fallocate', ['-l', String(bytes), filler]);
  return { free: () => rm(filler, { force: true }) };
}

/** Bytes of every pack file on disk (sealed and in progress). */
async function packFilesOnDisk(data: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const sub of ['packs', 'tmp']) {
    for (const name of await readdir(join(data, 'blocks', sub)).catch(() => [] as string[])) {
      count++;
      bytes += (await stat(join(data, 'blocks', sub, name))).size;
    }
  }
  return { count, bytes };
}

async function imageOf(ec2: EC2Client, id: string): Promise<Image> {
  return (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0]!;
}

/** The image once it is no longer pending, with its snapshots' states. */
async function settled(ec2: EC2Client, id: string): Promise<{ image: Image; snapshots: Array<{ state?: string; message?: string }> }> {
  const image = await until(`${id} to leave pending`, async () => {
    const i = await imageOf(ec2, id);
    return i.State !== 'pending' && i;
  }, 120_000, 250);
  const ids = (image.BlockDeviceMappings ?? []).flatMap((m) => (m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : []));
  const { Snapshots = [] } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }));
  return { image, snapshots: Snapshots.map((s) => ({ state: s.State, message: s.StateMessage })) };
}

/** CreateImage answers (no 500), and the image ends failed with its snapshots in error, naming no host path. */
async function assertCleanFailure(ec2: EC2Client, instanceId: string, name: string): Promise<void> {
  const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name, NoReboot: true }));
  const { image, snapshots } = await settled(ec2, ImageId!);
  assert.equal(image.State, 'failed');
  assert.match(image.StateReason?.Code ?? '', /^(Server|Client)\.[A-Za-z.]+$/);
  assert.doesNotMatch(image.StateReason?.Message ?? '', /\//, 'a StateReason names no host path');
  assert.ok(snapshots.length > 0);
  for (const s of snapshots) {
    assert.equal(s.state, 'error');
    assert.doesNotMatch(s.message ?? '', /\//, 'a StateMessage names no host path');
  }
}

async function nothingPending(ec2: EC2Client): Promise<string[]> {
  const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
  const snaps = (await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [];
  return [...images.filter((i) => i.State === 'pending').map((i) => i.ImageId!), ...snaps.filter((s) => s.State === 'pending').map((s) => s.SnapshotId!)];
}

test('a full data filesystem gives failed images, error snapshots, accounted packs and AWS errors; freed, everything works', { skip, timeout: 600_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-diskfull-'));
  const fsFile = join(dir, 'fs.img');
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  // Room for the first launch's 1 GiB root volume (a volume larger than the pool's free space is refused up front,
  // InsufficientVolumeCapacity); the file is sparse, and the fillers take the rest.
  await run('truncate', ['-s', '1600M', fsFile]);
  await run('mkfs.ext4', ['-q', '-F', '-m', '0', fsFile]); // no blocks reserved for root: the test is root
  await run('mount', ['-o', 'loop', fsFile, mnt]);
  const data = join(mnt, 'data');
  let kiln: Kiln | undefined;
  const fillers: Array<{ free: () => Promise<void> }> = [];
  const freeAll = async () => { for (const f of fillers.splice(0)) await f.free(); };
  try {
    kiln = await startKiln({ dataDir: data });
    let ec2 = kiln.client();
    const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0]!;
    const r = await ec2.send(new RunInstancesCommand({ ImageId: base.ImageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
    const instanceId = r.Instances![0]!.InstanceId!;
    await until('the instance to run', async () => (await inInstance(kiln!, instanceId, 'echo up').catch(() => '')).includes('up'), 120_000);
    await inInstance(kiln, instanceId, 'dd if=/dev/urandom of=/x bs=1M count=60 2>/dev/null; sync');
    const rootVolume = (await kiln.app.ctx.store.instances.get(instanceId))!.volumeIds[0]!;
    const volumeBytes = (await stat(kiln.app.ctx.paths.volume(rootVolume)).catch(() => undefined))?.blocks;
    t.diagnostic(`root volume allocated: ${volumeBytes !== undefined ? Math.round((volumeBytes * 512) / MiB) : '?'} MiB`);

    const k = kiln;
    fillers.push(await fill(mnt, 4 * MiB));
    await t.test('(a) no room for the point-in-time copy: CreateImage answers, and the image fails cleanly', () => assertCleanFailure(ec2, instanceId, 'full-copy'));
    await t.test('(a) no room for the copy: CreateSnapshot answers AWS\'s capacity error, not InternalError', async () => {
      const err = await ec2.send(new CreateSnapshotCommand({ VolumeId: rootVolume })).then(() => undefined, (e: { name?: string; message?: string }) => e);
      assert.equal(err?.name, 'InsufficientVolumeCapacity');
      assert.doesNotMatch(err?.message ?? '', /\//);
    });
    await freeAll();

    fillers.push(await fill(mnt, 256 * 1024));
    await t.test('(a) no room for a root volume: RunInstances answers, the instance ends terminated with a capacity reason', async () => {
      const launch = await ec2.send(new RunInstancesCommand({ ImageId: base.ImageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))
        .catch((e: Error) => e);
      if (launch instanceof Error) {
        // The pool's free space is checked up front: refused with EC2's capacity code, nothing made.
        assert.equal(launch.name, 'InsufficientVolumeCapacity');
        assert.doesNotMatch(launch.message ?? '', /\//);
        return;
      }
      const id = launch.Instances![0]!.InstanceId!;
      const inst = await until(`${id} to end`, async () => {
        const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
        return ['terminated', 'running'].includes(i.State!.Name!) && i;
      }, 120_000, 250);
      assert.equal(inst.State?.Name, 'terminated');
      assert.equal(inst.StateReason?.Code, 'Server.InsufficientInstanceCapacity');
      assert.doesNotMatch(inst.StateReason?.Message ?? '', /\//);
    });
    await freeAll();

    await t.test('(b) a capture out of room mid-pack fails cleanly, and kiln gc --dry-run accounts for every pack file', async () => {
      // Room for the copy but not for its packs; the disk stays full for (c).
      fillers.push(await fill(mnt, ((volumeBytes ?? 0) * 512) + 24 * MiB));
      await assertCleanFailure(ec2, instanceId, 'full-packs');
      const dry = await collectGarbage(k.app.ctx, true);
      const disk = await packFilesOnDisk(data);
      t.diagnostic(`full: ${JSON.stringify({ disk, files: dry.files, packBytes: dry.before.packBytes })}`);
      assert.deepEqual(dry.files?.unknown ?? [], [], 'no pack file unknown to kiln gc');
      assert.equal(disk.bytes, dry.before.packBytes + (dry.files?.sealed.bytes ?? 0) + (dry.files?.open.bytes ?? 0), 'every pack byte on disk is accounted for');
    });

    let uploadId: string | undefined;
    await t.test('(c) PutSnapshotBlock on a full disk answers the EBS quota error, not a 500', async () => {
      const ebs = new EBSClient({ endpoint: k.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
      const { SnapshotId } = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
      uploadId = SnapshotId;
      let failure: { name?: string; $metadata?: { httpStatusCode?: number }; message?: string } | undefined;
      for (let i = 0; i < 400 && !failure; i++) {
        const block = randomBytes(512 * 1024);
        await ebs.send(new PutSnapshotBlockCommand({
          SnapshotId, BlockIndex: i, BlockData: block, DataLength: block.length,
          Checksum: createHash('sha256').update(block).digest('base64'), ChecksumAlgorithm: 'SHA256',
        })).catch((err) => { failure = err; });
      }
      assert.ok(failure, 'the disk filled up');
      t.diagnostic(`PutSnapshotBlock on a full disk: ${failure.name} ${failure.$metadata?.httpStatusCode}`);
      assert.equal(failure.name, 'ServiceQuotaExceededException');
      assert.doesNotMatch(failure.message ?? '', /\//);
    });

    await freeAll();
    await t.test('(b) with space again, kiln gc removes what the failures left', async () => {
      await k.app.ctx.tasks.idle();
      const gc = await collectGarbage(k.app.ctx, false);
      const after = await packFilesOnDisk(data);
      t.diagnostic(`gc freed ${gc.freedBytes} bytes; packs ${gc.before.packBytes} -> ${gc.after.packBytes}; ${JSON.stringify(gc.files)}`);
      assert.equal(gc.refused, undefined, 'a cut-short upload does not stop the prune');
      assert.equal(after.bytes, gc.after.packBytes, 'after gc, every pack file on disk is indexed');
      assert.deepEqual(gc.files?.unknown ?? [], []);
      assert.equal((await collectGarbage(k.app.ctx, true)).plan.unreferenced, 0, 'gc removed what the failures left');
    });

    await t.test('(d) with space again the server works, and a restart finds nothing pending', async () => {
      const { ImageId } = await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: 'after-full', NoReboot: true }));
      const good = await settled(ec2, ImageId!);
      assert.equal(good.image.State, 'available', JSON.stringify(good.image.StateReason));
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      await k.app.ctx.tasks.idle();
      // The EBS upload still open is the client's to complete (or to time out); every capture is settled.
      assert.deepEqual((await nothingPending(ec2)).filter((id) => id !== uploadId), []);
      await k.close();
      kiln = await startKiln({ dataDir: data });
      ec2 = kiln.client();
      assert.deepEqual(await nothingPending(ec2), []);
      assert.equal((await imageOf(ec2, ImageId!)).State, 'available');
    });
  } finally {
    await freeAll().catch(() => undefined);
    await kiln?.close().catch(() => undefined);
    await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
    await rm(dir, { recursive: true, force: true });
  }
});
