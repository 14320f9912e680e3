import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDirs } from '../../../test/temp.js';
import { hashBlock } from '../blocks.js';
import { dataKey, keyedId, openBlock, SEAL_OVERHEAD, sealBlock } from './block-cipher.js';
import { Keyring } from './keyring.js';

const tempDir = tempDirs('kiln-crypt-');
const key = (id = randomBytes(16).toString('hex')) => dataKey(id, randomBytes(32));

describe('block cipher', () => {
  test('seal then open round-trips; the stored bytes hold no plaintext and are SEAL_OVERHEAD longer', () => {
    const k = key();
    const data = Buffer.concat([randomBytes(1000), Buffer.from('MARKER-MARKER-MARKER'), randomBytes(1000)]);
    const id = keyedId(k, data);
    const stored = sealBlock(k, id, data.length, 0, data);
    assert.equal(stored.length, data.length + SEAL_OVERHEAD);
    assert.equal(stored.includes(Buffer.from('MARKER-MARKER')), false);
    assert.deepEqual(openBlock(k, id, data.length, 0, stored), data);
  });

  test('the wrong key, tampered bytes, or the bytes under another id, size or codec fail authentication', () => {
    const k = key();
    const data = randomBytes(4096);
    const id = keyedId(k, data);
    const stored = sealBlock(k, id, data.length, 0, data);
    assert.equal(openBlock(key(k.id), id, data.length, 0, stored), undefined);
    for (const at of [0, 12, 2000, stored.length - 1]) {
      const bad = Buffer.from(stored);
      bad[at]! ^= 1;
      assert.equal(openBlock(k, id, data.length, 0, bad), undefined, `byte ${at}`);
    }
    assert.equal(openBlock(k, keyedId(k, randomBytes(10)), data.length, 0, stored), undefined);
    assert.equal(openBlock(k, id, data.length - 1, 0, stored), undefined);
    assert.equal(openBlock(k, id, data.length, 1, stored), undefined);
    assert.equal(openBlock(k, id, data.length, 0, stored.subarray(0, 20)), undefined);
  });

  test('ids: equal within a key, different across keys, and never the SHA-256', () => {
    const data = randomBytes(512);
    const a = key();
    assert.equal(keyedId(a, data), keyedId(a, Buffer.from(data)));
    assert.notEqual(keyedId(a, data), keyedId(key(), data));
    assert.notEqual(keyedId(a, data), hashBlock(data));
  });

  test('two seals of one block use different nonces', () => {
    const k = key();
    const data = randomBytes(100);
    const id = keyedId(k, data);
    assert.notDeepEqual(sealBlock(k, id, 100, 0, data), sealBlock(k, id, 100, 0, data));
  });
});

describe('keyring', () => {
  test('one data key per name, the same after reopening; the master key file is 0600 and outside the keys', async () => {
    const dir = await tempDir();
    const master = join(dir, 'master.key');
    const ring = await Keyring.open(join(dir, 'keys'), master);
    const a = await ring.forName('111122223333 arn:aws:kms:us-east-1:111122223333:key/a');
    const [again, b] = await Promise.all([ring.forName('111122223333 arn:aws:kms:us-east-1:111122223333:key/a'), ring.forName('other')]);
    assert.equal(again.id, a.id);
    assert.notEqual(b.id, a.id);
    assert.equal((await stat(master)).mode & 0o777, 0o600);
    assert.equal((await readdir(join(dir, 'keys'))).length, 2);
    const reopened = await Keyring.open(join(dir, 'keys'), master);
    assert.deepEqual(reopened.byId(a.id)?.enc, a.enc);
    assert.equal((await reopened.forName('other')).id, b.id);
    // The key files hold the data keys wrapped, never in the clear.
    for (const n of await readdir(join(dir, 'keys'))) {
      const text = await readFile(join(dir, 'keys', n));
      assert.equal(text.includes(a.enc.toString('hex')), false);
    }
  });

  test('another master key, or none while data keys exist, is refused (never replaced)', async () => {
    const dir = await tempDir();
    const master = join(dir, 'master.key');
    await (await Keyring.open(join(dir, 'keys'), master)).forName('k');
    await assert.rejects(Keyring.open(join(dir, 'keys'), join(dir, 'missing.key')), /missing/);
    await writeFile(join(dir, 'other.key'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    await assert.rejects(Keyring.open(join(dir, 'keys'), join(dir, 'other.key')), /does not open/);
    await writeFile(join(dir, 'loose.key'), await readFile(master), { mode: 0o644 });
    await assert.rejects(Keyring.open(join(dir, 'keys'), join(dir, 'loose.key')), /readable by others/);
  });
});
