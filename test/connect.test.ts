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
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances');
const B = { id: '555566667778', accessKeyId: 'AKIACONNECTB', secretAccessKey: 'connect-b-secret' };
const A_KEYS = { accessKeyId: 'test', secretAccessKey: 'test' };

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

async function state(instance: string): Promise<string | undefined> {
  const { Reservations = [] } = await a.send(new DescribeInstancesCommand({ InstanceIds: [instance] }));
  return Reservations[0]?.Instances?.[0]?.State?.Name;
}

/** The ws:// URL the console would open for `instance`: presigned (query string) for ec2 in `region`. */
async function connectUrl(instance: string, opts: { keys?: typeof A_KEYS; region?: string; expiresIn?: number; query?: Record<string, string> } = {}): Promise<string> {
  const { hostname, port, host } = new URL(kiln.endpoint);
  const signer = new SignatureV4({
    service: 'ec2', region: opts.region ?? 'us-east-1', credentials: opts.keys ?? A_KEYS, sha256: a.config.sha256,
  });
  const signed = await signer.presign({
    method: 'GET', protocol: 'ws:', hostname, port: Number(port), path: `/_kiln/connect/${instance}`,
    query: opts.query ?? {}, headers: { host },
  }, { expiresIn: opts.expiresIn ?? 60 });
  const q = new URLSearchParams(signed.query as Record<string, string>);
  return `ws://${host}${signed.path}?${q}`;
}

/** Opens `url`: the socket once upgraded, or the HTTP status it was refused with. */
function open(url: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
    ws.once('error', reject);
  });
}

/** A terminal over `ws`: everything it printed so far, and a wait for a pattern to appear. */
function terminal(ws: WebSocket) {
  let out = '';
  ws.on('message', (d: Buffer) => { out += d.toString('utf8'); });
  const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
  return {
    type: (s: string) => ws.send(Buffer.from(s)),
    waitFor: (re: RegExp, ms = 20_000) => until(`the terminal to show ${re}`, async () => re.exec(out) ?? undefined, ms, 50),
    closed,
  };
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
  term.type('stty size\r');
  await term.waitFor(/30 100/);
  ws.send(JSON.stringify({ type: 'resize', cols: 132, rows: 40 }));
  // The new size reaches the shell's terminal through runc's SIGWINCH: asked again until it shows.
  await until('the resize to reach the shell', async () => {
    term.type('echo "size=$(stty size)"\r');
    return term.waitFor(/size=40 132/, 1000).then(() => true, () => false);
  }, 10_000, 300);
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
