/**
 * Issue #17, "Browsers get only what the user asked for": a web page on another origin, in a real chromium, knows
 * the well-known default keys (test/test) as well as anyone and tries to act with them. Its URLs are presigned with
 * test/test as the page's own script would sign them (SigV4 is public). Each attack is refused with its status and
 * code, and the server's state shows it did nothing: no subscription, no snapshot, no shell in the instance.
 *   (a) subscribe the default account to a marketplace product: a no-cors fetch, a text/plain form POST (a JSON
 *       body), and, as a browser without Fetch Metadata would send it, a presigned POST with no Origin; start an
 *       EBS snapshot (the EBS direct API's StartSnapshot) with a no-cors fetch
 *   (b) open Connect's WebSocket to a running instance and run a command as root in it
 *   (c) DNS rebinding: a header-signed request under a foreign Host (node http: what the rebound page sends)
 *   (d) a presigned marketplace GET past its X-Amz-Expires
 * Needs root, runc, busybox-static and chromium; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CopyImageCommand, DescribeImagesCommand, DescribeSnapshotsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { createAccount } from '../src/services/accounts/accounts.js';
import { listSubscriptions, publishProduct } from '../src/services/marketplace/marketplace.js';
import { DEFAULT_ACCOUNT } from '../src/model/records.js';
import { CHROMIUM, consoleSkip } from './console-browser.js';
import { connectUrl, open, TEST_KEYS } from './connect-client.js';
import type { Kiln } from './harness.js';
import { inInstance, spawnKiln, startKiln, until } from './harness.js';
import { tempDirs } from './temp.js';
import { Sha256 } from './sha256.js';

const skip = await consoleSkip('instances', 'build');
const tempDir = tempDirs('kiln-hostile-browser-');
const VENDOR = { id: '317000000001', alias: 'hostile-vendor', accessKeyId: 'AKIAHOSTILEVENDOR', secretAccessKey: 'hostile-vendor-secret' };
const MARKER = '/tmp/hostile-browser-was-here';

let kiln: Kiln;
let ec2: EC2Client;
let instance = '';
const products: Record<string, string> = {};
let attacker: Server;
let attackerOrigin = '';
let browser: Browser;
let page: Page;
/** The page the attacker's server serves next (set by each test). */
let html = '';

before(async () => {
  if (skip) return;
  kiln = await startKiln();
  ec2 = kiln.client();
  await createAccount(kiln.app.ctx, VENDOR);
  const vendor = kiln.client('us-east-1', VENDOR);
  const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  // One product per attack (an image belongs to one product), so that each attack is seen to fail on its own.
  for (const name of ['fetch', 'form', 'presigned', 'rebind']) {
    const image = (await vendor.send(new CopyImageCommand({ SourceImageId: base, SourceRegion: 'us-east-1', Name: `hostile-${name}` }))).ImageId!;
    await until('the copy', async () => (await vendor.send(new DescribeImagesCommand({ ImageIds: [image] }))).Images?.[0]?.State === 'available');
    products[name] = (await publishProduct(kiln.app.ctx, { vendor: VENDOR.id, title: `Hostile ${name}`, price: 9.99, imageIds: [image] })).id;
  }
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: base, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }));
  instance = Instances[0]!.InstanceId!;
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
  await new Promise<void>((res) => attacker.listen(0, '127.0.0.2', res));
  attackerOrigin = `http://127.0.0.2:${(attacker.address() as AddressInfo).port}`;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
  await until(`${instance} to run`, async () => (await kiln.app.ctx.store.instances.get(instance))?.state === 'running');
});

after(async () => {
  await browser?.close();
  attacker?.close();
  await kiln?.close();
});

/** A URL presigned with test/test (the attacker knows the keys) for `service`, over `body` when there is one. */
async function presign(service: string, method: string, path: string, opts: { body?: string; query?: Record<string, string>; expiresIn?: number; signingDate?: Date } = {}): Promise<string> {
  const { hostname, port, host } = new URL(kiln.endpoint);
  const signer = new SignatureV4({ service, region: 'us-east-1', credentials: TEST_KEYS, sha256: Sha256 });
  const signed = await signer.presign({
    method, protocol: 'http:', hostname, port: Number(port), path, query: opts.query ?? {}, headers: { host }, body: opts.body,
  }, { expiresIn: opts.expiresIn ?? 300, signingDate: opts.signingDate });
  return `${kiln.endpoint}${signed.path}?${new URLSearchParams(signed.query as Record<string, string>)}`;
}

const signature = (url: string) => new URL(url).searchParams.get('X-Amz-Signature') ?? '';

/** Opens the attacker's page with `script`; resolves with what the script reports (window.report) and the statuses Kiln answered it with. */
async function attack(script: string, body = ''): Promise<{ report: string; statuses: Map<string, number> }> {
  html = `<!doctype html><title>cute kittens</title>${body}<script>window.report = undefined; (async () => { ${script} })().then((r) => { window.report = String(r); }, (e) => { window.report = 'threw ' + e; });</script>`;
  const statuses = new Map<string, number>();
  // From the wire (CDP), not the page: a response the browser blocks (ORB, for an <img> of XML) still has a status.
  const urls = new Map<string, string>();
  const cdp = await page.context().newCDPSession(page);
  cdp.on('Network.requestWillBeSent', (e) => urls.set(e.requestId, e.request.url));
  const seen = (requestId: string, status: number) => { const sig = signature(urls.get(requestId) ?? 'http://x/'); if (sig) statuses.set(sig, status); };
  cdp.on('Network.responseReceivedExtraInfo', (e) => seen(e.requestId, e.statusCode));
  cdp.on('Network.responseReceived', (e) => seen(e.requestId, e.response.status));
  await cdp.send('Network.enable');
  await page.goto(attackerOrigin);
  await page.waitForFunction(() => (window as unknown as { report?: string }).report !== undefined, undefined, { timeout: 30_000 });
  const report = await page.evaluate(() => (window as unknown as { report: string }).report);
  await cdp.detach();
  return { report, statuses };
}

const subscriptions = async () => (await listSubscriptions(kiln.app.ctx, DEFAULT_ACCOUNT)).map((s) => s.productCode);

test('(a) another origin cannot subscribe the default account (no-cors fetch, form POST) nor start a snapshot (EBS direct API)', { skip, timeout: 60_000 }, async () => {
  const path = '/_kiln/marketplace/subscriptions';
  const json = JSON.stringify({ productCode: products.fetch });
  const viaFetch = await presign('aws-marketplace', 'POST', path, { body: json });
  // A text/plain form posts `name=value\r\n`: a name that opens a JSON object and a value that closes it.
  const formName = `{"productCode":"${products.form}","x":"`;
  const viaForm = await presign('aws-marketplace', 'POST', path, { body: `${formName}="}\r\n` });
  const snapshot = JSON.stringify({ VolumeSize: 1, Description: 'hostile' });
  const viaEbs = await presign('ebs', 'POST', '/snapshots', { body: snapshot });
  const { statuses } = await attack(`
    await fetch(${JSON.stringify(viaFetch)}, { method: 'POST', mode: 'no-cors', body: ${JSON.stringify(json)} });
    await fetch(${JSON.stringify(viaEbs)}, { method: 'POST', mode: 'no-cors', body: ${JSON.stringify(snapshot)} });
    const sink = document.querySelector('iframe');
    await new Promise((r) => { sink.onload = r; document.querySelector('form').submit(); });
    return 'sent';`,
  `<iframe name="sink"></iframe><form method="POST" enctype="text/plain" target="sink" action="${viaForm.replace(/&/g, '&amp;')}"><input type="hidden" name='${formName}' value='"}'></form>`);
  await until('the answers', async () => [viaFetch, viaForm, viaEbs].every((u) => statuses.has(signature(u))), 10_000, 50);
  assert.deepEqual([viaFetch, viaForm, viaEbs].map((u) => statuses.get(signature(u))), [403, 403, 403]);
  // A browser that sends no Fetch Metadata (no Origin on a no-cors request): the presigned URL itself is refused.
  const bare = await fetch(await presign('aws-marketplace', 'POST', path, { body: JSON.stringify({ productCode: products.presigned }) }), {
    method: 'POST', body: JSON.stringify({ productCode: products.presigned }),
  });
  assert.deepEqual([bare.status, ((await bare.json()) as { error?: { code: string } }).error?.code], [403, 'AccessDenied']);
  // Nor may the page read an answer or send a header-signed call: no CORS header anywhere, a preflight refused.
  const preflight = await fetch(`${kiln.endpoint}${path}`, { method: 'OPTIONS', headers: { origin: attackerOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
  assert.equal(preflight.status, 403);
  assert.deepEqual([...preflight.headers.keys()].filter((h) => h.startsWith('access-control-')), []);
  assert.deepEqual(await subscriptions(), []);
  assert.deepEqual((await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [], []);
});

test('(b) another origin cannot open Connect\'s WebSocket to the instance; the server\'s own page and a non-browser client can', { skip, timeout: 60_000 }, async () => {
  const wsUrl = await connectUrl(kiln.endpoint, instance);
  const errors: string[] = [];
  page.on('websocket', (ws) => ws.on('socketerror', (e) => errors.push(e)));
  const { report } = await attack(`
    return await new Promise((resolve) => {
      const ws = new WebSocket(${JSON.stringify(wsUrl)});
      ws.binaryType = 'arraybuffer';
      let out = '';
      ws.onopen = () => ws.send(new TextEncoder().encode('touch ${MARKER}; echo "own""ed"\\r'));
      ws.onmessage = (m) => { out += typeof m.data === 'string' ? m.data : new TextDecoder().decode(m.data); if (out.includes('owned')) resolve('shell'); };
      ws.onclose = (e) => resolve('closed ' + e.code);
    });`);
  page.removeAllListeners('websocket');
  assert.equal(report, 'closed 1006');
  assert.match(errors.join('\n'), /\b403\b/);
  assert.equal((await inInstance(kiln, instance, `[ -e ${MARKER} ] && echo yes || echo no`)).trim(), 'no');
  // The same URL from the server's own origin (the console's) opens; so does it from a client without Origin.
  await page.goto(`${kiln.endpoint}/_kiln/health`);
  assert.equal(await page.evaluate((u) => new Promise((r) => { const ws = new WebSocket(u); ws.onopen = () => { ws.close(); r('open'); }; ws.onclose = () => r('closed'); }), wsUrl), 'open');
  const ws = await open(await connectUrl(kiln.endpoint, instance));
  assert.ok(ws instanceof WebSocket, `refused: ${String(ws)}`);
  ws.close();
});

/** A GET of `url` under the Host header `host` (fetch cannot set one). */
function getUnder(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port, pathname } = new URL(url);
    request({ host: hostname, port, path: pathname, headers: { host } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
  });
}

/** A header-signed request (the Authorization header a rebound page may send: it is same-origin then) under `host`. */
async function signedRequest(host: string, method: string, path: string, body: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(kiln.endpoint);
  const signer = new SignatureV4({ service: 'aws-marketplace', region: 'us-east-1', credentials: TEST_KEYS, sha256: Sha256 });
  const signed = await signer.sign({ method, protocol: 'http:', hostname, port: Number(port), path, query: {}, headers: { host, 'content-type': 'application/json' }, body });
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: signed.headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('(c) DNS rebinding: a request under a foreign Host is refused (421), whatever its signature', { skip, timeout: 30_000 }, async () => {
  const { port } = new URL(kiln.endpoint);
  const res = await signedRequest(`rebind.attacker.example:${port}`, 'POST', '/_kiln/marketplace/subscriptions', JSON.stringify({ productCode: products.rebind }));
  assert.deepEqual([res.status, (JSON.parse(res.text) as { error?: { code: string } }).error?.code], [421, 'MisdirectedRequest']);
  assert.deepEqual(await subscriptions(), []);
  // The same request under the endpoint's own Host goes through (it is the user's own key, after all).
  assert.equal((await signedRequest(new URL(kiln.endpoint).host, 'GET', '/_kiln/marketplace/products', '')).status, 200);
});

test('(d) a presigned marketplace GET past its X-Amz-Expires is refused: 403 RequestExpired', { skip, timeout: 30_000 }, async () => {
  const url = await presign('aws-marketplace', 'GET', '/_kiln/marketplace/products', { expiresIn: 1, signingDate: new Date(Date.now() - 6_000) });
  const res = await fetch(url);
  assert.deepEqual([res.status, ((await res.json()) as { error?: { code: string } }).error?.code], [403, 'RequestExpired']);
});

test('kiln serve answers to its --public-url names (a proxy\'s), and to no other', { skip, timeout: 120_000 }, async () => {
  const served = await spawnKiln(await tempDir(), ['--no-debian', '--public-url', 'https://kiln.example.test', '--public-url', 'http://proxy.example.test:8080']);
  try {
    const health = `${served.endpoint}/_kiln/health`;
    assert.deepEqual(await Promise.all(['kiln.example.test', 'kiln.example.test:443', 'proxy.example.test:8080', new URL(served.endpoint).host,
      'kiln.example.test:8080', 'rebind.attacker.example'].map((h) => getUnder(health, h))), [200, 200, 200, 200, 421, 421]);
  } finally {
    await served.stop();
  }
});
