/**
 * Hostile: one account exhausting the host. Each attack below worked before
 * Kiln sized instances and volumes against the host:
 *   (a) a fork bomb: an instance's cgroup had pids.max "max";
 *   (b) r5.4xlarge (128 GiB) was accepted on a host with less memory;
 *   (c) a 2048 GiB volume was accepted over a disk with far less free;
 *   (d) 300 MB printed to the console became a 300 MB file on the host (16 MB
 *       here, 16 times the bound: what the ring keeps does not grow with it);
 *   (e) /proc/meminfo in an instance showed the host's memory.
 * Real instances of the minimal busybox image; needs root and runc.
 */
import assert from 'node:assert/strict';
import { readFile, stat, statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { EC2Client, _InstanceType as InstanceType } from '@aws-sdk/client-ec2';
import { CreateVolumeCommand, DescribeInstancesCommand, DescribeVolumesCommand, GetConsoleOutputCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';
import { cgroupLayout } from '../src/runtime/runc/host.js';

const skip = await skipUnless('instances');
/** Processes per vCPU for this server: a t3.nano (2 vCPUs) may hold 2 x 40. */
const PIDS_PER_VCPU = 40;

let kiln: Kiln;
let ec2: EC2Client;
let image: string;
const launched: string[] = [];

before(async () => {
  if (skip) return;
  kiln = await startKiln({ capacity: { pids: { perVcpu: PIDS_PER_VCPU } } });
  ec2 = kiln.client();
  image = (await kiln.app.ctx.store.images.list({ region: 'us-east-1' })).find((i) => i.name.startsWith('kiln-minimal-'))!.id;
});
after(async () => {
  if (launched.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: launched })).catch(() => undefined);
  await kiln?.close();
});

/** The AWS error code and HTTP status a call failed with, or 'none'. */
async function failure(call: Promise<unknown>): Promise<string> {
  return call.then(() => 'none', (err: { name?: string; $metadata?: { httpStatusCode?: number } }) => `${err.name} ${err.$metadata?.httpStatusCode}`);
}

async function running(instanceType: InstanceType): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: instanceType, MinCount: 1, MaxCount: 1 }));
  const id = r.Instances![0]!.InstanceId!;
  launched.push(id);
  await until(`${id} to run`, async () => {
    const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const s = d.Reservations![0]!.Instances![0]!.State!.Name;
    if (s === 'terminated') throw new Error(`${id} ended terminated`);
    return s === 'running';
  }, 60_000, 200);
  return id;
}

test('(a) a fork bomb ends at the instance\'s pids.max, not at the host\'s', { skip, timeout: 120_000 }, async () => {
  const id = await running('t3.nano');
  const cgroups = (await cgroupLayout()).version === 2 ? '/sys/fs/cgroup/kiln' : '/sys/fs/cgroup/pids/kiln';
  const max = (await readFile(join(cgroups, id, 'pids.max'), 'utf8')).trim();
  assert.equal(max, String(2 * PIDS_PER_VCPU));
  // At most 200 tries, each a process that stays: without a bound all 200 would run.
  // The loop in a subshell, which ends when a fork fails; the count by shell builtins only (no fork is left).
  const out = await inInstance(kiln, id, '(i=0; while [ $i -lt 200 ]; do sleep 300 </dev/null >/dev/null 2>&1 & i=$((i+1)); done) 2>/dev/null; set -- /proc/[0-9]*; echo $#');
  const procs = Number(out.trim());
  assert.ok(procs > PIDS_PER_VCPU && procs <= 2 * PIDS_PER_VCPU, `${procs} processes in the instance`);
});

test('(b) an instance type larger than the host is InsufficientInstanceCapacity (500, as EC2) and nothing is left pending', { skip, timeout: 60_000 }, async () => {
  assert.ok(totalmem() < 128 * 1024 ** 3, 'this host has less than r5.4xlarge\'s 128 GiB');
  assert.equal(await failure(ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 'r5.4xlarge', MinCount: 1, MaxCount: 1 }))), 'InsufficientInstanceCapacity 500');
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-type', Values: ['r5.4xlarge'] }] }));
  for (const inst of Reservations.flatMap((r) => r.Instances ?? [])) launched.push(inst.InstanceId!);
  assert.deepEqual(Reservations.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId), []);
});

test('(c) a 2048 GiB volume over a pool with less room is InsufficientVolumeCapacity, as a volume or as a root', { skip, timeout: 60_000 }, async () => {
  const pool = await statfs(kiln.app.ctx.pool.dir);
  assert.ok(pool.bavail * pool.bsize < 2048 * 1024 ** 3, 'the pool has less than 2048 GiB free');
  assert.equal(await failure(ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 2048 }))), 'InsufficientVolumeCapacity 500');
  const root = [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 2048 } }];
  assert.equal(await failure(ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, BlockDeviceMappings: root }))), 'InsufficientVolumeCapacity 500');
  const { Volumes = [] } = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'size', Values: ['2048'] }] }));
  assert.deepEqual(Volumes.map((v) => v.VolumeId), []);
});

test('(d) 16 MB printed to the console: the host keeps at most 1 MiB of it, GetConsoleOutput the last 64 KiB with the final line', { skip, timeout: 300_000 }, async () => {
  const id = await running('t3.nano');
  await inInstance(kiln, id, 'yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxy | head -c 16000000 > /dev/console; echo KILN-CONSOLE-END > /dev/console');
  const file = kiln.app.ctx.paths.console(id);
  const out = await until('the final line on the console', async () => {
    const r = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
    const text = Buffer.from(r.Output ?? '', 'base64').toString();
    return text.includes('KILN-CONSOLE-END') && text;
  }, 120_000, 500);
  assert.ok(Buffer.byteLength(out) <= 64 * 1024, `${Buffer.byteLength(out)} bytes of console output`);
  assert.match(out, /KILN-CONSOLE-END\n?$/);
  const size = async (f: string) => stat(f).then((s) => s.size, () => 0);
  const kept = await size(file) + await size(`${file}.1`);
  assert.ok(kept <= 1024 * 1024, `${kept} bytes of console kept on the host`);
});

test('(e) /proc/meminfo in a t3.micro shows its 1 GiB, not the host\'s memory', { skip, timeout: 120_000 }, async () => {
  const id = await running('t3.micro');
  const kib = Number(/MemTotal:\s+(\d+) kB/.exec(await inInstance(kiln, id, 'cat /proc/meminfo'))?.[1]);
  assert.equal(kib, 1024 * 1024);
  // What reads /proc/meminfo (procps' free, top, a JVM or a database sizing its heap) sees the same. busybox's own
  // `free` asks sysinfo(2), which no /proc file answers: it still shows the host's total (docs/security/capacity.md).
  const available = Number(/Mem:(?:\s+\d+){5}\s+(\d+)/.exec(await inInstance(kiln, id, 'free -m'))?.[1]);
  assert.ok(available <= 1024, `free -m says ${available} MiB available`);
});
