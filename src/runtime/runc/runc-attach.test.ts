/**
 * Volumes beyond the root one, through the real runc driver: mounted at
 * /mnt/<device basename> at start, hot-attached and hot-detached while the
 * instance runs (mount propagation into its mount namespace), kept across
 * reboot, frozen together with the root filesystem, and a busy volume refused
 * unless forced. Needs root and the host tools; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildMinimalRootfs, makeExt4Volume } from '../../catalog/minimal-rootfs.js';
import type { InstanceSpec } from '../runtime.js';
import { VolumeBusyError } from '../runtime.js';
import { RuncDriver } from './runc-driver.js';
import { skipUnless } from '../../../test/skips.js';

const run = promisify(execFile);

const skip = await skipUnless('instances');

const USER_DATA = [
  '#!/bin/sh',
  'echo "cold=$(cat /mnt/sdf/cold.txt)"',
  'touch /mnt/planted 2>/dev/null && echo mnt-writable || echo mnt-readonly',
  'i=0',
  "while ! grep -q ' /mnt/xvdg ' /proc/mounts; do sleep 0.1; i=$((i+1)); [ $i -gt 600 ] && break; done",
  'echo hot-data > /mnt/xvdg/hot.txt && sync && echo hot-written',
  '',
].join('\n');

async function waitFor(what: string, pred: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').map((l) => l.split(' ')[4]).filter((m) => m && (m === dir || m.startsWith(`${dir}/`)));
}

const loopsFor = async (file: string) => (await run('losetup', ['-j', file])).stdout.trim();
const debugfsCat = async (volume: string, path: string) => (await run('debugfs', ['-R', `cat ${path}`, volume])).stdout;
const isFrozen = (dir: string) => run('fsfreeze', ['--freeze', dir]).then(
  async () => { await run('fsfreeze', ['--unfreeze', dir]); return false; },
  () => true,
);

describe('RuncDriver volumes beyond the root one', { skip }, () => {
  let tmp = '';
  let stateDir = '';
  let driver: RuncDriver;
  const id = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
  let root = '';
  let volF = '';
  let volG = '';

  const consoleLog = () => join(tmp, 'console.log');
  const readConsole = () => readFile(consoleLog(), 'utf8').catch(() => '');
  const bundleMnt = () => join(stateDir, id, 'mnt');

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kiln-runc-attach-'));
    stateDir = join(tmp, 'state');
    driver = new RuncDriver({ stateDir });
    const rootfs = join(tmp, 'rootfs');
    await mkdir(rootfs);
    await buildMinimalRootfs(rootfs);
    root = join(tmp, 'root.img');
    await makeExt4Volume(rootfs, root, 1);
    const cold = join(tmp, 'cold');
    await mkdir(cold);
    await writeFile(join(cold, 'cold.txt'), 'cold-data\n');
    volF = join(tmp, 'f.img');
    await makeExt4Volume(cold, volF, 1);
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    volG = join(tmp, 'g.img');
    await makeExt4Volume(empty, volG, 1);
  });

  after(async () => {
    await new RuncDriver({ stateDir }).stop(id, 0).catch((err) => console.error(`cleanup of ${id}:`, err));
    for (const m of (await mountsUnder(tmp)).reverse()) await run('umount', ['-l', m]).catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  });

  it('mounts volumes of the spec at start and hot-attaches one while the instance runs', async () => {
    const spec: InstanceSpec = {
      id, vcpus: 1, memoryMiB: 128, consoleLog: consoleLog(),
      metadata: { 'instance-id': id, 'user-data': USER_DATA },
      volumes: [{ device: '/dev/xvda', path: root, root: true }, { device: '/dev/sdf', path: volF, root: false }],
    };
    await driver.start(spec);
    await waitFor('the cold volume to be read', async () => (await readConsole()).includes('cold=cold-data'));
    await driver.attach(id, { device: '/dev/xvdg', path: volG, root: false });
    await assert.rejects(driver.attach(id, { device: '/dev/xvdg', path: volG, root: false }), /already attached/);
    await waitFor('the instance to write to the hot volume', async () => (await readConsole()).includes('hot-written'));
    assert.ok((await readConsole()).includes('mnt-readonly'), 'the instance could write into /mnt itself');
  });

  it('freezes every filesystem of the instance together', async () => {
    const dirs = [join(stateDir, id, 'rootfs'), join(bundleMnt(), 'sdf'), join(bundleMnt(), 'xvdg')];
    const inside = await driver.whileFrozen(id, async () => Promise.all(dirs.map(isFrozen)));
    assert.deepEqual(inside, [true, true, true]);
    assert.deepEqual(await Promise.all(dirs.map(isFrozen)), [false, false, false]);
  });

  it('hot-detaches: flushed, unmounted inside and on the host, loop device released', async () => {
    await driver.detach(id, '/dev/xvdg');
    assert.equal(await debugfsCat(volG, '/hot.txt'), 'hot-data\n');
    assert.equal(await loopsFor(volG), '');
    assert.deepEqual(await mountsUnder(join(bundleMnt(), 'xvdg')), []);
    await driver.detach(id, '/dev/xvdg'); // not attached: a no-op
  });

  it('keeps attached volumes across reboot, without the detached one', async () => {
    await driver.attach(id, { device: '/dev/xvdh', path: volG, root: false });
    await driver.detach(id, '/dev/xvdh');
    await driver.reboot(id, 2_000);
    const mounted = await mountsUnder(bundleMnt());
    assert.ok(mounted.some((m) => m.endsWith('/mnt/sdf')), mounted.join(' '));
    assert.ok(!mounted.some((m) => m.endsWith('/mnt/xvdh') || m.endsWith('/mnt/xvdg')), mounted.join(' '));
  });

  it('refuses to detach a busy volume unless forced, and to mount a file still in use', async () => {
    await driver.attach(id, { device: '/dev/xvdg', path: volG, root: false });
    // Detached, with no pipes of ours: the sleep would hold them open.
    const exec = spawn('runc', ['--root', join(stateDir, 'runc'), 'exec', '-d', id, 'sh', '-c', 'cd /mnt/xvdg && exec sleep 600'], { stdio: 'ignore' });
    assert.equal(await new Promise((res) => exec.once('exit', res)), 0);
    await assert.rejects(driver.detach(id, '/dev/xvdg'), (err: Error) => err instanceof VolumeBusyError);
    assert.ok((await mountsUnder(bundleMnt())).some((m) => m.endsWith('/mnt/xvdg')));
    await driver.detach(id, '/dev/xvdg', { force: true });
    assert.deepEqual(await mountsUnder(join(bundleMnt(), 'xvdg')), []);
    assert.notEqual(await loopsFor(volG), '', 'a lazily detached volume stays behind its loop device while used');
    await assert.rejects(driver.attach(id, { device: '/dev/xvdi', path: volG, root: false }), /still in use/);
  });

  it('stop leaves nothing behind', async () => {
    await driver.stop(id, 2_000);
    assert.deepEqual(await mountsUnder(stateDir), []);
    await waitFor('the lazily detached loop device to go', async () => (await loopsFor(volG)) === '', 5_000);
    assert.equal(await loopsFor(volF), '');
    assert.equal(await loopsFor(root), '');
    assert.equal(await driver.state(id), 'absent');
  });
});
