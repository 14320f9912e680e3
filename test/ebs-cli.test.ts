/**
 * The EBS direct APIs with the stock aws-cli v2 (`aws ebs ...`, 2.9 has them)
 * and `kiln image import/export`, against `kiln serve` started as a user
 * starts it: blocks up and down byte for byte, an incremental snapshot and
 * its changed blocks, error codes; an ext4 disk (raw, and as qcow2 through
 * qemu-img) imported as an AMI and exported again identical (cmp).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { findExecutable } from '../src/runtime/runc/host.js';
import type { KilnProcess } from './harness.js';
import { aws, awsErrorCode, spawnKiln } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';
import { tempDirs } from './temp.js';

const run = promisify(execFile);
const skip = await skipUnless('aws-cli', 'build');
const noQemu = skip || ((await findExecutable('qemu-img')) ? false : skipOrFail('qemu-img is absent (Debian package qemu-utils)'));
const BLOCK = 524288;

let server: KilnProcess | undefined;
after(() => server?.stop());
const tmp = tempDirs('kiln-ebs-cli-');
let dir = '';

before(async () => {
  if (skip) return;
  dir = await tmp();
  server = await spawnKiln(join(dir, 'data'));
});

const ebs = (...args: string[]) => aws(server!.endpoint, ['ebs', ...args], { cwd: dir });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('base64');

/** A block file in the test directory and its checksum. */
async function block(name: string, data = randomBytes(BLOCK)): Promise<{ file: string; data: Buffer; sum: string }> {
  const file = join(dir, name);
  await writeFile(file, data);
  return { file, data, sum: sha(data) };
}

const put = (id: string, index: number, b: { file: string; sum: string }, length = BLOCK) => ebs('put-snapshot-block', '--snapshot-id', id,
  '--block-index', String(index), '--block-data', b.file, '--data-length', String(length), '--checksum', b.sum, '--checksum-algorithm', 'SHA256');

describe('aws ebs', { skip }, () => {
  test('start, put, complete, list, get: the blocks come back byte for byte; incremental and changed blocks', async () => {
    const start = await ebs('start-snapshot', '--volume-size', '1', '--description', 'from aws-cli', '--tags', 'Key=team,Value=disk');
    assert.equal(start.Status, 'pending');
    assert.equal(start.BlockSize, BLOCK);
    const id = start.SnapshotId as string;
    const [a, b] = [await block('a.bin'), await block('b.bin')];
    assert.equal((await put(id, 0, a)).Checksum, a.sum);
    await put(id, 2047, b);
    assert.equal((await ebs('complete-snapshot', '--snapshot-id', id, '--changed-blocks-count', '2')).Status, 'completed');
    const listed = await ebs('list-snapshot-blocks', '--snapshot-id', id);
    assert.deepEqual(listed.Blocks.map((x: { BlockIndex: number }) => x.BlockIndex), [0, 2047]);
    assert.equal(listed.VolumeSize, 1);
    const got = await ebs('get-snapshot-block', '--snapshot-id', id, '--block-index', '2047', '--block-token', listed.Blocks[1].BlockToken, join(dir, 'got.bin'));
    assert.equal(got.Checksum, b.sum);
    assert.ok((await readFile(join(dir, 'got.bin'))).equals(b.data));
    const desc = await aws(server!.endpoint, ['ec2', 'describe-snapshots', '--snapshot-ids', id]);
    assert.equal(desc.Snapshots[0].State, 'completed');

    const child = (await ebs('start-snapshot', '--volume-size', '1', '--parent-snapshot-id', id)).SnapshotId as string;
    const c = await block('c.bin');
    await put(child, 5, c);
    await ebs('complete-snapshot', '--snapshot-id', child, '--changed-blocks-count', '1');
    const changed = await ebs('list-changed-blocks', '--first-snapshot-id', id, '--second-snapshot-id', child);
    assert.deepEqual(changed.ChangedBlocks.map((x: { BlockIndex: number }) => x.BlockIndex), [5]);
    assert.equal(changed.ChangedBlocks[0].FirstBlockToken, undefined);
    await ebs('get-snapshot-block', '--snapshot-id', child, '--block-index', '5', '--block-token', changed.ChangedBlocks[0].SecondBlockToken, join(dir, 'got-c.bin'));
    assert.ok((await readFile(join(dir, 'got-c.bin'))).equals(c.data));
    assert.deepEqual((await ebs('list-snapshot-blocks', '--snapshot-id', child)).Blocks.map((x: { BlockIndex: number }) => x.BlockIndex), [0, 5, 2047]);
  });

  test('error codes: bad checksum, wrong size, index out of range, wrong count, completed snapshot, forged token, unknown snapshot', async () => {
    const id = (await ebs('start-snapshot', '--volume-size', '1')).SnapshotId as string;
    const a = await block('e.bin');
    assert.equal(await awsErrorCode(put(id, 0, { file: a.file, sum: sha(Buffer.from('other')) })), 'ValidationException');
    const small = await block('small.bin', randomBytes(1000));
    assert.equal(await awsErrorCode(put(id, 0, small, 1000)), 'ValidationException');
    assert.equal(await awsErrorCode(put(id, 2048, a)), 'ValidationException');
    await put(id, 1, a);
    assert.equal(await awsErrorCode(ebs('complete-snapshot', '--snapshot-id', id, '--changed-blocks-count', '3')), 'ValidationException');
    await ebs('complete-snapshot', '--snapshot-id', id, '--changed-blocks-count', '1');
    assert.equal(await awsErrorCode(put(id, 2, a)), 'ValidationException');
    const token = (await ebs('list-snapshot-blocks', '--snapshot-id', id)).Blocks[0].BlockToken as string;
    const forged = `${token.slice(0, 10)}${token[10] === 'x' ? 'y' : 'x'}${token.slice(11)}`;
    assert.equal(await awsErrorCode(ebs('get-snapshot-block', '--snapshot-id', id, '--block-index', '1', '--block-token', forged, join(dir, 'x.bin'))), 'ValidationException');
    assert.equal(await awsErrorCode(ebs('list-snapshot-blocks', '--snapshot-id', 'snap-0123456789abcdef0')), 'ResourceNotFoundException');
  });
});

describe('kiln image import/export', { skip }, () => {
  let raw = '';
  const kiln = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, ['bin/kiln.js', 'image', ...args, '--endpoint', server!.endpoint], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout);
  };
  const image = async (id: string) => (await aws(server!.endpoint, ['ec2', 'describe-images', '--image-ids', id])).Images[0];

  before(async () => {
    if (skip) return;
    const root = join(dir, 'rootfs');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'motd'), 'imported by kiln\n');
    await writeFile(join(root, 'data.bin'), randomBytes(12 * 1024 * 1024));
    raw = join(dir, 'disk.raw');
    await run('truncate', ['-s', '1G', raw]);
    await run('mkfs.ext4', ['-q', '-F', '-d', root, raw]);
  });

  test('a raw ext4 disk imported as an AMI, exported again: identical', async () => {
    const imported = await kiln('import', raw, '--name', 'imported-raw', '--description', 'an ext4 disk');
    assert.match(imported.ImageId, /^ami-/);
    assert.equal(imported.VolumeSize, 1);
    const img = await image(imported.ImageId);
    assert.equal(img.State, 'available');
    assert.equal(img.Description, 'an ext4 disk');
    assert.equal(img.RootDeviceName, '/dev/xvda');
    assert.equal(img.BlockDeviceMappings[0].Ebs.SnapshotId, imported.SnapshotId);
    const out = join(dir, 'exported.raw');
    const exported = await kiln('export', imported.ImageId, out);
    assert.equal(exported.BlocksDownloaded, imported.BlocksUploaded);
    await run('cmp', [raw, out]);
  });

  test('a qcow2 disk imported (through qemu-img), exported as raw: identical to the raw disk', { skip: noQemu }, async () => {
    const qcow2 = join(dir, 'disk.qcow2');
    await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2]);
    const imported = await kiln('import', qcow2, '--name', 'imported-qcow2');
    assert.equal((await image(imported.ImageId)).State, 'available');
    const out = join(dir, 'exported-qcow2.raw');
    await kiln('export', imported.ImageId, out);
    await run('cmp', [raw, out]);
  });

  test('usage mistakes exit 2; an unknown image exits 1', async () => {
    const code = (args: string[]) => run(process.execPath, ['bin/kiln.js', 'image', ...args, '--endpoint', server!.endpoint], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    }).then(() => 0, (e: { code: number }) => e.code);
    assert.equal(await code(['import', raw]), 2);
    assert.equal(await code(['export', 'ami-0123456789abcdef0']), 2);
    assert.equal(await code(['export', 'ami-0123456789abcdef0', join(dir, 'none.raw')]), 1);
  });
});
