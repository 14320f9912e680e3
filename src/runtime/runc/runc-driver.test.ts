/**
 * The runc driver against the real thing: runc, loop-mounted ext4 volumes
 * holding Kiln's minimal image, the guest init as PID 1. Needs root and the
 * host tools; skipped (with what is missing) otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildMinimalRootfs, makeExt4Volume } from '../../catalog/minimal-rootfs.js';
import type { InstanceSpec } from '../runtime.js';
import { HostCommandError, RuncDriver } from './runc-driver.js';
import { DamagedFilesystemError } from '../../lib/ext4-check.js';
import { skipUnless } from '../../../test/skips.js';

const run = promisify(execFile);

const skip = await skipUnless('instances');

const USER_DATA = [
  '#!/bin/sh',
  'echo hello-from-userdata; echo data > /root/marker',
  'echo "hostname=$(hostname)"',
  'echo "iid=$(cat /run/kiln/instance-id)"',
  'echo "memlimit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null)"',
  'touch /run/kiln/probe 2>/dev/null && echo meta-writable || echo meta-readonly',
  "ip link show lo | grep -q ',UP' && echo lo-up || echo lo-down",
  '',
].join('\n');

const newId = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
const count = (text: string, needle: string) => text.split(needle).length - 1;

async function waitFor(what: string, pred: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}

async function loopsFor(file: string): Promise<string> {
  return (await run('losetup', ['-j', file])).stdout.trim();
}

async function debugfsCat(volume: string, path: string): Promise<string> {
  return (await run('debugfs', ['-R', `cat ${path}`, volume])).stdout;
}

/** A cgroup file of the instance read from the host: cgroup v1 (`controller/kiln/<id>/v1File`) or v2. */
async function cgroupFile(id: string, controller: string, v1File: string, v2File: string): Promise<string> {
  const read = (p: string) => readFile(p, 'utf8').then((t) => t.trim());
  return read(`/sys/fs/cgroup/${controller}/kiln/${id}/${v1File}`).catch(() => read(`/sys/fs/cgroup/kiln/${id}/${v2File}`));
}

const cgroupV1 = await access('/sys/fs/cgroup/memory/memory.limit_in_bytes').then(() => true, () => false);

describe('RuncDriver (real runc over loop-mounted ext4)', { skip }, () => {
  let tmp = '';
  let stateDir = '';
  let base = '';
  let driver: RuncDriver;
  const started = new Set<string>();

  const consoleOf = (id: string) => join(tmp, `${id}.console`);
  const readConsole = (id: string) => readFile(consoleOf(id), 'utf8').catch(() => '');
  const spec = (id: string, volume: string, userData?: string): InstanceSpec => {
    const metadata: InstanceSpec['metadata'] = {
      'instance-id': id, 'instance-type': 't3.small', 'ami-id': 'ami-0123456789abcdef0', region: 'us-east-1',
      'availability-zone': 'us-east-1a', 'local-hostname': id,
    };
    if (userData !== undefined) metadata['user-data'] = Buffer.from(userData);
    return { id, vcpus: 2, memoryMiB: 256, metadata, consoleLog: consoleOf(id), volumes: [{ device: '/dev/xvda', path: volume, root: true }] };
  };
  const copyVolume = async (from: string, name: string) => {
    const to = join(tmp, name);
    await run('cp', ['--sparse=always', from, to]);
    return to;
  };
  const startTracked = async (s: InstanceSpec) => {
    started.add(s.id);
    await driver.start(s);
  };
  const waitFinished = (id: string, times = 1) =>
    waitFor(`${id} to finish booting (${times})`, async () => count(await readConsole(id), 'kiln-init: boot finished after') >= times);

  async function assertNoTrace(id: string, volume: string): Promise<void> {
    assert.deepEqual(await mountsUnder(stateDir), []);
    assert.equal(await loopsFor(volume), '');
    assert.equal(await access(join(stateDir, id)).then(() => true, () => false), false, 'bundle left behind');
    assert.equal(await driver.state(id), 'absent');
    assert.ok(!(await driver.list()).includes(id));
  }

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kiln-runc-test-'));
    stateDir = join(tmp, 'state');
    driver = new RuncDriver({ stateDir });
    await mkdir(join(tmp, 'rootfs'));
    await buildMinimalRootfs(join(tmp, 'rootfs'));
    base = join(tmp, 'base.img');
    await makeExt4Volume(join(tmp, 'rootfs'), base, 1);
  });

  after(async () => {
    const cleaner = new RuncDriver({ stateDir });
    for (const id of started) await cleaner.stop(id, 0).catch((err) => console.error(`cleanup of ${id}:`, err));
    for (const m of (await mountsUnder(tmp)).reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  });

  let idA = '';
  let volA = '';

  it('boots an instance: user data, hostname, metadata, loopback, limits', async (t) => {
    idA = newId();
    volA = await copyVolume(base, 'a.img');
    const t0 = Date.now();
    await startTracked(spec(idA, volA, USER_DATA));
    const startMs = Date.now() - t0;
    await waitFinished(idA);
    t.diagnostic(`start() ${startMs} ms, finished line after ${Date.now() - t0} ms`);
    const out = await readConsole(idA);
    for (const line of ['hello-from-userdata', `hostname=${idA}`, `iid=${idA}`, 'meta-readonly', 'lo-up',
      `kiln-init: Kiln minimal image init (busybox sh as PID 1), hostname ${idA}, instance ${idA}`,
      'kiln-init: running the user data script (once per instance)', 'kiln-init: user data script exited with status 0']) {
      assert.ok(out.includes(line), `console lacks ${JSON.stringify(line)}:\n${out}`);
    }
    // Only what ran: no kernel boots in a container, and no getty offers a login.
    for (const imitation of ['Linux version', 'Command line:', 'login:', 'Cloud-init v.']) {
      assert.ok(!out.includes(imitation), `console prints ${JSON.stringify(imitation)}, which did not happen:\n${out}`);
    }
    assert.equal(await cgroupFile(idA, 'memory', 'memory.limit_in_bytes', 'memory.max'), String(256 * 1024 * 1024));
    assert.match(await cgroupFile(idA, 'cpu', 'cpu.cfs_quota_us', 'cpu.max'), /^200000\b/);
    // Seen from inside too (runc mounts the instance's own v1 cgroups at /sys/fs/cgroup).
    if (cgroupV1) assert.ok(out.includes(`memlimit=${256 * 1024 * 1024}`), out);
    assert.equal(await driver.state(idA), 'running');
    assert.ok((await driver.list()).includes(idA));
    await assert.rejects(driver.start(spec(idA, volA, USER_DATA)), /already running/);
    assert.equal(await driver.state(idA), 'running');
  });

  it('a new driver over the same stateDir (a restarted server) sees the running instance', async () => {
    const again = new RuncDriver({ stateDir });
    assert.ok((await again.list()).includes(idA));
    assert.equal(await again.state(idA), 'running');
  });

  it('whileFrozen freezes the root filesystem and thaws it, even when fn throws', async () => {
    const rootfs = join(stateDir, idA, 'rootfs');
    const isFrozen = () => run('fsfreeze', ['--freeze', rootfs]).then(
      async () => { await run('fsfreeze', ['--unfreeze', rootfs]); return false; },
      () => true,
    );
    assert.equal(await driver.whileFrozen(idA, async () => ({ frozen: await isFrozen() })).then((r) => r.frozen), true);
    assert.equal(await isFrozen(), false);
    await assert.rejects(driver.whileFrozen(idA, async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await isFrozen(), false);
    assert.equal(await driver.state(idA), 'running');
  });

  it('stops cleanly: init handles SIGTERM, nothing left mounted or attached, data persisted', async (t) => {
    const t0 = Date.now();
    await driver.stop(idA);
    t.diagnostic(`stop() ${Date.now() - t0} ms`);
    assert.ok((await readConsole(idA)).includes('kiln-init: received SIGTERM'), 'init did not handle SIGTERM');
    await assertNoTrace(idA, volA);
    assert.equal(await debugfsCat(volA, '/root/marker'), 'data\n');
    assert.equal((await debugfsCat(volA, '/var/lib/cloud/data/instance-id')).trim(), idA);
    await driver.stop(idA);
  });

  it('start again and reboot do not re-run the user data', async () => {
    await startTracked(spec(idA, volA, USER_DATA));
    await waitFinished(idA, 2);
    await driver.reboot(idA, 2_000);
    await waitFinished(idA, 3);
    assert.equal(await driver.state(idA), 'running');
    assert.equal(count(await readConsole(idA), 'hello-from-userdata'), 1);
    await driver.stop(idA);
    await assertNoTrace(idA, volA);
  });

  it('a new instance from a copy of the volume runs its own user data, once', async () => {
    const idB = newId();
    const volB = await copyVolume(volA, 'b.img');
    await startTracked(spec(idB, volB, '#!/bin/sh\necho hello-from-b; cat /root/marker\n'));
    await waitFinished(idB);
    const out = await readConsole(idB);
    assert.ok(out.includes('hello-from-b') && out.includes('data\n'), out);
    assert.ok(!out.includes('hello-from-userdata'));
    await driver.stop(idB, 2_000);
    assert.equal((await debugfsCat(volB, '/var/lib/cloud/data/previous-instance-id')).trim(), idA);
    await assertNoTrace(idB, volB);
  });

  it('a failed start leaves no mount, loop device, container or bundle', async () => {
    const notExt4 = join(tmp, 'zeros.img');
    await writeFile(notExt4, '');
    await truncate(notExt4, 64 * 1024 * 1024);
    const id1 = newId();
    // Refused before the kernel sees it: e2fsck -n finds no filesystem (lib/ext4-check.ts); the message names the device, not the file.
    await assert.rejects(driver.start(spec(id1, notExt4)), (err: Error) => err instanceof DamagedFilesystemError && !err.message.includes(tmp));
    await assertNoTrace(id1, notExt4);

    const emptyDir = join(tmp, 'empty');
    await mkdir(emptyDir);
    const noInit = join(tmp, 'no-init.img');
    await makeExt4Volume(emptyDir, noInit, 1);
    const id2 = newId();
    await assert.rejects(driver.start(spec(id2, noInit)), (err: Error) => err instanceof HostCommandError && /init/.test(err.stderr));
    await assertNoTrace(id2, noInit);

    await assert.rejects(driver.start(spec(newId(), join(tmp, 'absent.img'))), /does not exist/);
    assert.deepEqual(await driver.list(), []);
  });

  it('boots a root filesystem without /run (the /run/kiln mount point is created)', async () => {
    const dir = join(tmp, 'rootfs-norun');
    await mkdir(dir);
    await buildMinimalRootfs(dir);
    await rm(join(dir, 'run'), { recursive: true });
    const vol = join(tmp, 'norun.img');
    await makeExt4Volume(dir, vol, 1);
    const id = newId();
    await startTracked(spec(id, vol, '#!/bin/sh\necho "iid=$(cat /run/kiln/instance-id)"\n'));
    await waitFinished(id);
    assert.ok((await readConsole(id)).includes(`iid=${id}`));
    await driver.stop(id, 2_000);
    await assertNoTrace(id, vol);
  });

  it('stop of an absent instance is a no-op and cleans up a leftover mount', async () => {
    await driver.stop(newId());
    const id = newId();
    const vol = await copyVolume(base, 'leftover.img');
    const rootfs = join(stateDir, id, 'rootfs');
    await mkdir(rootfs, { recursive: true });
    await run('mount', ['-o', 'loop', vol, rootfs]);
    assert.equal(await driver.state(id), 'stopped');
    await driver.stop(id);
    await assertNoTrace(id, vol);
  });

  it('watchExits reports a poweroff from inside, once, and not a stop by the driver', async (t) => {
    const idGuest = newId();
    const idOther = newId();
    const volGuest = await copyVolume(base, 'guest-exit.img');
    const volOther = await copyVolume(base, 'driver-stop.img');
    await startTracked(spec(idGuest, volGuest));
    await startTracked(spec(idOther, volOther));
    // The init installs its signal traps before it prints anything (PID 1 ignores a signal it has no handler for).
    const waitTraps = (id: string) => waitFor(`${id}'s init to trap signals`, async () => (await readConsole(id)).length > 0);
    await Promise.all([waitTraps(idGuest), waitTraps(idOther)]);
    const exits: string[] = [];
    const unwatch = driver.watchExits((id) => exits.push(id));
    try {
      await driver.stop(idOther, 2_000);
      const t0 = Date.now();
      await run('runc', ['--root', join(stateDir, 'runc'), 'exec', idGuest, '/bin/busybox', 'poweroff']);
      await waitFor('the guest exit to be reported', async () => exits.length > 0, 5_000);
      t.diagnostic(`reported ${Date.now() - t0} ms after poweroff`);
      assert.deepEqual(exits, [idGuest]);
      assert.match(await readConsole(idGuest), /received SIGUSR2/i, 'init did not handle poweroff');
      assert.equal(await driver.state(idGuest), 'stopped');
      // Still stopped over more polls (500 ms apart): reported once per exit, not once per poll.
      await new Promise((r) => setTimeout(r, 1_100));
      assert.deepEqual(exits, [idGuest]);
      await driver.stop(idGuest);
      await assertNoTrace(idGuest, volGuest);
      await assertNoTrace(idOther, volOther);
      assert.deepEqual(exits, [idGuest], 'a stop by the driver was reported as a guest exit');
    } finally {
      unwatch();
    }
  });
});
