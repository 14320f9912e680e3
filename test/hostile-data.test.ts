/**
 * Hostile: data at rest is the owner's, and an untrusted disk image stays data.
 *
 * Another local user of the host must read nothing of the data directory
 * (every file 0600, every directory 0700, a wider directory of an older Kiln
 * tightened at start); a copy of kiln.db must not reveal an account's secret
 * key (while SigV4 with it still works); and `kiln image import` of a qcow2
 * that names a host file (backing file, external data file) or claims a huge
 * virtual size is refused with a code, nothing of the host file imported.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { findExecutable } from '../src/runtime/runc/host.js';
import type { KilnProcess } from './harness.js';
import { aws, spawnKiln, until } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';
import { tempDirs } from './temp.js';

const run = promisify(execFile);
const skip = await skipUnless('aws-cli', 'build');
const noQemu = skip || ((await findExecutable('qemu-img')) ? false : skipOrFail('qemu-img is absent (Debian package qemu-utils)'));

let server: KilnProcess | undefined;
after(() => server?.stop());
const tmp = tempDirs('kiln-hostile-data-');
let dir = '';
let data = '';

before(async () => {
  if (skip) return;
  dir = await tmp();
  data = join(dir, 'data');
  // What an older Kiln (or a umask of 022) left: a world-readable data directory with readable files in it.
  await mkdir(join(data, 'console'), { recursive: true, mode: 0o755 });
  await writeFile(join(data, 'console', 'i-0123456789abcdef0.log'), 'an old console log\n', { mode: 0o644 });
  await chmod(data, 0o755);
  server = await spawnKiln(data);
});

/** Every entry under `root` (not following links), with its mode. */
async function walk(root: string): Promise<Array<{ path: string; mode: number; dir: boolean }>> {
  const out: Array<{ path: string; mode: number; dir: boolean }> = [];
  const st = await lstat(root);
  if (st.isSymbolicLink()) return out;
  out.push({ path: root, mode: st.mode & 0o7777, dir: st.isDirectory() });
  if (st.isDirectory()) for (const name of await readdir(root)) out.push(...await walk(join(root, name)));
  return out;
}

async function adminCreateAccount(): Promise<{ id: string; accessKeyId: string; secretAccessKey: string }> {
  const token = (await readFile(join(data, 'admin-token'), 'utf8')).trim();
  const res = await fetch(`${server!.endpoint}/_kiln/admin/accounts`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}',
  });
  assert.equal(res.status, 201);
  const body = await res.json() as { account: { id: string }; accessKey: { accessKeyId: string; secretAccessKey: string } };
  return { id: body.account.id, ...body.accessKey };
}

/** `kiln image import` from the package's bin as the default account; its exit code and stderr. */
async function importDisk(file: string, ...more: string[]): Promise<{ code: number; stderr: string }> {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };
  return run(process.execPath, [resolve('bin/kiln.js'), 'image', 'import', file, '--name', `hostile-${randomBytes(4).toString('hex')}`,
    '--endpoint', server!.endpoint, ...more], { env }).then(() => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
}

/** The AWS-style code `kiln: <Code>: ...` the import printed. */
const codeOf = (stderr: string) => /^kiln: ([A-Za-z.]+):/m.exec(stderr)?.[1];

/** Whether any pack (or any file) of the block store holds `marker`. */
async function blocksHold(marker: Buffer): Promise<boolean> {
  for (const e of await walk(join(data, 'blocks'))) if (!e.dir && (await readFile(e.path)).includes(marker)) return true;
  return false;
}

const importedSnapshots = async () => (await aws(server!.endpoint, ['ec2', 'describe-snapshots', '--owner-ids', 'self',
  '--filters', 'Name=description,Values=Imported by kiln image import*'])).Snapshots.length as number;

describe('data at rest is the owner\'s', { skip }, () => {
  test('after an account, a volume, a snapshot and an image: every file 0600, every directory 0700, the old ones tightened', { timeout: 120_000 }, async () => {
    await adminCreateAccount();
    const vol = await aws(server!.endpoint, ['ec2', 'create-volume', '--size', '1', '--availability-zone', 'us-east-1a']);
    await until('the volume', async () => (await aws(server!.endpoint, ['ec2', 'describe-volumes', '--volume-ids', vol.VolumeId])).Volumes[0].State === 'available');
    const snap = await aws(server!.endpoint, ['ec2', 'create-snapshot', '--volume-id', vol.VolumeId]);
    await until('the snapshot', async () => (await aws(server!.endpoint, ['ec2', 'describe-snapshots', '--snapshot-ids', snap.SnapshotId])).Snapshots[0].State === 'completed');
    await aws(server!.endpoint, ['ec2', 'register-image', '--name', 'hostile-data', '--root-device-name', '/dev/xvda',
      '--block-device-mappings', `DeviceName=/dev/xvda,Ebs={SnapshotId=${snap.SnapshotId}}`]);
    const entries = await walk(data);
    for (const must of ['kiln.db', 'kiln.db-wal', 'admin-token', `volumes/${vol.VolumeId}.img`]) {
      assert.ok(entries.some((e) => e.path === join(data, must)), `${must} exists`);
    }
    assert.ok(entries.some((e) => e.path.startsWith(join(data, 'blocks', 'packs')) && !e.dir), 'a pack exists');
    const open = entries.filter((e) => (e.mode & 0o077) !== 0).map((e) => `${e.mode.toString(8)} ${e.path}`);
    assert.deepEqual(open, [], 'nothing under the data directory is open to group or others');
  });

  test('a created account\'s secret key is not in kiln.db nor its WAL; SigV4 with it still works', { timeout: 60_000 }, async () => {
    const acct = await adminCreateAccount();
    const got = await aws(server!.endpoint, ['sts', 'get-caller-identity'], { keys: [acct.accessKeyId, acct.secretAccessKey] });
    assert.equal(got.Account, acct.id);
    for (const f of ['kiln.db', 'kiln.db-wal']) {
      const bytes = await readFile(join(data, f)).catch(() => Buffer.alloc(0));
      assert.ok(!bytes.includes(acct.secretAccessKey), `${f} holds the secret key`);
    }
  });
});

describe('an untrusted disk image stays data', { skip: noQemu }, () => {
  let secret = '';
  let marker = Buffer.alloc(0);

  before(async () => {
    if (noQemu) return;
    marker = Buffer.from(`HOST-SECRET-${randomBytes(16).toString('hex')}`);
    secret = join(dir, 'secret.raw');
    await writeFile(secret, Buffer.concat([marker, Buffer.alloc(1024 * 1024 - marker.length, 0x5a)]));
  });

  test('a qcow2 whose backing file is a host file is refused, nothing of that file imported', { timeout: 60_000 }, async () => {
    const img = join(dir, 'backed.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', secret, '-F', 'raw', img]);
    const before = await importedSnapshots();
    const got = await importDisk(img);
    assert.equal(codeOf(got.stderr), 'InvalidParameter', got.stderr);
    assert.equal(got.code, 1);
    assert.equal(await importedSnapshots(), before);
    assert.equal(await blocksHold(marker), false);
  });

  test('a qcow2 whose data lives in an external data file (a host file) is refused', { timeout: 60_000 }, async () => {
    const img = join(dir, 'external.qcow2');
    const target = join(dir, 'external-target.raw');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${target},data_file_raw=on`, img, '1M']);
    await writeFile(target, await readFile(secret)); // the host file the image points at, as a hostile image would name one
    const before = await importedSnapshots();
    const got = await importDisk(img);
    assert.equal(codeOf(got.stderr), 'InvalidParameter', got.stderr);
    assert.equal(await importedSnapshots(), before);
    assert.equal(await blocksHold(marker), false);
  });

  test('a qcow2 claiming a huge virtual size is refused; so is one over --max-size', { timeout: 60_000 }, async () => {
    const huge = join(dir, 'huge.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', huge, '100T']);
    assert.equal(codeOf((await importDisk(huge)).stderr), 'InvalidParameterValue');
    const two = join(dir, 'two.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', two, '2G']);
    assert.equal(codeOf((await importDisk(two, '--max-size', '1')).stderr), 'InvalidParameterValue');
  });
});
