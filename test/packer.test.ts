/**
 * HashiCorp Packer (Debian 12's `packer`, 1.6.6, built-in amazon-ebs builder)
 * bakes an AMI against `kiln serve`, unchanged but for its EC2 endpoint:
 * test/packer/debian-service.json finds the Debian 12 catalog image
 * (source_ami_filter, owners ["amazon"], most_recent), launches it with a
 * temporary key pair and security group, connects over SSH as `admin` at the
 * private address, uploads a systemd unit and its script (file provisioners),
 * installs them (shell provisioner, sudo), stops the instance, captures it
 * and tags the image and its snapshot. Then: the image is there, available,
 * named and tagged; Packer left no key pair, no security group but the
 * default, no live instance and no volume; and an instance of the image,
 * behind a group that opens tcp/8080 to the host, serves the baked page at
 * boot.
 *
 * Nothing leaves 127.0.0.1 and the VPC's bridge: Packer's environment is built
 * from nothing (no proxy variables, HOME and caches in a temporary directory),
 * its AWS SDK gets static keys (so it never asks the instance metadata
 * service or STS for credentials) with the metadata service disabled, and the
 * template refuses to run without an endpoint. The first run on a host
 * waits for the Debian image's build (minutes; later servers reuse the host's
 * cache). KILN_PACKER_KEEP=1 keeps the working directory (packer.log) for a look.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Image } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client,
  RunInstancesCommand, TerminateInstancesCommand, waitUntilInstanceRunning, waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import { DEFAULT_VPC_CIDR, VpcRange } from '../src/services/network/network.js';
import type { KilnProcess } from './harness.js';
import { spawnKiln, until } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'packer', 'debian-service.json');
const PACKER = '/usr/bin/packer';
/** The host reaches instances from the VPC router's address on their bridge (runtime/net/host-network.ts). */
const HOST_CIDR = `${new VpcRange(DEFAULT_VPC_CIDR).router}/32`;

/** Why this host cannot run the test, or false when it can. */
async function missing(): Promise<string | false> {
  const hostLacks = await skipUnless('instances', 'build', 'debian'); // debian: mmdebstrap builds the Debian image
  if (hostLacks) return hostLacks;
  try {
    const { stdout } = await execFileP(PACKER, ['version'], { env: { PATH: '/usr/bin:/bin', CHECKPOINT_DISABLE: '1', HOME: tmpdir() }, timeout: 30_000 });
    if (!/^Packer v1\./m.test(stdout)) return skipOrFail(`${PACKER} is not Packer 1.x: ${stdout.trim()}`);
  } catch {
    return skipOrFail(`${PACKER} is absent (Debian package packer)`);
  }
  return false;
}

const skip = await missing();
const nonce = randomBytes(4).toString('hex');
let dir: string;
let server: KilnProcess | undefined;
let ec2: EC2Client;

const waiter = (client: EC2Client, maxWaitTime = 300) => ({ client, maxWaitTime, minDelay: 1, maxDelay: 3 });

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-packer-'));
  server = await spawnKiln(join(dir, 'data'), []); // [] = with the Debian 12 catalog image
  ec2 = new EC2Client({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

after(async () => {
  if (!dir) return;
  if (server) {
    const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({}));
    const ids = Reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').map((i) => i.InstanceId!);
    if (ids.length) {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
      await waitUntilInstanceTerminated(waiter(ec2), { InstanceIds: ids });
    }
    await server.stop();
    server = undefined;
  }
  if (process.env.KILN_PACKER_KEEP) console.error(`kiln: packer working directory kept at ${dir}`);
  else await rm(dir, { recursive: true, force: true });
});

/** The Debian 12 catalog image once available (its first build on a host takes minutes); fails at once if the build failed. */
async function debianImage(): Promise<Image> {
  const image = await until('the Debian 12 catalog image to be available', async () => {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
    return Images.find((i) => i.State === 'available' || i.State === 'failed');
  }, 30 * 60_000, 5_000);
  assert.equal(image.State, 'available', `the Debian image build failed: ${JSON.stringify(image.StateReason)}\n${server!.output().slice(-3000)}`);
  return image;
}

/** Runs `packer build` on the template with an environment that can only reach Kiln; its output, or an error with the tails. */
async function packerBuild(work: string): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: '/usr/bin:/bin', HOME: work, TMPDIR: join(work, 'tmp'), PACKER_CACHE_DIR: join(work, 'cache'),
    CHECKPOINT_DISABLE: '1', PACKER_LOG: '1', PACKER_LOG_PATH: join(work, 'packer.log'),
    AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_SDK_LOAD_CONFIG: '0',
  };
  await mkdir(env.TMPDIR!, { recursive: true });
  const vars = { endpoint: server!.endpoint, marker: nonce, region: 'us-east-1', ssh_source_cidr: HOST_CIDR };
  const args = ['build', '-color=false', '-on-error=cleanup', ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]), TEMPLATE];
  try {
    const { stdout } = await execFileP(PACKER, args, { cwd: work, env, timeout: 40 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const log = await readFile(env.PACKER_LOG_PATH!, 'utf8').catch(() => '');
    const lacking = [...new Set([...log.matchAll(/The action (\w+) is not (?:implemented|valid)/g)].map((m) => m[1]!))];
    throw new Error(`packer build failed${lacking.length ? `; Kiln answered InvalidAction for: ${lacking.join(', ')}` : ''}\n`
      + `${(e.stdout ?? '').slice(-4000)}\n${(e.stderr || e.message).slice(-2000)}\npacker.log:\n${log.slice(-4000)}\nkiln:\n${server!.output().slice(-3000)}`);
  }
}

const tagsOf = (x: { Tags?: Array<{ Key?: string; Value?: string }> } | undefined) => Object.fromEntries((x?.Tags ?? []).map((t) => [t.Key, t.Value]));

test('packer 1.6.6 amazon-ebs bakes a Debian 12 image with a service; the image serves it at boot', { skip, timeout: 75 * 60_000 }, async () => {
  const debian = await debianImage();
  const work = join(dir, 'packer');
  await mkdir(work, { recursive: true });
  const out = await packerBuild(work);
  const artifact = /us-east-1: (ami-[0-9a-f]{17})/.exec(out)?.[1];
  assert.ok(artifact, `packer names the image it made:\n${out.slice(-2000)}`);

  // The image: this build's (its Marker tag), available, named, described and tagged from the source image, snapshot tagged too.
  const { Images: mine = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'tag:Marker', Values: [nonce] }] }));
  assert.deepEqual(mine.map((i) => i.ImageId), [artifact]);
  const image = mine[0]!;
  assert.equal(image.State, 'available');
  assert.match(image.Name ?? '', /^kiln-packer-debian-\d{10}$/);
  assert.equal(image.Description, `Debian 12 with kiln-hello on port 8080, baked by Packer from ${debian.Name}`);
  assert.equal(image.RootDeviceName, '/dev/xvda');
  assert.deepEqual(tagsOf(image), { Name: 'kiln-packer-debian', BakedBy: 'packer', Marker: nonce, SourceAMI: debian.ImageId, SourceAMIName: debian.Name });
  const rootSnap = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName)?.Ebs?.SnapshotId;
  assert.ok(rootSnap, 'the image has a root snapshot');
  const { Snapshots: [snap] = [] } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [rootSnap] }));
  assert.equal(snap?.State, 'completed');
  assert.equal(tagsOf(snap).Marker, nonce);

  // Packer cleaned up: its builder instance is terminated (with its run_tags), and no key pair, extra group or volume is left.
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({}));
  const instances = Reservations.flatMap((r) => r.Instances ?? []);
  assert.deepEqual(instances.map((i) => [i.InstanceId, i.State?.Name, i.ImageId, tagsOf(i).Name, tagsOf(i).Marker]),
    [[image.SourceInstanceId, 'terminated', debian.ImageId, 'kiln-packer-debian-builder', nonce]]);
  assert.deepEqual((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs, []);
  assert.deepEqual((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups?.map((g) => g.GroupName), ['default']);
  assert.deepEqual((await ec2.send(new DescribeVolumesCommand({}))).Volumes?.map((v) => [v.VolumeId, v.State]), []);

  // An instance of the baked image, reachable on 8080 from the host only, answers with the page baked into it.
  const { GroupId: web } = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `web-${nonce}`, Description: 'kiln-hello from the host' }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: HOST_CIDR }] }],
  }));
  const run = await ec2.send(new RunInstancesCommand({ ImageId: artifact, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SecurityGroupIds: [web!] }));
  const id = run.Instances![0]!.InstanceId!;
  await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [id] });
  const { Reservations: [r] = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  const ip = r!.Instances![0]!.PrivateIpAddress;
  assert.ok(ip, 'the instance has a private address');
  const page = await until(`the baked service at http://${ip}:8080/`, async () => {
    const res = await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(3_000) });
    return res.ok && await res.text();
  }, 5 * 60_000, 1_000);
  assert.equal(page, `baked by packer: ${nonce}\n`);
});
