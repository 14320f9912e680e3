/**
 * Who sent a request: its SigV4 signature (Authorization header or presigned query string) checked against the
 * secret stored for its access key, and the account, region and service its credential scope names. Shared by
 * the API (http.ts) and the instance terminal's WebSocket (connect.ts).
 *
 * A presigned URL (the signature in the query string) is taken only where the caller says it may be: Connect's
 * WebSocket, which a browser cannot open with headers. Every other client Kiln serves (aws-cli, the SDKs,
 * Terraform, Packer, the console's API calls) signs its headers, and a URL needs none: any web page can make
 * the browser send one (an <img>, a no-cors fetch, a form), so it would be a way for another origin to act with
 * keys it knows (the well-known test/test) without a header the browser would refuse to send cross-origin.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError, AuthError } from '../api/errors.js';
import type { QueryService } from '../protocol/protocol.js';
import type { Caller, Context } from '../services/core/context.js';
import { MARKETPLACE_SERVICE } from './marketplace-http.js';
import { parseAuthorization, verifySignature } from './sigv4.js';

export interface AuthOptions {
  /** A presigned URL is accepted (Connect's upgrade); otherwise it is refused with 403 AccessDenied. */
  presigned?: boolean;
}

export async function authenticate(ctx: Context, req: IncomingMessage, url: URL, body: Buffer, opts: AuthOptions = {}): Promise<Caller & { service: QueryService | 'sts' | 'ebs' | typeof MARKETPLACE_SERVICE }> {
  const signed = {
    method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1),
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    body,
  };
  const auth = parseAuthorization(signed);
  const found = await ctx.store.accounts.byAccessKey(auth.credential.accessKeyId);
  if (!found) throw new AuthError('AuthFailure', 'AWS was not able to validate the provided access credentials');
  try {
    verifySignature(signed, auth, found.secretAccessKey);
  } catch (err) {
    // An expired presigned URL is refused as AWS refuses one (S3's 403), on every service alike.
    if (auth.presigned && err instanceof AuthError && err.code === 'RequestExpired') throw new ApiError(err.code, err.message, 403);
    throw err;
  }
  if (auth.presigned && !opts.presigned) {
    throw new ApiError('AccessDenied', 'Kiln takes presigned URLs only for Instances > Connect; sign the request\'s headers (Authorization)', 403);
  }
  const service = auth.credential.service;
  if (service !== 'ec2' && service !== 'sts' && service !== 'ebs' && service !== 'autoscaling' && service !== MARKETPLACE_SERVICE) {
    throw new AuthError('AuthFailure', `Credential should be scoped to correct service: 'ec2'.`);
  }
  if (!ctx.regions.includes(auth.credential.region)) {
    throw new AuthError('AuthFailure', `Credential should be scoped to a valid region, not '${auth.credential.region}'.`);
  }
  return { account: found.account.id, region: auth.credential.region, org: found.account.org, ou: found.account.ou, service };
}
