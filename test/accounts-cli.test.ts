/**
 * Accounts from the command line, as an operator runs them: `kiln serve`
 * started from the package's bin prints the admin token; `kiln accounts ...`
 * makes an account and rotates its key; the stock aws-cli then works with the
 * new keys (STS GetCallerIdentity names the new account) and not with
 * deleted ones; a wrong admin token is refused.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { aws, until } from './harness.js';
import { tempDirs } from './temp.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('aws-cli', 'build');

let dataDir: string;
let kilnHome: string;
let server: ChildProcess | undefined;
let endpoint: string;
let printed = '';

after(async () => {
  if (!server) return;
  const exited = new Promise((res) => server!.once('exit', res));
  server.kill('SIGTERM');
  await exited;
});

// Registered after the hook that stops the server, so its directories are removed only once nothing runs in them.
const tmp = tempDirs('kiln-accounts-cli-');

before(async () => {
  if (skip) return;
  dataDir = join(await tmp(), 'data');
  kilnHome = await tmp();
  server = spawn(process.execPath, ['bin/kiln.js', 'serve', '--port', '0', '--data', dataDir, '--no-debian', '--no-nat', '--pool', 'copy'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KILN_HOME: kilnHome } });
  server.stdout!.on('data', (c: Buffer) => { printed += c.toString(); });
  server.stderr!.on('data', (c: Buffer) => { printed += c.toString(); });
  endpoint = await until('kiln to listen', async () => /listening on (http:\/\/\S+)/.exec(printed)?.[1], 60_000, 50);
  await until('kiln to be ready', async () => (await fetch(`${endpoint}/_kiln/health`)).status === 200, 120_000, 100);
});

/** Runs `kiln ...` from the package's bin; resolves with exit code and output whatever the code. */
async function kiln(args: string[], env: Record<string, string> = {}, cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(process.execPath, [resolve('bin/kiln.js'), ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, cwd,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const admin = (...args: string[]) => kiln([...args, '--endpoint', endpoint, '--data', dataDir]);

/** An aws-cli call expected to fail; resolves with its stderr. */
async function awsFails(args: string[], keys: [string, string]): Promise<string> {
  const err = await aws(endpoint, args, { keys }).then(() => undefined, (e: { stderr: string }) => e);
  assert.ok(err, `aws ${args.join(' ')} should fail`);
  return err.stderr;
}

test('kiln serve prints the admin token it keeps in <data>/admin-token', { skip }, async () => {
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  assert.ok(printed.includes(token), 'the token is printed at start');
});

test('kiln accounts create, then the aws-cli works with the new keys; rotate-key --delete-old retires the old one', { skip, timeout: 120_000 }, async () => {
  const created = await admin('accounts', 'create', '--id', '111122223333', '--alias', 'team-a', '--org', 'o-kilncli0001', '--ou', 'ou-kiln-cccccccc');
  assert.equal(created.code, 0, created.stderr);
  const out = JSON.parse(created.stdout);
  assert.equal(out.account.id, '111122223333');
  assert.equal(out.account.alias, 'team-a');
  const keys: [string, string] = [out.accessKey.accessKeyId, out.accessKey.secretAccessKey];

  const who = await aws(endpoint, ['sts', 'get-caller-identity'], { keys });
  assert.equal(who.Account, '111122223333');
  assert.equal(who.Arn, 'arn:aws:iam::111122223333:root');
  const images = await aws(endpoint, ['ec2', 'describe-images', '--owners', 'amazon'], { keys });
  assert.ok(images.Images.length >= 1);
  assert.deepEqual((await aws(endpoint, ['ec2', 'describe-images', '--owners', 'self'], { keys })).Images, []);
  assert.match(await awsFails(['sts', 'assume-role', '--role-arn', 'arn:aws:iam::111122223333:role/x', '--role-session-name', 'session'], keys),
    /\(InvalidAction\)/);

  const listed = JSON.parse((await admin('accounts', 'list')).stdout);
  const mine = listed.accounts.find((a: { id: string }) => a.id === '111122223333');
  assert.deepEqual(mine.accessKeys.map((k: { accessKeyId: string }) => k.accessKeyId), [keys[0]]);
  assert.equal(mine.org, 'o-kilncli0001');

  const rotated = await admin('accounts', 'rotate-key', '--id', '111122223333', '--delete-old');
  assert.equal(rotated.code, 0, rotated.stderr);
  const r = JSON.parse(rotated.stdout);
  assert.deepEqual(r.deletedAccessKeys, [keys[0]]);
  const fresh: [string, string] = [r.accessKey.accessKeyId, r.accessKey.secretAccessKey];
  assert.equal((await aws(endpoint, ['sts', 'get-caller-identity'], { keys: fresh })).Account, '111122223333');
  assert.match(await awsFails(['ec2', 'describe-images', '--owners', 'self'], keys), /\(AuthFailure\)/);
  assert.match(await awsFails(['sts', 'get-caller-identity'], keys), /\(InvalidClientTokenId\)/);
});

test('from any directory of the host, kiln accounts finds the running server\'s admin token without --data', { skip }, async () => {
  const elsewhere = await tmp();
  const listed = await kiln(['accounts', 'list', '--endpoint', endpoint], { KILN_HOME: kilnHome }, elsewhere);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(JSON.parse(listed.stdout).accounts.some((a: { id: string }) => a.id === '000000000000'));
  const unknown = await kiln(['accounts', 'list', '--endpoint', 'http://127.0.0.1:1'], { KILN_HOME: kilnHome }, elsewhere);
  assert.equal(unknown.code, 2, 'no server recorded at that endpoint: no token');
});

test('given keys, KILN_ADMIN_TOKEN, and refusals: wrong token, duplicate account, usage mistakes', { skip }, async () => {
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const given = await kiln(['accounts', 'create', '--id', '444455556666', '--access-key-id', 'AKIACLIGIVEN00000001', '--secret-access-key', 's3cret',
    '--endpoint', endpoint], { KILN_ADMIN_TOKEN: token });
  assert.equal(given.code, 0, given.stderr);
  assert.equal((await aws(endpoint, ['sts', 'get-caller-identity'], { keys: ['AKIACLIGIVEN00000001', 's3cret'] })).Account, '444455556666');

  const wrong = await kiln(['accounts', 'list', '--endpoint', endpoint, '--admin-token', 'kiln_wrong']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /InvalidAdminToken/);
  const dup = await admin('accounts', 'create', '--id', '444455556666');
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /AccountAlreadyExists/);
  assert.equal((await admin('accounts', 'rotate-key')).code, 2, '--id is required');
  assert.equal((await admin('accounts', 'frobnicate')).code, 2);
  assert.equal((await admin('accounts', 'create', '--access-key-id', 'AKIAONLYHALF')).code, 2);
});
