/**
 * The minimal image's root filesystem and its ext4 volume, built from the
 * host's busybox-static and e2fsprogs (skipped when they are missing).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { GUEST_INIT } from './guest-init.js';
import { BUSYBOX_PATH, buildMinimalRootfs, makeExt4Volume } from './minimal-rootfs.js';
import { skipOrFail } from '../../test/skips.js';

const run = promisify(execFile);
const has = (cmd: string, args: string[]) => run(cmd, args).then(() => true, () => false);

const missing: string[] = [];
if (!(await has(BUSYBOX_PATH, ['true']))) missing.push('busybox-static');
for (const tool of ['mkfs.ext4', 'debugfs', 'dumpe2fs']) if (!(await has(tool, ['-V']))) missing.push(`${tool} (e2fsprogs)`);
const skip = skipOrFail(missing.length ? `needs ${missing.join(', ')}` : false);

describe('minimal rootfs', { skip }, () => {
  let tmp = '';
  let rootfs = '';

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'kiln-rootfs-test-'));
    rootfs = join(tmp, 'rootfs');
    await mkdir(rootfs);
    await buildMinimalRootfs(rootfs);
  });

  after(() => rm(tmp, { recursive: true, force: true }));

  it('has busybox, its applets, the guest init and the basic layout', async () => {
    assert.ok((await stat(join(rootfs, 'bin/busybox'))).mode & 0o111);
    assert.equal(await realpath(join(rootfs, 'bin/sh')), join(await realpath(rootfs), 'bin/busybox'));
    assert.ok(!(await readlink(join(rootfs, 'usr/bin/awk'))).startsWith('/'), 'applet links are relative');
    const init = await lstat(join(rootfs, 'sbin/init'));
    assert.ok(init.isFile() && init.mode & 0o100);
    assert.equal(await readFile(join(rootfs, 'sbin/init'), 'utf8'), GUEST_INIT);
    for (const d of ['root', 'tmp', 'var/lib/cloud', 'var/log', 'proc', 'sys', 'dev', 'run']) {
      assert.ok((await stat(join(rootfs, d))).isDirectory(), d);
    }
    assert.equal((await stat(join(rootfs, 'tmp'))).mode & 0o7777, 0o1777);
    assert.match(await readFile(join(rootfs, 'etc/os-release'), 'utf8'), /^NAME="Kiln Minimal"$/m);
    assert.match(await readFile(join(rootfs, 'etc/os-release'), 'utf8'), /^ID=kiln-minimal$/m);
    assert.match(await readFile(join(rootfs, 'etc/passwd'), 'utf8'), /^root:x:0:0:root:\/root:\/bin\/sh$/m);
    assert.match(await readFile(join(rootfs, 'etc/group'), 'utf8'), /^root:x:0:$/m);
    assert.ok((await readFile(join(rootfs, 'etc/hostname'), 'utf8')).trim().length > 0);
  });

  it('the guest init is valid busybox sh', async () => {
    await run(BUSYBOX_PATH, ['sh', '-n', join(rootfs, 'sbin/init')]);
  });

  it('makeExt4Volume makes a sparse ext4 file labelled root holding the tree', async () => {
    const file = join(tmp, 'root.img');
    await makeExt4Volume(rootfs, file, 1);
    const st = await stat(file);
    assert.equal(st.size, 1024 ** 3);
    assert.ok(st.blocks * 512 < st.size / 4, `not sparse: ${st.blocks * 512} bytes allocated`);
    const { stdout: header } = await run('dumpe2fs', ['-h', file]);
    assert.match(header, /Filesystem volume name:\s+root/);
    const { stdout: osRelease } = await run('debugfs', ['-R', 'cat /etc/os-release', file]);
    assert.match(osRelease, /ID=kiln-minimal/);
    assert.deepEqual((await readdir(tmp)).sort(), ['root.img', 'rootfs'], 'no temporary file left');
  });

  it('makeExt4Volume leaves nothing behind when mkfs fails', async () => {
    const file = join(tmp, 'bad.img');
    await assert.rejects(makeExt4Volume(join(tmp, 'no-such-dir'), file, 1), /mkfs\.ext4/);
    assert.equal(await access(file).then(() => true, () => false), false);
    assert.deepEqual((await readdir(tmp)).filter((n) => n.includes('bad.img')), []);
  });
});
