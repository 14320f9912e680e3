/**
 * Hostile guests (issue #17): root inside an instance is an unprivileged
 * host uid in a user namespace of its own (src/runtime/runc/userns.ts), what
 * the host's kernel offers a guest is cut down to what container runtimes
 * allow (src/runtime/runc/seccomp.ts), and what the host mounts of a guest's
 * volume is checked and restricted first. Real instances: the
 * minimal image for the mount and namespace checks, one Debian instance
 * (python3's ctypes makes the raw system calls) for the kernel keyring and
 * the rest of the seccomp profile; a corrupt ext4 written through the EBS
 * direct APIs is refused before the host mounts it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import {
  AttachVolumeCommand, CreateVolumeCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeVolumesCommand, RegisterImageCommand,
  RunInstancesCommand, StartInstancesCommand, StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CompleteSnapshotCommand, EBSClient, PutSnapshotBlockCommand, StartSnapshotCommand } from '@aws-sdk/client-ebs';
import { buildMinimalRootfs, makeExt4Volume } from '../src/catalog/minimal-rootfs.js';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances', 'debian');
const BLOCK = 512 * 1024;
const execFileP = promisify(execFile);
const sbin = (t: string) => (existsSync(`/usr/sbin/${t}`) ? `/usr/sbin/${t}` : t);
const nonce = randomBytes(4).toString('hex');

let kiln: Kiln;
let ec2: EC2Client;
let work: string;

before(async () => {
  if (skip) return;
  work = await mkdtemp(join(tmpdir(), 'kiln-hostile-guest-'));
  kiln = await startKiln({ debian: { cacheDir: '/var/cache/kiln' } });
  ec2 = kiln.client();
});
after(async () => {
  await kiln?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function image(name: string): Promise<string> {
  return until(`the ${name} image`, async () => {
    const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: [`${name}*`] }] }));
    return Images.find((i) => i.State === 'available')?.ImageId;
  }, 600_000, 1000);
}

async function describe(id: string): Promise<Instance> {
  return (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
}

async function launch(imageId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra }));
  const id = Instances[0]!.InstanceId!;
  await until(`${id} to run`, async () => {
    const inst = await describe(id);
    assert.notEqual(inst.State?.Name, 'terminated', inst.StateReason?.Message);
    return inst.State?.Name === 'running';
  }, 180_000);
  return id;
}

/** The host's mounts under `dir`: mount point (relative) -> its per-mount options. */
async function hostMounts(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const f = line.split(' ');
    if (f[4]?.startsWith(`${dir}/`)) out[f[4].slice(dir.length + 1)] = f[5]!;
  }
  return out;
}

test('a guest cannot make a user namespace (unshare -U: EPERM); the host mounts its volumes nodev, further ones nosuid, in a bundle only the instance reaches', { skip, timeout: 300_000 }, async () => {
  const id = await launch(await image('kiln-minimal-'), {
    BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1, DeleteOnTermination: true } }],
  });
  // Today: `unshare -Ur` gives the guest a full capability set in a namespace of its own (the kernel's whole surface for it).
  const out = await inInstance(kiln, id, 'unshare -U -r id -u 2>&1; echo "rc=$?"');
  assert.match(out, /Operation not permitted[\s\S]*rc=1/, out);

  const bundle = join(kiln.dataDir, 'runtime', id);
  const st = await stat(bundle);
  assert.equal(st.mode & 0o777, 0o700, 'only the instance\'s own host uid (and root) reach the guest\'s files');
  const mounts = await hostMounts(bundle);
  const root = mounts.rootfs?.split(',') ?? [];
  const data = mounts['mnt/sdf']?.split(',') ?? [];
  assert.ok(root.includes('nodev'), `root volume: ${mounts.rootfs}`);
  assert.ok(data.includes('nodev') && data.includes('nosuid'), `data volume: ${mounts['mnt/sdf']}`);
  assert.ok(root.includes('idmapped') && data.includes('idmapped'), `the volumes are mounted id-mapped: ${JSON.stringify(mounts)}`);

  // Root inside is an unprivileged uid on the host, in a range of its own; its files are uid 0 on the volume.
  const uidMap = (await inInstance(kiln, id, 'cat /proc/self/uid_map')).trim().split(/\s+/).map(Number);
  assert.notDeepEqual(uidMap, [0, 0, 4294967295]);
  const [inside, hostId] = uidMap;
  assert.equal(inside, 0);
  assert.ok(hostId! >= 65536, `guest root is host uid ${hostId}`);
  assert.equal(st.uid, hostId);
  const { stdout: state } = await execFileP('runc', ['--root', join(kiln.dataDir, 'runtime', 'runc'), 'state', id]);
  const status = await readFile(`/proc/${(JSON.parse(state) as { pid: number }).pid}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+${hostId}\\s+${hostId}\\s`, 'm'));
  await inInstance(kiln, id, 'echo x > /root/by-guest && sync');
  assert.equal((await stat(join(bundle, 'rootfs/root/by-guest'))).uid, hostId, 'the host sees the file as the instance\'s uid');
  const rootVolume = (await describe(id)).BlockDeviceMappings!.find((m) => m.DeviceName === '/dev/xvda')!.Ebs!.VolumeId!;
  // Stopped, so the filesystem is unmounted cleanly and its metadata is on the volume for debugfs to read.
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await until(`${id} stopped`, async () => (await describe(id)).State?.Name === 'stopped');
  const { stdout: onDisk } = await execFileP(sbin('debugfs'), ['-R', 'stat /root/by-guest', kiln.app.ctx.paths.volume(rootVolume)]);
  assert.match(onDisk, /User:\s+0\s+Group:\s+0\s/, 'on the volume it is root\'s, so images captured from it are unchanged');

  // Started again and rebooted: each start mounts every volume id-mapped again, so a guest user's file (cloud-init's
  // ~admin/.ssh is uid 1000's) is that uid on disk and keeps its owner across boots (never nobody, which sshd refuses).
  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  await until(`${id} running again`, async () => (await describe(id)).State?.Name === 'running');
  await inInstance(kiln, id, 'for f in /root/by-1000 /mnt/sdf/by-1000; do echo y > $f && chown 1000:1000 $f; done; sync');
  await kiln.app.ctx.runtime.reboot(id);
  const again = await hostMounts(bundle);
  assert.ok(again.rootfs?.split(',').includes('idmapped') && again['mnt/sdf']?.split(',').includes('idmapped'), `after a reboot: ${JSON.stringify(again)}`);
  assert.equal(await inInstance(kiln, id, 'stat -c "%u:%g" /root/by-guest /root/by-1000 /mnt/sdf/by-1000'), '0:0\n1000:1000\n1000:1000\n');
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await until(`${id} stopped again`, async () => (await describe(id)).State?.Name === 'stopped');
  const { stdout: byUser } = await execFileP(sbin('debugfs'), ['-R', 'stat /root/by-1000', kiln.app.ctx.paths.volume(rootVolume)]);
  assert.match(byUser, /User:\s+1000\s+Group:\s+1000\s/, 'a guest user\'s file is its uid on the volume, not the host uid it ran as');
});

/** Raw system calls from inside the guest, as python3's ctypes makes them (x86_64 numbers); each gives 0 or its errno. */
const PROBE = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
L = ctypes.c_long
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(L(nr), *args)
    return 0 if r >= 0 else ctypes.get_errno()
def in_child(nr, *args):
    pid = os.fork()
    if pid == 0:
        os._exit(call(nr, *args))
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
desc = sys.argv[1].encode()
res = {
  'add_key': call(248, b'user', desc, b'secret', L(6), L(-4)),
  'keyctl': call(250, L(0), L(-4), L(0)),
  'request_key': call(249, b'user', desc, None, L(0)),
  'unshare(CLONE_NEWUSER)': in_child(272, L(0x10000000)),
  'clone3': call(435, None, L(0)),
  'personality(ADDR_NO_RANDOMIZE)': in_child(135, L(0x0040000)),
  'io_uring_setup': call(425, L(1), None),
  'bpf': call(321, L(0), None, L(0)),
  'perf_event_open': call(298, None, L(0), L(-1), L(-1), L(0)),
  'userfaultfd': call(323, L(0)),
  'open_tree': call(428, L(-100), b'/', L(0)),
  'kexec_load': call(246, L(0), L(0), None, L(0)),
  'getpid': call(39),
}
print(' '.join('%s=%d' % kv for kv in res.items()))
`;

test('a guest gets no kernel keyring (add_key/keyctl: EPERM, nothing in the host\'s keys), nor bpf, io_uring, user namespaces, personality changes; clone3 is ENOSYS', { skip, timeout: 600_000 }, async () => {
  const id = await launch(await image('debian-12-'));
  const desc = `kiln-hostile-${nonce}`;
  const out = await inInstance(kiln, id, `echo ${Buffer.from(PROBE).toString('base64')} | base64 -d > /tmp/probe.py && python3 /tmp/probe.py ${desc}`);
  const got = Object.fromEntries(out.trim().split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
  const EPERM = 1;
  assert.deepEqual(got, {
    add_key: EPERM, keyctl: EPERM, request_key: EPERM, 'unshare(CLONE_NEWUSER)': EPERM, clone3: 38, 'personality(ADDR_NO_RANDOMIZE)': EPERM,
    io_uring_setup: EPERM, bpf: EPERM, perf_event_open: EPERM, userfaultfd: EPERM, open_tree: EPERM, kexec_load: EPERM, getpid: 0,
  });
  // Today the key lands in uid 0's user keyring, which is the host root's too.
  assert.doesNotMatch(await readFile('/proc/keys', 'utf8'), new RegExp(desc));
});

/** A minimal image's ext4 with garbage in an inode the kernel does not read at mount (lost+found's, number 11): e2fsck -n finds it. */
async function corruptExt4(): Promise<Buffer> {
  const rootfs = join(work, 'rootfs');
  await mkdir(rootfs);
  await buildMinimalRootfs(rootfs);
  const file = join(work, 'corrupt.img');
  await makeExt4Volume(rootfs, file, 1);
  const disk = await readFile(file);
  const blockSize = 1024 << disk.readUInt32LE(1024 + 24);
  const inodeSize = disk.readUInt16LE(1024 + 88);
  const descOffset = blockSize === 1024 ? 2048 : blockSize;
  const inodeTable = disk.readUInt32LE(descOffset + 8) + (disk.readUInt32LE(descOffset + 0x28) * 2 ** 32 || 0);
  disk.fill(0xa5, inodeTable * blockSize + 10 * inodeSize, inodeTable * blockSize + 11 * inodeSize);
  return disk;
}

/** Writes `disk` through the EBS direct APIs as any account can; the completed snapshot's id. */
async function directSnapshot(disk: Buffer): Promise<string> {
  const ebs = new EBSClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const { SnapshotId } = await ebs.send(new StartSnapshotCommand({ VolumeSize: 1 }));
  const zero = Buffer.alloc(BLOCK);
  let changed = 0;
  for (let i = 0; i * BLOCK < disk.length; i++) {
    const data = disk.subarray(i * BLOCK, (i + 1) * BLOCK);
    if (data.equals(zero)) continue;
    changed++;
    await ebs.send(new PutSnapshotBlockCommand({
      SnapshotId, BlockIndex: i, BlockData: data, DataLength: BLOCK, Checksum: createHash('sha256').update(data).digest('base64'), ChecksumAlgorithm: 'SHA256',
    }));
  }
  await ebs.send(new CompleteSnapshotCommand({ SnapshotId, ChangedBlocksCount: changed }));
  return SnapshotId!;
}

test('a corrupt ext4 written through the EBS direct APIs is refused before the host mounts it: the launch fails (Client.InternalError), the attach too', { skip, timeout: 300_000 }, async () => {
  const snapshotId = await directSnapshot(await corruptExt4());
  const { ImageId } = await ec2.send(new RegisterImageCommand({
    Name: `hostile-${nonce}`, RootDeviceName: '/dev/xvda', Architecture: 'x86_64', VirtualizationType: 'hvm', EnaSupport: true,
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
  }));
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
  const id = Instances[0]!.InstanceId!;
  const ended = await until(`${id} to end`, async () => {
    const inst = await describe(id);
    return ['terminated', 'running'].includes(inst.State?.Name ?? '') && inst;
  }, 120_000);
  assert.equal(ended.State?.Name, 'terminated');
  assert.equal(ended.StateReason?.Code, 'Client.InternalError');
  assert.ok(!ended.StateReason?.Message?.includes(kiln.dataDir), ended.StateReason?.Message);

  const running = await launch(await image('kiln-minimal-'));
  const { VolumeId } = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: snapshotId }));
  await until('the volume', async () => (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [VolumeId!] }))).Volumes![0]!.State === 'available');
  const attach = ec2.send(new AttachVolumeCommand({ InstanceId: running, VolumeId, Device: '/dev/sdg' }));
  assert.equal(await attach.then(() => 'none', (e: Error) => e.name), 'InvalidVolume.NotAttachable');
});
