/**
 * A request body over the limit, over a real server on a loopback port: the
 * client, still sending, reads the whole 413 RequestEntityTooLarge answer and
 * then sees the connection closed cleanly (Connection: close, a FIN) — never
 * reset under it (ECONNRESET / EPIPE) before it could read the answer.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import type { Kiln } from '../../test/harness.js';
import { startKiln } from '../../test/harness.js';
import { ensureAdminToken } from './admin-token.js';
import { MAX_BODY } from './body.js';

let kiln: Kiln;

before(async () => { kiln = await startKiln(); });
after(async () => { await kiln?.close(); });

interface Answer {
  /** The first error the client's socket saw (ECONNRESET, EPIPE…), if any. */
  error?: NodeJS.ErrnoException;
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** The answer's body is all there (as long as its Content-Length says). */
  complete: boolean;
  /** The server closed its side (a FIN: 'end'), rather than the socket only being torn down. */
  serverEnded: boolean;
  /** Bytes of the request body the client had written when the answer's head arrived. */
  writtenWhenAnswered?: number;
}

function parse(raw: Buffer): Omit<Answer, 'error' | 'serverEnded' | 'writtenWhenAnswered'> {
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) return { headers: {}, body: '', complete: false };
  const [statusLine, ...lines] = raw.subarray(0, split).toString('latin1').split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
  }));
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')?.[1]);
  let rest = raw.subarray(split + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = rest.indexOf('\r\n');
      if (eol < 0) return { status, headers, body: Buffer.concat(parts).toString('utf8'), complete: false };
      const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString('utf8'), complete: rest.length >= eol + 4 };
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      if (rest.length < eol + 2 + size + 2) return { status, headers, body: Buffer.concat(parts).toString('utf8'), complete: false };
      rest = rest.subarray(eol + 2 + size + 2);
    }
  }
  const length = Number(headers['content-length']);
  return { status, headers, body: rest.toString('utf8'), complete: Number.isInteger(length) && rest.length >= length };
}

/**
 * POSTs `total` bytes over a raw socket in 64 KiB chunks, yielding between them, so the client is still writing
 * when the server answers; keeps writing (as HTTP clients do) until the body is sent or the connection fails.
 */
async function postRaw(path: string, total: number, headers: Record<string, string> = {}): Promise<Answer> {
  const { port, hostname } = new URL(kiln.endpoint);
  const sock = connect({ port: Number(port), host: hostname, allowHalfOpen: true });
  await once(sock, 'connect');
  let error: NodeJS.ErrnoException | undefined;
  let serverEnded = false;
  let written = 0;
  let writtenWhenAnswered: number | undefined;
  const received: Buffer[] = [];
  sock.on('error', (e: NodeJS.ErrnoException) => { error ??= e; });
  sock.on('end', () => { serverEnded = true; });
  sock.on('data', (c: Buffer) => {
    writtenWhenAnswered ??= written;
    received.push(c);
  });
  const closed = new Promise<void>((res) => sock.once('close', () => res()));

  const head = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(total), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`).join('');
  sock.write(`POST ${path} HTTP/1.1\r\n${head}\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 'a');
  while (written < total && !error && !sock.destroyed) {
    const n = Math.min(chunk.length, total - written);
    const flushed = sock.write(chunk.subarray(0, n));
    written += n;
    if (!flushed) await Promise.race([once(sock, 'drain').catch(() => undefined), closed]);
    else await new Promise((res) => setImmediate(res));
  }
  // Body sent (or the connection failed): wait for the whole answer and the server's close, then hang up.
  const deadline = Date.now() + 2000;
  while (!sock.destroyed && !error && !serverEnded && !parse(Buffer.concat(received)).complete && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 10));
  }
  if (!sock.destroyed) sock.end();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise((res) => { timer = setTimeout(res, 2000); })]);
  clearTimeout(timer);
  sock.destroy();
  return { ...parse(Buffer.concat(received)), error, serverEnded, writtenWhenAnswered };
}

const TOTAL = MAX_BODY + 6 * 1024 * 1024;

test('EC2 Query: a body over the limit gets a complete 413 RequestEntityTooLarge, then Connection: close, never a reset', { timeout: 5000 }, async () => {
  const answer = await postRaw('/', TOTAL);
  assert.equal(answer.error?.code, undefined, `the client's socket failed: ${answer.error?.message}`);
  assert.equal(answer.status, 413);
  assert.ok(answer.complete, 'the whole answer arrived');
  assert.match(answer.headers['content-type'] ?? '', /xml/);
  assert.equal(/<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1], 'RequestEntityTooLarge');
  assert.ok(answer.headers['x-amzn-requestid'], 'the answer names its request');
  assert.equal(answer.headers.connection?.toLowerCase(), 'close');
  assert.ok(answer.serverEnded, 'the server closed the connection (FIN) after answering');
  assert.ok(answer.writtenWhenAnswered! < TOTAL, 'the answer came while the client was still sending its body');
});

test('a body at the limit is read, not refused', { timeout: 5000 }, async () => {
  const answer = await postRaw('/', MAX_BODY);
  assert.equal(answer.error?.code, undefined);
  assert.ok(answer.complete);
  assert.notEqual(answer.status, 413);
  assert.notEqual(/<Code>([^<]*)<\/Code>/.exec(answer.body)?.[1], 'RequestEntityTooLarge');
});

test('admin API: a body over the limit gets a complete 413 RequestEntityTooLarge, never a reset', { timeout: 5000 }, async () => {
  const token = await ensureAdminToken(kiln.dataDir);
  const answer = await postRaw('/_kiln/admin/accounts', TOTAL, { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  assert.equal(answer.error?.code, undefined, `the client's socket failed: ${answer.error?.message}`);
  assert.equal(answer.status, 413);
  assert.ok(answer.complete, 'the whole answer arrived');
  assert.equal(JSON.parse(answer.body).error.code, 'RequestEntityTooLarge');
});
