/**
 * The storage engine's figures (issue #10), each beside a baseline from the same run:
 *
 *   the instance's pause during CreateImage (NoReboot: filesystems frozen while the volume is copied)
 *       vs a full `cp --sparse=always --reflink=never` of the volume file (the pause without clones)
 *   fsyncs of the block store for a first CreateImage
 *       vs two per block (file and directory), what a one-file-per-block store needs
 *   bytes stored for 20 images captured from instances of one image, each changing ~1%
 *       vs the bytes of that one image
 *   RunInstances -> running of an 8 GiB image holding 3 GiB
 *       vs a bare `runc run` of the same root filesystem (beside the 1 GiB image's ratio in run.ts)
 *   the Debian 12 image's blocks as stored (deflated where that pays)
 *       vs `zstd -3` of its whole volume file
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand, GetConsoleOutputCommand, RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { PackBlockStore } from '../src/blocks/pack/pack-store.js';
import type { App } from '../src/server/app.js';
import { restoreFile } from '../src/blocks/volume-io.js';
import { inInstance, until } from '../test/harness.js';
import type { Kiln } from '../test/harness.js';
import { bareRunc, countRow, fillScript, row, run, timed } from './common.js';

const MiB = 1024 * 1024;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;

/** Records how long each freeze of an instance lasts (the runtime's whileFrozen: freeze, copy, thaw). */
export function watchPauses(app: App): number[] {
  const pauses: number[] = [];
  const runtime = app.ctx.runtime;
  const original = runtime.whileFrozen.bind(runtime);
  runtime.whileFrozen = async (id, fn) => {
    const t = performance.now();
    try {
      return await original(id, fn);
    } finally {
      pauses.push(performance.now() - t);
    }
  };
  return pauses;
}

export async function launchRunning(ec2: EC2Client, imageId: string, extra: Partial<ConstructorParameters<typeof RunInstancesCommand>[0]> = {}): Promise<string> {
  const l = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra }));
  const id = l.Instances![0].InstanceId!;
  await until('running', async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })))
    .Reservations![0].Instances![0].State!.Name === 'running', 300_000, 20);
  return id;
}

export async function captured(ec2: EC2Client, instanceId: string, name: string): Promise<string> {
  const id = (await ec2.send(new CreateImageCommand({ InstanceId: instanceId, Name: name, NoReboot: true }))).ImageId!;
  await until('image available', async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0].State === 'available', 600_000, 20);
  return id;
}

/** A first CreateImage's pause and fsyncs (the volume at `volFile` belongs to `instanceId`). */
export async function pauseAndFsyncs(kiln: Kiln, ec2: EC2Client, pauses: number[], instanceId: string, volFile: string, work: string): Promise<{ imageId: string; ms: number; copyMs: number }> {
  const blocksBefore = kiln.app.ctx.blocks.stats();
  const first = pauses.length;
  let imageId = '';
  const ms = await timed(async () => { imageId = await captured(ec2, instanceId, 'bench-image'); });
  const after = kiln.app.ctx.blocks.stats();
  const fsyncs = after.fsyncs - blocksBefore.fsyncs;
  const newBlocks = after.blocks - blocksBefore.blocks;
  const copyMs = await timed(() => run('cp', ['--sparse=always', '--reflink=never', volFile, join(work, 'pause-baseline.img')]));
  await rm(join(work, 'pause-baseline.img'), { force: true });
  row('instance paused in CreateImage', pauses[first] ?? NaN, 'full copy of the volume (cp)', copyMs);
  countRow(`block store fsyncs, ${mib(after.blockBytes - blocksBefore.blockBytes)} new`, String(fsyncs),
    `2 per block (${newBlocks} blocks)`, String(2 * newBlocks), fsyncs / (2 * newBlocks));
  console.log(`  (${after.packs - blocksBefore.packs} packs of up to 16 MiB written)`);
  return { imageId, ms, copyMs };
}

/** 20 instances of `imageId`, each changing ~1% (3 MiB of 300), each captured: bytes stored beside the one image's. */
export async function derivedImages(kiln: Kiln, ec2: EC2Client, imageId: string): Promise<void> {
  const snap = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;
  const store = kiln.app.ctx.blocks as PackBlockStore;
  // What the one image takes in the store: its blocks as stored (compressed where that paid).
  const baseBytes = (await kiln.app.ctx.store.blockMaps.get(snap))!.blocks.reduce((n, [, h]) => n + store.locate(h)!.length, 0);
  const before = store.stats().storedBytes;
  for (let i = 0; i < 20; i++) {
    const id = await launchRunning(ec2, imageId, { InstanceType: 't3.nano' });
    await inInstance(kiln, id, `dd if=/dev/urandom of=/root/derived-${i} bs=1M count=3 2>/dev/null; sync`);
    await captured(ec2, id, `bench-derived-${i}`);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  }
  const added = store.stats().storedBytes - before;
  countRow('bytes stored, base + 20 derived', mib(baseBytes + added), 'the one base image', mib(baseBytes), (baseBytes + added) / baseBytes);
}


/** An 8 GiB image holding 3 GiB: RunInstances to running beside a bare runc run of the same root filesystem. */
export async function bigImage(kiln: Kiln, ec2: EC2Client, baseImageId: string, work: string): Promise<void> {
  const builder = await launchRunning(ec2, baseImageId, {
    InstanceType: 't3.medium', UserData: Buffer.from(fillScript(96, 32)).toString('base64'),
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8 } }],
  });
  const out = await until('3 GiB written', async () => {
    const o = await ec2.send(new GetConsoleOutputCommand({ InstanceId: builder }));
    return /fill-done (\d+) MiB/.exec(Buffer.from(o.Output ?? '', 'base64').toString())?.[1];
  }, 900_000, 500);
  const imageId = await captured(ec2, builder, 'bench-8g');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [builder] }));
  let id = '';
  const launchMs = await timed(async () => { id = await launchRunning(ec2, imageId); });
  const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const volFile = kiln.app.ctx.paths.volume(desc.Reservations![0].Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId!);
  const bareMs = await bareRunc(volFile, work);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  row(`RunInstances, 8 GiB image (${out} MiB)`, launchMs, 'bare runc run, same rootfs', bareMs);
}

/**
 * How the Debian 12 image's blocks are stored: their bytes, what they take in
 * packs (deflated block by block where that pays), beside `zstd -3` of the
 * whole volume file (one stream, the best a whole-file compressor does).
 */
export async function compression(kiln: Kiln, ec2: EC2Client, imageId: string, work: string): Promise<void> {
  const snap = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0].BlockDeviceMappings![0].Ebs!.SnapshotId!;
  const map = (await kiln.app.ctx.store.blockMaps.get(snap))!;
  const store = kiln.app.ctx.blocks as PackBlockStore;
  const raw = map.blocks.reduce((n, [, h]) => n + store.locate(h)!.size, 0);
  const stored = map.blocks.reduce((n, [, h]) => n + store.locate(h)!.length, 0);
  const file = join(work, 'debian-volume.img');
  await restoreFile(map, store, file);
  const { stdout } = await run('sh', ['-c', 'zstd -3 -q -c "$0" | wc -c', file]);
  await rm(file, { force: true });
  const zstd = Number(stdout.trim());
  countRow(`Debian image stored (${mib(raw)} data)`, mib(stored), 'zstd -3 of the volume', mib(zstd), stored / zstd);
}
