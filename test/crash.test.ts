/**
 * A crash in the middle of an operation leaves nothing half-made: `kiln serve`
 * is killed (SIGKILL) right after CreateImage or RunInstances answers, while
 * the work goes on in the background, and started again over the same data.
 * Whichever point the crash hit, what the restarted server shows is whole:
 * an image is available with completed snapshots, or failed with its
 * snapshots in error and unlaunchable; an instance is running, stopped with
 * its data, or terminated with a reason and no volume left behind; no
 * temporary file survives.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateImageCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client,
  GetConsoleOutputCommand, RunInstancesCommand, StartInstancesCommand, TerminateInstancesCommand,
  waitUntilInstanceRunning, waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { spawnKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('instances', 'build');
const nonce = randomBytes(4).toString('hex');

const sdk = (k: KilnProcess) => new EC2Client({ endpoint: k.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const waiter = (client: EC2Client) => ({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 2 });

async function instanceOf(ec2: EC2Client, id: string) {
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return Reservations[0]!.Instances![0]!;
}

/** Every file under `dir` that a cut-short write leaves: restore/copy staging files, anything in a tmp/ directory. */
async function leftovers(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all.filter((p) => /\.(restore|copy)-[0-9a-f]{12}$|(^|\/)tmp\/./.test(p));
}

/** Terminates every instance still alive, then stops the server cleanly. */
async function cleanUp(k: KilnProcess, dir: string): Promise<void> {
  const ec2 = sdk(k);
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({}));
  const ids = Reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').map((i) => i.InstanceId!);
  if (ids.length) {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await waitUntilInstanceTerminated(waiter(ec2), { InstanceIds: ids });
  }
  await k.stop();
  await rm(dir, { recursive: true, force: true });
}

test('killed mid-capture and mid-launch, the restarted server shows only whole results', { skip, timeout: 420_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-crash-'));
  const data = join(dir, 'data');
  let k = await spawnKiln(data);
  try {
    let ec2 = sdk(k);
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }));
    const base = Images[0]!.ImageId!;
    const script = `#!/bin/sh\nhead -c 150000000 /dev/urandom > /root/big\necho "marker ${nonce}" > /root/marker\nsync\necho "ready ${nonce}"\n`;
    const r = await ec2.send(new RunInstancesCommand({ ImageId: base, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, UserData: Buffer.from(script).toString('base64') }));
    const first = r.Instances![0]!.InstanceId!;
    await until('user data to finish', async () => {
      const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: first, Latest: true }));
      return Buffer.from(out.Output ?? '', 'base64').toString().includes(`ready ${nonce}`);
    }, 120_000);

    // Crash 1: right after CreateImage answers, while the instance is stopped and its volume is being read.
    const { ImageId: imageId } = await ec2.send(new CreateImageCommand({ InstanceId: first, Name: `crash-${nonce}` }));
    await k.stop('SIGKILL');
    k = await spawnKiln(data);
    ec2 = sdk(k);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId!] }))).Images![0]!;
    const snaps = (await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'description', Values: [`*for ${imageId}`] }] }))).Snapshots ?? [];
    t.diagnostic(`capture crash: image ${image.State}, snapshots ${snaps.map((s) => s.State).join(',') || 'none'}`);
    if (image.State === 'available') {
      assert.ok(snaps.length && snaps.every((s) => s.State === 'completed'), 'an available image has completed snapshots');
    } else {
      assert.equal(image.State, 'failed');
      assert.equal(image.StateReason?.Code, 'Server.InternalError');
      assert.ok(snaps.every((s) => s.State === 'error'), 'an interrupted capture leaves no completed snapshot');
      await assert.rejects(ec2.send(new RunInstancesCommand({ ImageId: imageId!, MinCount: 1, MaxCount: 1 })), 'a failed image cannot be launched');
    }
    // The captured instance is never forgotten, and its data is intact.
    const inst = await instanceOf(ec2, first);
    t.diagnostic(`captured instance after the crash: ${inst.State?.Name}`);
    assert.ok(['running', 'stopped'].includes(inst.State!.Name!), `instance is ${inst.State?.Name}`);
    if (inst.State!.Name === 'stopped') await ec2.send(new StartInstancesCommand({ InstanceIds: [first] }));
    await waitUntilInstanceRunning(waiter(ec2), { InstanceIds: [first] });
    const { stdout } = await execFileP('runc', ['--root', join(data, 'runtime', 'runc'), 'exec', first, 'cat', '/root/marker']);
    assert.equal(stdout.trim(), `marker ${nonce}`);

    // Crash 2: right after RunInstances answers, while the root volumes are being restored.
    const launch = await ec2.send(new RunInstancesCommand({ ImageId: base, InstanceType: 't3.nano', MinCount: 3, MaxCount: 3 }));
    const launched = launch.Instances!.map((i) => i.InstanceId!);
    await k.stop('SIGKILL');
    k = await spawnKiln(data);
    ec2 = sdk(k);
    for (const id of launched) {
      const i = await instanceOf(ec2, id);
      t.diagnostic(`launch crash: ${id} ${i.State?.Name} ${i.StateReason?.Code ?? ''}`);
      assert.ok(['running', 'terminated'].includes(i.State!.Name!), `an interrupted launch ends running or terminated, not ${i.State?.Name}`);
      if (i.State!.Name === 'terminated') assert.equal(i.StateReason?.Code, 'Server.InternalError');
    }
    const { Volumes = [] } = await ec2.send(new DescribeVolumesCommand({}));
    assert.deepEqual(Volumes.filter((v) => v.State !== 'in-use').map((v) => `${v.VolumeId} ${v.State}`), [], 'no volume is left behind');
    assert.deepEqual(await leftovers(data), [], 'no temporary file survives a restart');
  } finally {
    await cleanUp(k, dir);
  }
});
