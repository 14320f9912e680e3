import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { findExecutable } from '../lib/host-files.js';
import { skipOrFail } from '../../test/skips.js';
import { ImportRefused, inspectDisk } from './disk-image.js';

const run = promisify(execFile);
const noQemu = (await findExecutable('qemu-img')) ? false : skipOrFail('qemu-img is absent (Debian package qemu-utils)');
let dir = '';
before(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-disk-image-')); });
after(() => rm(dir, { recursive: true, force: true }));

const refusal = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof ImportRefused ? e.code : String(e)));

test('a raw file is raw whatever it holds (never probed), and bounded by the limit', async () => {
  const vmdk = join(dir, 'descriptor.vmdk');
  const descriptor = '# Disk DescriptorFile\nRW 8 FLAT "/etc/shadow" 0\n';
  await writeFile(vmdk, descriptor);
  assert.deepEqual(await inspectDisk(vmdk), { format: 'raw', virtualSize: descriptor.length });
  const big = join(dir, 'big.raw');
  await writeFile(big, '');
  await truncate(big, 3 * 1024 ** 3);
  assert.equal(await refusal(inspectDisk(big, 2 * 1024 ** 3)), 'InvalidParameterValue');
});

test('qcow2: self-contained accepted; a backing file, an external data file, a huge size refused', { skip: noQemu }, async () => {
  const plain = join(dir, 'plain.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', plain, '64M']);
  assert.deepEqual(await inspectDisk(plain), { format: 'qcow2', virtualSize: 64 * 1024 ** 2 });
  const backed = join(dir, 'backed.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', plain, '-F', 'qcow2', backed]);
  assert.equal(await refusal(inspectDisk(backed)), 'InvalidParameter');
  const external = join(dir, 'external.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'external.data')}`, external, '1M']);
  assert.equal(await refusal(inspectDisk(external)), 'InvalidParameter');
  const huge = join(dir, 'huge.qcow2');
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', huge, '2T']);
  assert.equal(await refusal(inspectDisk(huge)), 'InvalidParameterValue');
  const bad = join(dir, 'bad.qcow2');
  await writeFile(bad, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
  assert.equal(await refusal(inspectDisk(bad)), 'InvalidParameter');
});
