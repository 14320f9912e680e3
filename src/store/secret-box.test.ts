import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { SecretBox } from './secret-box.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-secret-box-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a sealed secret opens with its key and key id only; the key file is made 0600', () => {
  const box = SecretBox.fromKeyFile(join(dir, 'a.key'));
  assert.equal(statSync(join(dir, 'a.key')).mode & 0o777, 0o600);
  const sealed = box.seal('wJalrXUtnFEMI/K7MDENG', 'AKIA1');
  assert.ok(SecretBox.isSealed(sealed) && !sealed.includes('wJalrXUtnFEMI'));
  assert.equal(SecretBox.fromKeyFile(join(dir, 'a.key')).open(sealed, 'AKIA1'), 'wJalrXUtnFEMI/K7MDENG');
  assert.throws(() => SecretBox.fromKeyFile(join(dir, 'a.key')).open(sealed, 'AKIA2'));
  assert.throws(() => SecretBox.fromKeyFile(join(dir, 'b.key')).open(sealed, 'AKIA1'));
});

test('plain-text secrets of an older store are sealed at open, and their bytes leave the file', async () => {
  const file = join(dir, 'old.db');
  const secret = 'plain-secret-0123456789abcdefghij';
  await new SqliteStore(file).close();
  const raw = new Database(file);
  const account = { id: '111122223333', keys: [{ accessKeyId: 'AKIAOLD', secretAccessKey: secret, createdAt: '' }] };
  raw.prepare('INSERT INTO accounts (id, data) VALUES (?, ?)').run(account.id, JSON.stringify(account));
  raw.prepare('INSERT INTO access_keys (access_key_id, account, secret) VALUES (?, ?, ?)').run('AKIAOLD', account.id, secret);
  raw.close();
  assert.ok(readFileSync(file).includes(secret));
  const store = new SqliteStore(file);
  assert.equal((await store.accounts.byAccessKey('AKIAOLD'))?.secretAccessKey, secret);
  assert.equal((await store.accounts.get(account.id))?.keys[0]?.secretAccessKey, secret);
  for (const f of [file, `${file}-wal`]) assert.ok(!readFileSync(f).includes(secret), f);
  await store.close();
  assert.throws(() => new SqliteStore(file, { keyFile: join(dir, 'other.key') }));
});
