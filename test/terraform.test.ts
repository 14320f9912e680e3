/**
 * Terraform's AWS provider against Kiln, unchanged but for its endpoints: the
 * configuration in test/terraform/ finds the catalog image (data aws_ami),
 * launches an instance from it (aws_key_pair, root_block_device,
 * ebs_block_device), captures it (aws_ami_from_instance), copies
 * the capture to another region (aws_ami_copy), shares it with another
 * account (aws_ami_launch_permission), attaches a data volume, snapshots and
 * shares it, and registers an image from snapshots (aws_ami). The SDK then checks what exists — the
 * captured image holds the file the instance's user data wrote — and again
 * after `terraform destroy` that it is all gone.
 *
 * Needs `terraform` and the hashicorp/aws provider in a local mirror
 * (KILN_TF_PLUGIN_DIR, default /opt/tf-plugins, laid out HOST/hashicorp/aws/
 * VERSION/OS_ARCH/); skipped otherwise. Nothing leaves 127.0.0.1: the
 * provider comes from the mirror (init -plugin-dir), Terraform's update check
 * is off, the provider's credential, account and metadata look-ups are skipped.
 * KILN_TF_KEEP=1 keeps the working directory (with terraform.log) for a look.
 *
 * A second configuration, test/terraform/launch-template/, is the launch
 * template story: aws_launch_template and an aws_instance launched from it,
 * applied with one image, then another (a new version, made the default, and
 * the instance replaced from it), then destroyed. Its instances boot on a
 * recording runtime, so it needs terraform but not runc.
 *
 * A third, test/terraform/autoscaling/, is the Auto Scaling story: an
 * aws_autoscaling_group of 2 from a launch template's latest version with an
 * instance_refresh block; a new image (and desired_capacity 3) makes a new
 * version, the provider starts a refresh and the group rolls onto the new
 * image; destroy. Recording runtime too.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  CopyImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand, DescribeSnapshotsCommand, DescribeVolumesCommand,
} from '@aws-sdk/client-ec2';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeInstanceRefreshesCommand } from '@aws-sdk/client-auto-scaling';
import { restoreFile } from '../src/blocks/volume-io.js';
import { RecordingRuntime } from '../src/runtime/recording-runtime.js';
import { RuncDriver } from '../src/runtime/runc/runc-driver.js';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { startKiln, until } from './harness.js';
import { skipOrFail } from './skips.js';

const execFileP = promisify(execFile);
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'terraform');
const PLUGIN_DIR = process.env.KILN_TF_PLUGIN_DIR ?? '/opt/tf-plugins';
const SHARE_ACCOUNT = '111122223333';
const COPY_REGION = 'us-west-2';

/** Why this host cannot run terraform with the AWS provider, or undefined when it can. */
async function missingTerraform(): Promise<string | undefined> {
  try {
    await execFileP('terraform', ['version'], { env: tfBaseEnv('/dev/null'), timeout: 30_000 });
  } catch {
    return 'terraform not found on PATH';
  }
  if (!await findProvider(PLUGIN_DIR)) return `terraform not usable: no hashicorp/aws provider in the mirror ${PLUGIN_DIR} (set KILN_TF_PLUGIN_DIR)`;
  return undefined;
}

/** Why this host cannot run the test, or undefined when it can. */
async function missingTools(): Promise<string | undefined> {
  const tf = await missingTerraform();
  if (tf) return tf;
  const missing = await new RuncDriver({ stateDir: '/tmp/kiln-check' }).check();
  if (missing.length) return `this host cannot run instances: ${missing.join(' ')}`;
  return undefined;
}

/**
 * The provider binary in an unpacked mirror (HOST/hashicorp/aws/VERSION/OS_ARCH/).
 * The registry host is read from the directory names on disk, never spelt here.
 */
async function findProvider(dir: string): Promise<string | undefined> {
  const ls = (d: string) => readdir(d).catch(() => [] as string[]);
  for (const host of await ls(dir)) {
    const base = join(dir, host, 'hashicorp', 'aws');
    for (const version of await ls(base)) {
      for (const platform of await ls(join(base, version))) {
        const bin = (await ls(join(base, version, platform))).find((f) => f.startsWith('terraform-provider-aws'));
        if (bin) return join(base, version, platform, bin);
      }
    }
  }
  return undefined;
}

function tfBaseEnv(cliConfig: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH, HOME: process.env.HOME, TF_CLI_CONFIG_FILE: cliConfig, TF_IN_AUTOMATION: '1', TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** A Terraform working directory holding the fixture files, run against one Kiln endpoint. */
class Workdir {
  private constructor(readonly dir: string, private readonly vars: string[]) {}

  /** `files` (default: the .tf files of test/terraform/) in a new directory; `vars` are given to every plan, apply and destroy. */
  static async create(vars: Record<string, string>, files?: string[]): Promise<Workdir> {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-tf-'));
    files ??= (await readdir(FIXTURES)).filter((f) => f.endsWith('.tf')).map((f) => join(FIXTURES, f));
    for (const f of files) await copyFile(f, join(dir, basename(f)));
    await writeFile(join(dir, 'cli.tfrc'), '# no registry, no plugin cache: the provider comes from -plugin-dir\n');
    return new Workdir(dir, Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`]));
  }

  /** The same directory, planned and applied with other values of some variables. */
  withVars(vars: Record<string, string>): Workdir {
    return new Workdir(this.dir, [...this.vars, ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])]);
  }

  /** Runs terraform; a failure's message carries the output tail and the actions Kiln did not implement. */
  async run(args: string[], timeoutMs: number): Promise<string> {
    const env = { ...tfBaseEnv(join(this.dir, 'cli.tfrc')), TF_LOG_PROVIDER: 'DEBUG', TF_LOG_PATH: join(this.dir, 'terraform.log') };
    try {
      const { stdout } = await execFileP('terraform', [...args, '-no-color'], { cwd: this.dir, env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      const lacking = await this.unimplementedActions();
      throw new Error(`terraform ${args[0]} failed${lacking.length ? `; Kiln answered InvalidAction for: ${lacking.join(', ')}` : ''}\n`
        + `${(e.stderr || e.message).slice(-4000)}\n${(e.stdout ?? '').slice(-2000)}`);
    }
  }

  init() { return this.run(['init', `-plugin-dir=${PLUGIN_DIR}`, '-input=false'], 60_000); }
  apply() { return this.run(['apply', '-auto-approve', '-input=false', ...this.vars], 240_000); }
  /** Exit code 0 of `plan -detailed-exitcode`: what Kiln reports matches the configuration. */
  planIsEmpty() { return this.run(['plan', '-detailed-exitcode', '-input=false', ...this.vars], 60_000); }
  /** Without a refresh: planIsEmpty() has just read everything back. */
  destroy() { return this.run(['destroy', '-auto-approve', '-input=false', '-refresh=false', ...this.vars], 180_000); }

  async outputs(): Promise<Record<string, string>> {
    const out = JSON.parse(await this.run(['output', '-json'], 30_000)) as Record<string, { value: string }>;
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value]));
  }

  async unimplementedActions(): Promise<string[]> {
    const log = await readFile(join(this.dir, 'terraform.log'), 'utf8').catch(() => '');
    return [...new Set([...log.matchAll(/The action (\w+) is not (?:implemented|valid)/g)].map((m) => m[1]!))];
  }

  async remove(): Promise<void> {
    if (process.env.KILN_TF_KEEP) console.error(`kiln: terraform working directory kept at ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
  }
}

/** Reads a file out of a snapshot: restores its blocks into a volume file and asks debugfs. */
async function fileInSnapshot(kiln: Kiln, snapshotId: string, path: string): Promise<string> {
  const map = await kiln.app.ctx.store.blockMaps.get(snapshotId);
  assert.ok(map, `snapshot ${snapshotId} has a block map`);
  const file = join(kiln.dataDir, `check-${snapshotId}.img`);
  try {
    await restoreFile(map, kiln.app.ctx.blocks, file);
    return (await execFileP('/usr/sbin/debugfs', ['-R', `cat ${path}`, file])).stdout;
  } finally {
    await rm(file, { force: true });
  }
}

async function checkApplied(kiln: Kiln, out: Record<string, string>, marker: string, name: string): Promise<void> {
  const east = kiln.client('us-east-1');
  const { Images: [base] = [] } = await east.send(new DescribeImagesCommand({ ImageIds: [out.base_ami_id!] }));
  assert.equal(base?.ImageOwnerAlias, 'amazon');
  assert.match(base?.Name ?? '', /^kiln-minimal-/);

  const { Reservations = [] } = await east.send(new DescribeInstancesCommand({ InstanceIds: [out.instance_id!] }));
  const inst = Reservations[0]?.Instances?.[0];
  assert.equal(inst?.State?.Name, 'running');
  assert.equal(inst?.ImageId, out.base_ami_id);
  assert.equal(inst?.InstanceType, 't3.micro');
  assert.equal(inst?.PrivateIpAddress, out.instance_private_ip);
  assert.ok(inst?.VpcId && inst.SubnetId, 'the instance sits in the default VPC');
  assert.deepEqual(inst?.Tags, [{ Key: 'Name', Value: `${name}-web` }]);
  assert.equal(inst?.KeyName, `${name}-deployer`);
  const { Volumes = [] } = await east.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [out.instance_id!] }] }));
  const sizes = Object.fromEntries(Volumes.map((v) => [v.Attachments![0]!.Device!, [v.Size, v.VolumeType]]));
  assert.deepEqual([sizes['/dev/xvda'], sizes['/dev/sdf']], [[2, 'gp3'], [1, 'gp3']]);

  // The image comes from the instance: named source, and its root snapshot holds what the instance wrote.
  const { Images: [image] = [] } = await east.send(new DescribeImagesCommand({ ImageIds: [out.image_id!] }));
  assert.equal(image?.State, 'available');
  assert.equal(image?.Name, `${name}-web`);
  assert.equal(image?.SourceInstanceId, out.instance_id);
  const rootSnap = image?.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName)?.Ebs?.SnapshotId;
  assert.ok(rootSnap, 'the image has a root snapshot');
  assert.equal((await fileInSnapshot(kiln, rootSnap, '/etc/kiln-terraform-marker')).trim(), marker);

  // The copy exists in the other region and names its source.
  const west = kiln.client(COPY_REGION);
  const { Images: [copy] = [] } = await west.send(new DescribeImagesCommand({ ImageIds: [out.copy_id!] }));
  assert.equal(copy?.State, 'available');
  assert.equal(copy?.Name, `${name}-copy`);
  assert.equal(copy?.SourceImageId, out.image_id);
  assert.equal(copy?.SourceImageRegion, 'us-east-1');

  // The launch permission is set, and the other account sees the image.
  const attr = await east.send(new DescribeImageAttributeCommand({ ImageId: out.image_id!, Attribute: 'launchPermission' }));
  assert.deepEqual(attr.LaunchPermissions?.map((p) => p.UserId), [SHARE_ACCOUNT]);
  const other = kiln.client('us-east-1', { accessKeyId: 'tf-share', secretAccessKey: 'tf-share-secret' });
  const shared = await other.send(new DescribeImagesCommand({ ExecutableUsers: ['self'] }));
  assert.deepEqual(shared.Images?.map((i) => i.ImageId), [out.image_id]);

  // The data volume is attached, its snapshot shared, and the registered image maps both snapshots.
  const { Volumes: [data] = [] } = await east.send(new DescribeVolumesCommand({ VolumeIds: [out.data_volume_id!] }));
  assert.deepEqual([data?.State, data?.Attachments?.[0]?.InstanceId, data?.Attachments?.[0]?.Device], ['in-use', out.worker_id, '/dev/sdg']);
  const restorable = await other.send(new DescribeSnapshotsCommand({ RestorableByUserIds: ['self'] }));
  assert.deepEqual(restorable.Snapshots?.map((s) => s.SnapshotId), [out.data_snapshot_id]);
  const { Images: [registered] = [] } = await east.send(new DescribeImagesCommand({ ImageIds: [out.registered_id!] }));
  assert.equal(registered?.State, 'available');
  assert.deepEqual(registered?.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.SnapshotId === out.data_snapshot_id]).sort(),
    [['/dev/sdh', true], ['/dev/xvda', false]]);
}

async function checkDestroyed(kiln: Kiln, out: Record<string, string>, snapshots: string[]): Promise<void> {
  const east = kiln.client('us-east-1');
  const { Reservations = [] } = await east.send(new DescribeInstancesCommand({ InstanceIds: [out.instance_id!, out.worker_id!] }));
  assert.deepEqual(Reservations.map((r) => r.Instances?.[0]?.State?.Name), ['terminated', 'terminated']);
  const volumes = await east.send(new DescribeVolumesCommand({ Filters: [{ Name: 'status', Values: ['available', 'in-use'] }] }));
  assert.deepEqual(volumes.Volumes?.map((v) => v.VolumeId), [], 'every volume went with its instance or its resource');
  const mine = await east.send(new DescribeImagesCommand({ Owners: ['self'] }));
  assert.deepEqual(mine.Images?.filter((i) => i.State !== 'deregistered').map((i) => i.ImageId), []);
  const copies = await kiln.client(COPY_REGION).send(new DescribeImagesCommand({ Owners: ['self'] }));
  assert.deepEqual(copies.Images?.filter((i) => i.State !== 'deregistered').map((i) => i.ImageId), []);
  const snaps = await east.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  assert.deepEqual(snaps.Snapshots?.filter((s) => [...snapshots, out.data_snapshot_id].includes(s.SnapshotId!)).map((s) => s.SnapshotId), []);
}

const missing = skipOrFail((await missingTools()) ?? false);

test('terraform: data aws_ami, aws_key_pair, aws_instance with block devices, aws_ami_from_instance, aws_ami_copy, aws_ami_launch_permission, volumes, snapshots, aws_ami; apply, plan, destroy',
  { timeout: 480_000 }, async (t) => {
    if (missing) { t.skip(missing); return; }
    const kiln = await startKiln();
    await createAccount(kiln.app.ctx, { id: SHARE_ACCOUNT, accessKeyId: 'tf-share', secretAccessKey: 'tf-share-secret' });
    const nonce = randomBytes(4).toString('hex');
    const name = `tf-${nonce}`;
    const marker = `written by terraform user data ${nonce}`;
    const wd = await Workdir.create({ endpoint: kiln.endpoint, name, marker, copy_region: COPY_REGION, share_account: SHARE_ACCOUNT });
    let applied = false;
    let destroyed = false;
    try {
      await wd.init();
      applied = true; // from here on, whatever apply managed to create is destroyed below
      await wd.apply();
      const out = await wd.outputs();
      await checkApplied(kiln, out, marker, name);
      await wd.planIsEmpty();
      const { Images: [image] = [] } = await kiln.client().send(new DescribeImagesCommand({ ImageIds: [out.image_id!] }));
      const snapshots = (image?.BlockDeviceMappings ?? []).map((m) => m.Ebs?.SnapshotId).filter((s): s is string => !!s);
      await wd.destroy();
      destroyed = true;
      await checkDestroyed(kiln, out, snapshots);
    } finally {
      if (applied && !destroyed) await wd.destroy().catch((err: Error) => console.error(`kiln: cleanup destroy failed: ${err.message}`));
      await wd.remove();
      await kiln.close();
    }
  });

const noTerraform = skipOrFail((await missingTerraform()) ?? false);

/** The template's $Default version, its template's numbers, and the instance's image and launch-template tags. */
async function launchTemplateState(kiln: Kiln, templateId: string, instanceId: string) {
  const ec2 = kiln.client();
  const { LaunchTemplates: [lt] = [] } = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [templateId] }));
  const { LaunchTemplateVersions: [v] = [] } = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId, Versions: ['$Default'] }));
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const inst = Reservations[0]?.Instances?.[0];
  const tag = (k: string) => inst?.Tags?.find((t) => t.Key === k)?.Value;
  return {
    versions: [lt?.DefaultVersionNumber, lt?.LatestVersionNumber], teamTag: lt?.Tags?.find((t) => t.Key === 'Team')?.Value,
    data: [v?.LaunchTemplateData?.ImageId, v?.LaunchTemplateData?.InstanceType, v?.LaunchTemplateData?.MetadataOptions?.HttpTokens],
    instance: [inst?.State?.Name, inst?.ImageId, inst?.InstanceType, tag('aws:ec2launchtemplate:id'), tag('aws:ec2launchtemplate:version')],
  };
}

/** A Kiln over the recording runtime, its minimal catalog image, and a second image (a copy of it) to move to. */
async function twoImages(secondName: string) {
  const kiln = await startKiln({ runtime: new RecordingRuntime() });
  const ec2 = kiln.client();
  const base = (await kiln.app.ctx.store.images.list({ region: 'us-east-1' })).find((i) => i.name.startsWith('kiln-minimal-'))!.id;
  const { ImageId: second } = await ec2.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: base, Name: secondName }));
  await until('the second image', async () => (await ec2.send(new DescribeImagesCommand({ ImageIds: [second!] }))).Images?.[0]?.State === 'available');
  return { kiln, ec2, base, second };
}

/** A working directory of providers.tf and test/terraform/FIXTURE/main.tf, with a fresh name and `image_id` set. */
function storyDir(kiln: Kiln, imageId: string, fixture: string): Promise<Workdir> {
  const name = `tf-${randomBytes(4).toString('hex')}`;
  return Workdir.create({ endpoint: kiln.endpoint, name, marker: name, image_id: imageId },
    [join(FIXTURES, 'providers.tf'), join(FIXTURES, fixture, 'main.tf')]);
}

test('terraform: aws_launch_template and an aws_instance from it; a new image makes a new default version and a new instance; destroy',
  { timeout: 480_000 }, async (t) => {
    if (noTerraform) { t.skip(noTerraform); return; }
    const { kiln, ec2, base, second } = await twoImages('lt-second-image');
    let wd = await storyDir(kiln, base, 'launch-template');
    let applied = false;
    let destroyed = false;
    try {
      await wd.init();
      applied = true;
      await wd.apply();
      const first = await wd.outputs();
      const one = await launchTemplateState(kiln, first.template_id!, first.instance_id!);
      assert.deepEqual(one, {
        versions: [1, 1], teamTag: 'platform', data: [base, 't3.micro', 'required'],
        instance: ['running', base, 't3.micro', first.template_id, '1'],
      });
      await wd.planIsEmpty();

      wd = wd.withVars({ image_id: second! });
      await wd.apply();
      const next = await wd.outputs();
      assert.equal(next.template_id, first.template_id, 'the same template, a new version');
      assert.equal(String(next.latest_version), '2');
      assert.notEqual(next.instance_id, first.instance_id, 'the instance is replaced by one of the new version');
      const two = await launchTemplateState(kiln, next.template_id!, next.instance_id!);
      assert.deepEqual(two, {
        versions: [2, 2], teamTag: 'platform', data: [second, 't3.micro', 'required'],
        instance: ['running', second, 't3.micro', first.template_id, '2'],
      });
      await wd.planIsEmpty();

      await wd.destroy();
      destroyed = true;
      await assert.rejects(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [first.template_id!] })), { name: 'InvalidLaunchTemplateId.NotFound' });
      const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [first.instance_id!, next.instance_id!] }));
      assert.deepEqual(Reservations.map((r) => r.Instances?.[0]?.State?.Name), ['terminated', 'terminated']);
    } finally {
      if (applied && !destroyed) await wd.destroy().catch((err: Error) => console.error(`kiln: cleanup destroy failed: ${err.message}`));
      await wd.remove();
      await kiln.close();
    }
  });

/** The group's capacity, its instances' images and states, and its refreshes' statuses, as the SDK sees them. */
async function groupState(kiln: Kiln, name: string) {
  const scaling = new AutoScalingClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const g = (await scaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))).AutoScalingGroups?.[0];
  const ids = g?.Instances?.map((i) => i.InstanceId!) ?? [];
  const { Reservations = [] } = ids.length ? await kiln.client().send(new DescribeInstancesCommand({ InstanceIds: ids })) : {};
  const refreshes = g ? (await scaling.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: name }))).InstanceRefreshes ?? [] : [];
  return {
    desired: g?.DesiredCapacity, states: g?.Instances?.map((i) => i.LifecycleState), refreshes: refreshes.map((r) => r.Status),
    images: [...new Set(Reservations.flatMap((r) => r.Instances ?? []).map((i) => i.ImageId))],
  };
}

test('terraform: aws_launch_template and an aws_autoscaling_group with instance_refresh; a new image rolls the group onto it; destroy',
  { timeout: 600_000 }, async (t) => {
    if (noTerraform) { t.skip(noTerraform); return; }
    const { kiln, base, second } = await twoImages('asg-second-image');
    let wd = await storyDir(kiln, base, 'autoscaling');
    let applied = false;
    let destroyed = false;
    try {
      await wd.init();
      applied = true;
      await wd.apply();
      const first = await wd.outputs();
      assert.match(first.group_arn!, new RegExp(`^arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName/${first.group_name}$`));
      assert.deepEqual(await groupState(kiln, first.group_name!), { desired: 2, states: ['InService', 'InService'], refreshes: [], images: [base] });
      await wd.planIsEmpty();

      // A new image: a new template version, and the provider starts an instance refresh onto it.
      wd = wd.withVars({ image_id: second!, desired_capacity: '3' });
      await wd.apply();
      const rolled = await until('the group rolled onto the new image', async () => {
        const s = await groupState(kiln, first.group_name!);
        return s.refreshes[0] === 'Successful' && s.states?.length === 3 && s.states.every((x) => x === 'InService') && s.images.length === 1 && s;
      }, 120_000, 250);
      assert.deepEqual(rolled, { desired: 3, states: ['InService', 'InService', 'InService'], refreshes: ['Successful'], images: [second] });
      await wd.planIsEmpty();

      await wd.destroy();
      destroyed = true;
      assert.equal((await groupState(kiln, first.group_name!)).desired, undefined, 'the group is gone');
      const left = (await kiln.app.ctx.store.instances.list()).filter((i) => i.state !== 'terminated');
      assert.deepEqual(left.map((i) => i.id), []);
    } finally {
      if (applied && !destroyed) await wd.destroy().catch((err: Error) => console.error(`kiln: cleanup destroy failed: ${err.message}`));
      await wd.remove();
      await kiln.close();
    }
  });
