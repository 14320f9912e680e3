import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { checkExt4, DamagedFilesystemError } from './ext4-check.js';

const run = promisify(execFile);
const sbin = (t: string) => (existsSync(`/usr/sbin/${t}`) ? `/usr/sbin/${t}` : t);
const E2FSCK = sbin('e2fsck');
let dir: string;

before(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-ext4-check-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

async function ext4(name: string): Promise<string> {
  const file = join(dir, name);
  await truncate(file, 0).catch(() => undefined);
  await (await open(file, 'w')).close();
  await truncate(file, 32 * 1024 * 1024);
  await run(sbin('mkfs.ext4'), ['-q', '-F', '-b', '4096', file]);
  return file;
}

/** Writes `bytes` at `offset` of `file`, as PutSnapshotBlock lets any account do. */
async function overwrite(file: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  try { await fh.write(bytes, 0, bytes.length, offset); } finally { await fh.close(); }
}

test('ext4 check: a fresh filesystem passes; one with a pending journal is replayed in user space and passes', async () => {
  await checkExt4(E2FSCK, await ext4('fresh.img'), 'the volume at /dev/xvdf');
  const pending = await ext4('pending.img');
  await run(sbin('debugfs'), ['-w', '-R', 'feature needs_recovery', pending]);
  await checkExt4(E2FSCK, pending, 'the volume at /dev/xvdf');
  const { stdout } = await run(sbin('dumpe2fs'), ['-h', pending]);
  assert.doesNotMatch(stdout, /needs_recovery/);
});

test('ext4 check: no filesystem, a corrupt superblock or a damaged inode table is refused, naming the device and not the file', async () => {
  const zeros = join(dir, 'zeros.img');
  await (await open(zeros, 'w')).close();
  await truncate(zeros, 8 * 1024 * 1024);
  const badSuper = await ext4('bad-super.img');
  // The superblock's inode count and block count (offsets 0 and 4 of the superblock at 1024) made nonsense.
  await overwrite(badSuper, 1024, Buffer.alloc(8, 0xff));
  const badInodes = await ext4('bad-inodes.img');
  const { stdout } = await run(sbin('dumpe2fs'), [badInodes]);
  const table = Number(/Inode table at (\d+)/.exec(stdout)?.[1]);
  // The root directory's inode (number 2, 256 bytes each) filled with garbage.
  await overwrite(badInodes, table * 4096 + 256, Buffer.alloc(256, 0xa5));
  for (const file of [zeros, badSuper, badInodes]) {
    await assert.rejects(checkExt4(E2FSCK, file, 'the volume at /dev/xvdf'),
      (err: Error) => err instanceof DamagedFilesystemError && err.message.includes('/dev/xvdf') && !err.message.includes(dir), file);
  }
});
