import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONSOLE_ROUTES, consoleCsp, consoleFile, serveConsole } from './console.js';

const at = (path: string, method = 'GET', headers: Record<string, string> = {}) => consoleFile(method, new URL(path, 'http://kiln'), headers);

test('the console answers unsigned GETs of its files and routes; the API keeps the rest', () => {
  assert.equal(at('/'), 'index.html');
  assert.equal(at('/index.html'), 'index.html');
  assert.equal(at('/amis'), 'index.html');
  assert.equal(at('/instances/i-0123'), 'index.html');
  assert.equal(at('/launch?ami=ami-1'), 'index.html');
  assert.equal(at('/launch-templates/create?instance=i-1'), 'index.html');
  assert.equal(at('/auto-scaling-groups/create'), 'index.html');
  assert.equal(at('/assets/index-abc.js'), 'assets/index-abc.js');
  assert.equal(at('/', 'HEAD'), 'index.html');
  assert.equal(at('/', 'POST'), undefined, 'POST / is the EC2 API');
  assert.equal(at('/', 'GET', { authorization: 'AWS4-HMAC-SHA256 Credential=...' }), undefined, 'a signed GET is the API');
  assert.equal(at('/?Action=DescribeImages&X-Amz-Signature=x'), undefined);
  assert.equal(at('/favicon.ico'), undefined);
  assert.equal(at('/_kiln/health'), undefined);
  assert.equal(at('/assets/%2e%2e/%2e%2e/package.json'), undefined, 'no way out of dist-console/');
  assert.equal(at('/assets/%E0%A4%A'), undefined);
  assert.equal(at('/connect/i-0123'), 'index.html');
});

test("the CSP lets the page open Connect's WebSocket to its own host, and no other", () => {
  assert.match(consoleCsp('127.0.0.1:8080'), /connect-src 'self' ws:\/\/127\.0\.0\.1:8080 wss:\/\/127\.0\.0\.1:8080;/);
  assert.match(consoleCsp('[::1]:80'), /connect-src 'self' ws:\/\/\[::1\]:80 /);
  assert.match(consoleCsp('evil; script-src *'), /connect-src 'self';/);
  assert.match(consoleCsp(), /connect-src 'self';/);
});

test('index.html is never cached, hashed assets are immutable, both with a CSP, gzip\'d when asked; a missing build says how to make it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-console-static-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<html></html>');
  await writeFile(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
  let root = dir;
  const server = createServer((req, res) => {
    void serveConsole(req, res, new URL(req.url ?? '/', 'http://kiln'), root).then((done) => { if (!done) res.writeHead(418).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const index = await fetch(`${base}/snapshots`);
    assert.equal(await index.text(), '<html></html>');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
    const js = await fetch(`${base}/assets/app-1234.js`);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(js.headers.get('cache-control')!, /immutable/);
    assert.equal(js.headers.get('content-encoding'), 'gzip', 'fetch asks for gzip (and undoes it)');
    assert.equal(await js.text(), 'console.log(1)');
    const plain = await new Promise<{ encoding?: string; body: string }>((resolve, reject) => {
      httpGet(`${base}/assets/app-1234.js`, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve({ encoding: res.headers['content-encoding'], body }));
      }).on('error', reject);
    });
    assert.deepEqual(plain, { encoding: undefined, body: 'console.log(1)' }, 'raw to a client that does not take gzip');
    assert.equal((await fetch(`${base}/assets/none.js`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 418);
    root = join(dir, 'absent');
    const missing = await fetch(`${base}/`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /npm run setup/);
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('every page the console routes to is one the server answers with index.html (a reload or a shared link works)', async () => {
  const app = await readFile(new URL('../../console/src/App.tsx', import.meta.url), 'utf8');
  const pages = new Set([...app.matchAll(/href: '\/([a-z-]+)'|page === '([a-z-]+)'/g)].map((m) => m[1] ?? m[2]!));
  assert.ok(pages.size >= 8, [...pages].join(' '));
  for (const p of pages) assert.ok(CONSOLE_ROUTES.includes(p), `${p} is not in CONSOLE_ROUTES`);
});
