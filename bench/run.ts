/**
 * `npm run bench`: Kiln's figures beside a baseline measured in the same run,
 * so each is a ratio that holds on a noisy machine.
 *
 *   CreateImage of a 1 GiB volume holding ~300 MiB of files
 *       vs `openssl dgst -sha256` of the same volume file (the hashing floor)
 *   RunInstances -> running of that image
 *       vs a bare `runc run` of the same root filesystem
 *   RunInstances of the Debian 12 catalog image -> running, and -> SSH answers
 *       vs a bare `runc run` of the same (Debian) root filesystem
 *   and the storage engine's figures (bench/storage.ts): the pause in CreateImage, fsyncs per
 *   capture, bytes for 20 derived images, an 8 GiB image's launch
 *   EBS direct API upload and download of a 256 MiB file (MB/s; bench/ebs.ts)
 *       vs `cp` of the same file
 *   CreateImage of an encrypted volume vs of the same data unencrypted (bench/crypto.ts)
 *   the longest event-loop stall during a hostile wildcard filter vs during plain Describe calls (bench/requests.ts)
 *   RunInstances with the isolation on vs off, and with user namespaces vs without, alternating on one server (bench/isolation.ts)
 *   Auto Scaling (bench/autoscaling.ts), and the web console's bundle and first render (bench/console.ts)
 *       vs an empty Cloudscape page built and served in the same run
 *
 *   node --import tsx bench/run.ts [section]    every section, or only the one named (one of: console, crypto, isolation, requests)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand, CreateKeyPairCommand, CreateSecurityGroupCommand, StopInstancesCommand,
  CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand, GetConsoleOutputCommand, RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { bareRunc, fillScript, medianOf, row, run, timed } from './common.js';
import { bigImage, compression, derivedImages, pauseAndFsyncs, watchPauses } from './storage.js';
import { autoscalingBench } from './autoscaling.js';
import { consoleBench } from './console.js';
import { cryptoBench, encryptedCapture } from './crypto.js';
import { requestsBench } from './requests.js';
import { isolationBench } from './isolation.js';
import { DEFAULT_CACHE_DIR } from '../src/server/app.js';
import type { Paths } from '../src/services/core/context.js';
import { inInstance, startKiln, until } from '../test/harness.js';


async function main(): Promise<void> {
  const kiln = await startKiln({ debian: { cacheDir: process.env.KILN_CACHE_DIR ?? DEFAULT_CACHE_DIR }, pool: process.env.KILN_POOL === 'copy' ? 'copy' : 'auto' });
  console.log(`volume pool: ${kiln.app.ctx.pool.mode} (${kiln.app.ctx.pool.reason}); KILN_POOL=copy measures full restores\n`);
  const ec2 = kiln.client();
  const pauses = watchPauses(kiln.app);
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-'));
  try {
    // The Debian image first (built, or taken from the host's cache), so its build does not share the CPU with what is timed.
    const debian = await until('the Debian 12 image', async () => (await ec2.send(new DescribeImagesCommand({
      Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['debian-12-*'] }, { Name: 'state', Values: ['available'] }],
    }))).Images?.[0], 1_800_000, 1000);
    const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0];
    const r = await ec2.send(new RunInstancesCommand({
      ImageId: base.ImageId, InstanceType: 't3.small', MinCount: 1, MaxCount: 1, UserData: Buffer.from(fillScript(75, 4)).toString('base64'),
    }));
    const builder = r.Instances![0].InstanceId!;
    const out = await until('the volume to fill', async () => {
      const o = await ec2.send(new GetConsoleOutputCommand({ InstanceId: builder }));
      return /fill-done (\d+) MiB/.exec(Buffer.from(o.Output ?? '', 'base64').toString())?.[1];
    }, 300_000, 250);
    console.log(`volume: 1 GiB root volume of ${builder} holding ${out} MiB of files\n`);

    const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [builder] }));
    const volFile = kiln.app.ctx.paths.volume(desc.Reservations![0].Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId!);
    // The hashing floor, as the median of three runs (the first may read from disk, the others from the page cache).
    const opensslMs = await medianOf(3, () => run('openssl', ['dgst', '-sha256', volFile]));
    const { imageId, ms: createMs, copyMs } = await pauseAndFsyncs(kiln, ec2, pauses, builder, volFile, work);
    row('CreateImage (to available)', createMs, 'openssl dgst -sha256 volume', opensslMs);
    // A capture also writes the data durably: the floor for that is one copy of the volume, synced.
    const floor = join(work, 'write-floor.img');
    const writeMs = await timed(() => run('sh', ['-c', 'cp --sparse=always --reflink=never "$0" "$1" && sync "$1"', volFile, floor]));
    await rm(floor, { force: true });
    row('  the same capture', createMs, 'cp + sync of the volume', writeMs);

    let launched = '';
    const launchMs = await timed(async () => {
      const l = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
      launched = l.Instances![0].InstanceId!;
      await until('running', async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched] })))
        .Reservations![0].Instances![0].State!.Name === 'running', 120_000, 20);
    });
    const bareMs = await bareRunc(volFile, work);
    row('RunInstances (to running)', launchMs, 'bare runc run, same rootfs', bareMs);

    // 1% of the volume's data changed (3 MiB of 301), then captured again: in the pool only the changed blocks are read.
    await inInstance(kiln, launched, 'dd if=/dev/urandom of=/root/one-percent bs=1M count=3 2>/dev/null; sync');
    const againMs = await timed(async () => {
      const again = (await ec2.send(new CreateImageCommand({ InstanceId: launched, Name: 'bench-image-2', NoReboot: true }))).ImageId!;
      await until('image available', async () =>
        (await ec2.send(new DescribeImagesCommand({ ImageIds: [again] }))).Images![0].State === 'available', 300_000, 20);
    });
    row('CreateImage after a 1% change', againMs, 'the first CreateImage', createMs);
    row('  the pause in it', pauses[pauses.length - 1]!, 'full copy of the volume (cp)', copyMs);
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [builder, launched] }));
    await encryptedCapture(kiln, ec2, base.ImageId!, work);
    await derivedImages(kiln, ec2, imageId);
    await bigImage(kiln, ec2, base.ImageId!, work);
    await debianLaunch(ec2, debian.ImageId!, kiln.app.ctx.paths, work);
    await compression(kiln, ec2, debian.ImageId!, work);
    await (await import('./ebs.js')).ebsDirectBench(kiln.endpoint, work);
    await autoscalingBench(kiln, ec2, base.ImageId!);
  } finally {
    await kiln.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Debian 12: RunInstances to running, and to an SSH login that runs a command, beside a bare runc run of its root filesystem. */
async function debianLaunch(ec2: EC2Client, imageId: string, paths: Paths, work: string): Promise<void> {
  const key = join(work, 'bench.pem');
  await writeFile(key, (await ec2.send(new CreateKeyPairCommand({ KeyName: 'bench' }))).KeyMaterial!, { mode: 0o600 });
  const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'bench-ssh', Description: 'ssh' }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  const t0 = performance.now();
  const l = await ec2.send(new RunInstancesCommand({
    ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, KeyName: 'bench', SecurityGroupIds: [GroupId!],
  }));
  const id = l.Instances![0].InstanceId!;
  const inst = await until('running', async () => {
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0].Instances![0];
    return i.State!.Name === 'running' && i;
  }, 120_000, 20);
  const runningMs = performance.now() - t0;
  await until('ssh', () => run('ssh', ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=1', '-o', 'LogLevel=ERROR', `admin@${inst.PrivateIpAddress}`, 'true']).then(() => true), 120_000, 50);
  const sshMs = performance.now() - t0;
  // The baseline runs over a copy of this instance's root volume, taken once it is stopped.
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await until('stopped', async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })))
    .Reservations![0].Instances![0].State!.Name === 'stopped', 120_000, 100);
  const bareMs = await bareRunc(paths.volume(inst.BlockDeviceMappings![0].Ebs!.VolumeId!), work);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  row('Debian RunInstances (to running)', runningMs, 'bare runc run, same rootfs', bareMs);
  row('Debian RunInstances (to SSH login)', sshMs, 'bare runc run, same rootfs', bareMs);
}

/** The sections that run alone; with no argument, every section runs (the console's last, once the others' server and instances are gone). */
const SECTIONS: Record<string, () => Promise<void>> = { console: consoleBench, crypto: cryptoBench, isolation: isolationBench, requests: requestsBench };
const section = process.argv[2];
if (section === undefined) {
  await main();
  await requestsBench();
  await isolationBench();
  await consoleBench();
} else if (SECTIONS[section]) {
  await SECTIONS[section]();
} else {
  throw new Error(`no bench section ${section}: one of ${Object.keys(SECTIONS).join(', ')}`);
}
