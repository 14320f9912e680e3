import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthError } from '../api/errors.js';
import { parseAuthorization, verifySignature } from './sigv4.js';
import type { SignedRequest } from './sigv4.js';
import { Sha256 } from '../../test/sha256.js';

const BODY = 'Action=DescribeImages&Version=2016-11-15&Owner.1=self';

async function signed(opts: { secret?: string; region?: string; body?: string; headers?: Record<string, string> } = {}): Promise<SignedRequest> {
  const signer = new SignatureV4({
    service: 'ec2', region: opts.region ?? 'us-east-1', sha256: Sha256,
    credentials: { accessKeyId: 'test', secretAccessKey: opts.secret ?? 'test' },
  });
  const body = opts.body ?? BODY;
  const req = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4747, path: '/', query: {},
    headers: { host: '127.0.0.1:4747', 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...opts.headers }, body,
  });
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', path: '/', query: '', headers, body: Buffer.from(body) };
}

function verify(req: SignedRequest, secret = 'test') {
  const auth = parseAuthorization(req);
  verifySignature(req, auth, secret);
  return auth;
}

function code(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof AuthError) return err.code; throw err; }
  return 'none';
}

test('a request signed with the stored secret verifies and names its region', async () => {
  const auth = verify(await signed({ region: 'eu-west-1' }));
  assert.equal(auth.credential.region, 'eu-west-1');
  assert.equal(auth.credential.accessKeyId, 'test');
});

test('a wrong secret gives SignatureDoesNotMatch', async () => {
  const req = await signed({ secret: 'not-the-secret' });
  assert.equal(code(() => verify(req)), 'SignatureDoesNotMatch');
});

test('a tampered body gives SignatureDoesNotMatch', async () => {
  const req = await signed();
  req.body = Buffer.from(BODY.replace('self', '111122223333'));
  assert.equal(code(() => verify(req)), 'SignatureDoesNotMatch');
});

test('a tampered signed header gives SignatureDoesNotMatch', async () => {
  const req = await signed();
  req.headers['content-type'] = 'text/plain';
  assert.equal(code(() => verify(req)), 'SignatureDoesNotMatch');
});

test('a request signed for another region than it claims fails', async () => {
  const req = await signed({ region: 'us-east-1' });
  req.headers.authorization = req.headers.authorization!.replace('/us-east-1/', '/us-west-2/');
  assert.equal(code(() => verify(req)), 'SignatureDoesNotMatch');
});

test('an old timestamp gives RequestExpired', async () => {
  const req = await signed();
  const auth = parseAuthorization(req);
  assert.throws(() => verifySignature(req, auth, 'test', Date.now() + 60 * 60 * 1000), (e: AuthError) => e.code === 'RequestExpired');
});

test('no Authorization at all gives MissingAuthenticationToken; a garbled one IncompleteSignature', async () => {
  const req = await signed();
  delete req.headers.authorization;
  assert.equal(code(() => parseAuthorization(req)), 'MissingAuthenticationToken');
  req.headers.authorization = 'AWS4-HMAC-SHA256 Credential=test';
  assert.equal(code(() => parseAuthorization(req)), 'IncompleteSignature');
});

test('a declared payload hash that does not match the body is refused', async () => {
  const req = await signed({ headers: { 'x-amz-content-sha256': createHash('sha256').update(BODY).digest('hex') } });
  verify(req);
  req.body = Buffer.from(`${BODY}&x=1`);
  assert.equal(code(() => verify(req)), 'SignatureDoesNotMatch');
});
