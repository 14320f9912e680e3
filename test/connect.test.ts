/**
 * Instances > Connect's endpoint (src/server/connect.ts): a WebSocket at /_kiln/connect/{id}, opened with a
 * SigV4-presigned URL, relays a shell inside the instance on a pty: what is typed runs there, the terminal
 * follows a resize, and closing the socket ends the shell (nothing left inside the instance or on the host).
 * Refused before the upgrade, with an HTTP status: a bad signature or expiry (403), another account's or an
 * unknown instance (404), a stopped one (409). Needs root, runc and busybox-static; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import WebSocket from 'ws';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import type { ConnectOptions } from './connect-client.js';
import { connectUrl as urlOf, open, terminal } from './connect-client.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances');
const B = { id: '555566667778', accessKeyId: 'AKIACONNECTB', secretAccessKey: 'connect-b-secret' };

let kiln: Kiln;
let a: EC2Client;
let id = '';

before(async () => {
  if (skip) return;
  kiln = await startKiln(process.env.KILN_TEST_LOG ? { log: (m) => console.error(m) } : {});
  await createAccount(kiln.app.ctx, B);
  a = kiln.client();
  const image = (await a.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const { Instances = [] } = await a.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }));
  id = Instances[0]!.InstanceId!;
  await until(`${id} to run`, async () => (await state(id)) === 'running');
});
after(async () => { await kiln?.close(); });

const connectUrl = (instance: string, opts?: ConnectOptions) => urlOf(kiln.endpoint, instance, opts);

async function state(instance: string): Promise<string | undefined> {
  const { Reservations = [] } = await a.send(new DescribeInstancesCommand({ InstanceIds: [instance] }));
  return Reservations[0]?.Instances?.[0]?.State?.Name;
}

/** Host processes running a shell command in `instance` (runc exec -t ... <instance>). */
async function hostShells(instance: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.includes('exec') && argv.includes('-t') && argv.includes(instance)) pids.push(+pid);
  }
  return pids;
}

test('a presigned WebSocket runs a shell in the instance: typed commands run, resize reaches it, close ends it', { skip, timeout: 120_000 }, async () => {
  const ws = await open(await connectUrl(id, { query: { cols: '100', rows: '30' } }));
  assert.ok(ws instanceof WebSocket, `refused: ${String(ws)}`);
  const term = terminal(ws);
  term.type('echo hi-$((1+1))\r');
  await term.waitFor(/hi-2/);
  await term.sizeIs(30, 100);
  term.resize(132, 40);
  await term.sizeIs(40, 132);
  term.type('echo "pid=$$"\r');
  const pid = (await term.waitFor(/pid=(\d+)/))[1]!;
  assert.equal((await inInstance(kiln, id, `[ -d /proc/${pid} ] && echo yes || echo no`)).trim(), 'yes');
  assert.notEqual((await hostShells(id)).length, 0);

  ws.close();
  await term.closed;
  await until('the shell to end inside the instance', async () => (await inInstance(kiln, id, `[ -d /proc/${pid} ] && echo yes || echo no`)).trim() === 'no', 10_000);
  await until('runc exec to end on the host', async () => (await hostShells(id)).length === 0, 10_000);
});

test('the shell exiting closes the socket', { skip, timeout: 60_000 }, async () => {
  const ws = await open(await connectUrl(id));
  assert.ok(ws instanceof WebSocket);
  const term = terminal(ws);
  term.type('echo ready\r');
  await term.waitFor(/ready/);
  term.type('exit\r');
  assert.equal(await term.closed, 1000);
  await until('runc exec to end on the host', async () => (await hostShells(id)).length === 0, 10_000);
});

test('refused before the upgrade: bad or missing signature, a long expiry, another account, an unknown instance', { skip, timeout: 60_000 }, async () => {
  const good = await connectUrl(id);
  assert.equal(await open(good.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`)), 403);
  assert.equal(await open(await connectUrl(id, { keys: { accessKeyId: 'test', secretAccessKey: 'wrong' } })), 403);
  assert.equal(await open(`ws://${new URL(kiln.endpoint).host}/_kiln/connect/${id}`), 403);
  assert.equal(await open(await connectUrl(id, { expiresIn: 3600 })), 403);
  assert.equal(await open(await connectUrl(id, { keys: B })), 404);
  assert.equal(await open(await connectUrl(id, { region: 'eu-west-1' })), 404);
  assert.equal(await open(await connectUrl('i-0123456789abcdef0')), 404);
  assert.equal(await open(await connectUrl(id).then((u) => u.replace('/_kiln/connect/', '/_kiln/elsewhere/'))), 404);
  // Without an upgrade, the endpoint answers that it is a WebSocket's.
  assert.equal((await fetch(`${kiln.endpoint}/_kiln/connect/${id}`)).status, 426);
  assert.equal((await hostShells(id)).length, 0);
});

test('a stopped instance is refused (409)', { skip, timeout: 120_000 }, async () => {
  await a.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await until(`${id} to stop`, async () => (await state(id)) === 'stopped', 60_000);
  assert.equal(await open(await connectUrl(id)), 409);
});
