/**
 * The Host allow-list and the browser checks of origins.ts, and the default account's well-known key when the server
 * listens beyond loopback (default-keys.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp } from './app.js';
import { guardDefaultKeys, WELL_KNOWN_KEY } from './default-keys.js';
import type { Arrival } from './origins.js';
import { isLoopbackBind, publicUrl, Site } from './origins.js';
import { DEFAULT_ACCOUNT } from '../model/records.js';
import type { RuntimeDriver } from '../runtime/runtime.js';

const LOCAL = { address: '127.0.0.1', port: 4747 };
const at = (headers: Arrival['headers'], local = LOCAL, method = 'POST') => ({ method, headers, local });
const status = (site: Site, headers: Arrival['headers'], local = LOCAL, method = 'POST') => site.refusal(at(headers, local, method))?.status ?? 200;

test('Host: loopback names with the server port, the arrival address, --host and --public-url; nothing else', () => {
  const site = new Site({ publicUrls: ['https://kiln.example.com', 'http://proxy.lan:8080/'] });
  for (const host of ['127.0.0.1:4747', 'localhost:4747', 'LOCALHOST:4747', '127.0.0.2:4747', '[::1]:4747', 'kiln.example.com:443', 'kiln.example.com', 'proxy.lan:8080']) {
    assert.equal(status(site, { host }), 200, host);
  }
  for (const host of ['attacker.example:4747', 'attacker.example', 'localhost:80', '127.0.0.1:4748', 'kiln.example.com:80', 'kiln.example.com:4747', 'proxy.lan',
    'proxy.lan:4747', 'localhost.attacker.example:4747', '127.0.0.1.nip.io:4747', '', 'a b', '127.0.0.1:4747@x']) {
    assert.equal(status(site, { host }), 421, host);
  }
  assert.equal(site.refusal(at({ host: 'attacker.example:4747' }))?.code, 'MisdirectedRequest');
  assert.equal(status(site, {}), 200, 'no Host (HTTP/1.0): no browser sends that');
  // A wildcard bind reached at one of the host's addresses, and the bind name itself.
  const wide = new Site({ bindHost: '0.0.0.0' });
  assert.equal(status(wide, { host: '192.0.2.7:4747' }, { address: '::ffff:192.0.2.7', port: 4747 }), 200);
  assert.equal(status(wide, { host: '192.0.2.8:4747' }, { address: '192.0.2.7', port: 4747 }), 421);
  assert.equal(status(wide, { host: '0.0.0.0:4747' }), 200, 'the endpoint kiln serve prints');
  assert.equal(status(new Site({ bindHost: 'kiln-host.lan' }), { host: 'kiln-host.lan:4747' }), 200);
});

test('Origin and Sec-Fetch-Site: only the server\'s own pages, and clients that are not browsers', () => {
  const site = new Site({ publicUrls: ['https://kiln.example.com'] });
  const host = '127.0.0.1:4747';
  for (const origin of ['http://127.0.0.1:4747', 'http://localhost:4747', 'https://kiln.example.com']) {
    assert.equal(status(site, { host, origin, 'sec-fetch-site': 'same-origin' }), 200, origin);
  }
  for (const origin of ['http://127.0.0.2:8000', 'http://attacker.example', 'null', 'http://127.0.0.1:4747/x', 'file://', 'ws://127.0.0.1:4747', 'https://kiln.example.com:4747']) {
    assert.equal(status(site, { host, origin }), 403, origin);
  }
  assert.equal(site.refusal(at({ host, origin: 'http://attacker.example' }))?.code, 'AccessDenied');
  assert.equal(status(site, { host, 'sec-fetch-site': 'cross-site' }), 403, 'an <img> or a no-cors GET from another site (no Origin)');
  assert.equal(status(site, { host, 'sec-fetch-site': 'same-site' }), 403, 'another port of the same host');
  assert.equal(status(site, { host, 'sec-fetch-site': 'none' }), 200, 'the user typed the URL');
  const link = { host, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' };
  assert.equal(status(site, link, LOCAL, 'GET'), 200, 'a link to the console on another site, followed');
  assert.equal(status(site, link, LOCAL, 'POST'), 403, 'a form posted from another site');
  assert.equal(status(site, { ...link, 'sec-fetch-mode': 'no-cors' }, LOCAL, 'GET'), 403, 'an <img> from another site');
});

test('--public-url must be an http(s) URL of a root; loopback binds are told from the rest', () => {
  assert.throws(() => publicUrl('kiln.example.com'));
  assert.throws(() => publicUrl('ftp://kiln.example.com'));
  assert.throws(() => publicUrl('https://kiln.example.com/console'));
  assert.equal(publicUrl('https://kiln.example.com/').host, 'kiln.example.com');
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackBind(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.0.2.7', 'kiln-host.lan']) assert.equal(isLoopbackBind(h), false, h);
});

test('the default account loses test/test when the server listens beyond loopback, unless allowed', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kiln-keys-'));
  const runtime = { name: 'none', check: async () => [], list: async () => [] } as unknown as RuntimeDriver;
  const app = await createApp({ dataDir, log: () => undefined, runtime });
  try {
    const keys = async () => (await app.ctx.store.accounts.get(DEFAULT_ACCOUNT))!.keys.map((k) => k.accessKeyId);
    assert.deepEqual(await guardDefaultKeys(app.ctx, '127.0.0.1', false), { kind: 'well-known' });
    assert.deepEqual(await guardDefaultKeys(app.ctx, '0.0.0.0', true), { kind: 'well-known' });
    assert.deepEqual(await keys(), [WELL_KNOWN_KEY.accessKeyId]);
    const replaced = await guardDefaultKeys(app.ctx, '0.0.0.0', false);
    assert.equal(replaced.kind, 'replaced');
    assert.ok(replaced.kind === 'replaced' && replaced.secretAccessKey.length >= 30);
    assert.deepEqual(await keys(), [replaced.kind === 'replaced' ? replaced.accessKeyId : '']);
    assert.equal(await app.ctx.store.accounts.byAccessKey('test'), undefined);
    assert.deepEqual(await guardDefaultKeys(app.ctx, '127.0.0.1', false), { kind: 'own' }, 'a later loopback start keeps the new key');
  } finally {
    await app.close();
    await app.ctx.pool.release();
    await rm(dataDir, { recursive: true, force: true });
  }
});
