/**
 * AWS Signature Version 4 verification for incoming requests.
 *
 * The server recomputes the signature over exactly the headers the client says
 * it signed (botocore signs content-type;host;x-amz-date, the JS SDK signs
 * more), with the secret stored for the access key, and compares in constant
 * time. The credential scope gives the region the request is for.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AuthError } from '../api/errors.js';

export interface SignedRequest {
  method: string;
  /** Path without query string, as sent (already percent-encoded). */
  path: string;
  /** Raw query string without '?', as sent. */
  query: string;
  /** Header names lower-cased; repeated headers joined with ','. */
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
}


const MAX_SKEW_MS = 15 * 60 * 1000;
/** The longest X-Amz-Expires a presigned request may carry, as AWS allows: 7 days. */
export const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;

interface ParsedAuth {
  credential: Credential; signedHeaders: string[]; signature: string; amzDate: string;
  /** Signed in the query string (a presigned URL), with its X-Amz-Expires (raw); header-signed requests have none. */
  presigned?: { expires: string | undefined };
}

/** Reads the credential and signature from the Authorization header or presigned query parameters. */
export function parseAuthorization(req: SignedRequest): ParsedAuth {
  const header = req.headers['authorization'];
  let credential: string | undefined, signedHeaders: string | undefined, signature: string | undefined, amzDate: string | undefined;
  let presigned: ParsedAuth['presigned'];
  if (header) {
    const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header.trim());
    if (!m) throw new AuthError('IncompleteSignature', 'Authorization header requires AWS4-HMAC-SHA256 Signature Version 4');
    for (const part of m[1].split(',')) {
      const [k, v] = part.trim().split('=', 2) as [string, string | undefined];
      if (k === 'Credential') credential = v;
      else if (k === 'SignedHeaders') signedHeaders = v;
      else if (k === 'Signature') signature = v;
    }
    amzDate = req.headers['x-amz-date'];
  } else {
    const q = new URLSearchParams(req.query);
    if (!q.has('X-Amz-Signature')) throw new AuthError('MissingAuthenticationToken', 'Request is missing Authentication Token');
    credential = q.get('X-Amz-Credential') ?? undefined;
    signedHeaders = q.get('X-Amz-SignedHeaders') ?? undefined;
    signature = q.get('X-Amz-Signature') ?? undefined;
    amzDate = q.get('X-Amz-Date') ?? undefined;
    presigned = { expires: q.get('X-Amz-Expires') ?? undefined };
  }
  if (!credential || !signedHeaders || !signature || !amzDate) {
    throw new AuthError('IncompleteSignature', 'Authorization header requires Credential, SignedHeaders, Signature and an X-Amz-Date');
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw new AuthError('IncompleteSignature', `Credential should be scoped to a valid region, not '${credential}'`);
  }
  const [accessKeyId, date, region, service] = scope;
  return { credential: { accessKeyId, date, region, service }, signedHeaders: signedHeaders.split(';'), signature, amzDate, presigned };
}

/**
 * Verifies `req` was signed with `secret`. Throws AuthError when not.
 * `now` is injectable for tests.
 */
export function verifySignature(req: SignedRequest, auth: ParsedAuth, secret: string, now = Date.now()): void {
  const t = parseAmzDate(auth.amzDate);
  if (t === undefined || !auth.amzDate.startsWith(auth.credential.date)) {
    throw new AuthError('AuthFailure', 'AWS was not able to validate the provided access credentials');
  }
  checkTime(auth, t, now);
  if (!auth.signedHeaders.includes('host')) {
    throw new AuthError('AuthFailure', 'AWS was not able to validate the provided access credentials');
  }
  const canonical = canonicalRequest(req, auth.signedHeaders);
  const { date, region, service } = auth.credential;
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', auth.amzDate, scope, sha256hex(canonical)].join('\n');
  const kDate = hmac(`AWS4${secret}`, date);
  const key = hmac(hmac(hmac(kDate, region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest();
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AuthError('SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
}

/**
 * A header-signed request is on time within 15 minutes either way of its X-Amz-Date. A presigned one is from its
 * X-Amz-Date (15 minutes of clock skew) until X-Amz-Expires seconds after it, which it must carry (1 s to 7 days):
 * the expiry is signed with the rest of the query, so only its signer could have set it.
 */
function checkTime(auth: ParsedAuth, signedAt: number, now: number): void {
  const expired = () => new AuthError('RequestExpired', `Request has expired. Timestamp date is ${auth.amzDate}`);
  if (!auth.presigned) {
    if (Math.abs(now - signedAt) > MAX_SKEW_MS) throw expired();
    return;
  }
  const raw = auth.presigned.expires ?? '';
  const expires = /^\d{1,7}$/.test(raw) ? Number(raw) : NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGN_EXPIRES_S)) {
    throw new AuthError('AuthFailure', `A presigned request must carry an X-Amz-Expires of 1 to ${MAX_PRESIGN_EXPIRES_S} seconds`);
  }
  if (signedAt - now > MAX_SKEW_MS || now > signedAt + expires * 1000) throw expired();
}

function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const headerLines = signedHeaders.map((name) => {
    const v = req.headers[name] ?? '';
    return `${name}:${v.trim().replace(/\s+/g, ' ')}\n`;
  }).join('');
  const declared = req.headers['x-amz-content-sha256'];
  const actual = sha256hex(req.body);
  if (declared && declared !== 'UNSIGNED-PAYLOAD' && declared !== actual) {
    throw new AuthError('SignatureDoesNotMatch', 'The provided x-amz-content-sha256 header does not match what was computed.');
  }
  const payloadHash = declared === 'UNSIGNED-PAYLOAD' ? declared : actual;
  return [req.method, canonicalPath(req.path), canonicalQuery(req.query), headerLines, signedHeaders.join(';'), payloadHash].join('\n');
}

function canonicalPath(path: string): string {
  return path.split('/').map((seg) => encode(safeDecode(seg))).join('/') || '/';
}

function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs: Array<[string, string]> = [];
  for (const part of query.split('&')) {
    if (!part) continue;
    const i = part.indexOf('=');
    const k = safeDecode((i < 0 ? part : part.slice(0, i)).replace(/\+/g, ' '));
    const v = i < 0 ? '' : safeDecode(part.slice(i + 1).replace(/\+/g, ' '));
    if (k === 'X-Amz-Signature') continue;
    pairs.push([encode(k), encode(v)]);
  }
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

export function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
