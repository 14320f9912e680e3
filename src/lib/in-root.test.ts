import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inRoot } from './in-root.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kiln-in-root-'));
  await mkdir(join(root, 'usr/sbin'), { recursive: true });
  await symlink('usr/sbin', join(root, 'sbin'));
  await symlink('/lib/systemd/systemd', join(root, 'usr/sbin/init'));
  await mkdir(join(root, 'real-etc'));
  await writeFile(join(root, 'real-etc/resolv.conf'), '');
  await symlink('/real-etc', join(root, 'etc'));
  await symlink('../../../../../../../..', join(root, 'up'));
  await symlink('loop', join(root, 'loop'));
});
after(async () => { await rm(root, { recursive: true, force: true }); });

test('inRoot: the guest\'s symlinks resolve against its root; the last component is left alone', async () => {
  assert.equal(await inRoot(root, 'sbin/init'), join(root, 'usr/sbin/init'));
  // An absolute /etc symlink is the guest's /real-etc, not the host's.
  assert.equal(await inRoot(root, 'etc/resolv.conf'), join(root, 'real-etc/resolv.conf'));
  // .. never climbs out of the root.
  assert.equal(await inRoot(root, 'up/etc/passwd'), join(root, 'real-etc/passwd'));
  assert.equal(await inRoot(root, '../../etc/x'), join(root, 'real-etc/x'));
  assert.equal(await inRoot(root, 'missing/a/b'), join(root, 'missing/a/b'));
  await assert.rejects(inRoot(root, 'loop/x'), /too many symbolic links/);
});
