/**
 * Who sent a request: its SigV4 signature (Authorization header or presigned query string) checked against the
 * secret stored for its access key, and the account, region and service its credential scope names. Shared by
 * the API (http.ts) and the instance terminal's WebSocket (connect.ts).
 */
import type { IncomingMessage } from 'node:http';
import { AuthError } from '../api/errors.js';
import type { QueryService } from '../protocol/protocol.js';
import type { Caller, Context } from '../services/core/context.js';
import { MARKETPLACE_SERVICE } from './marketplace-http.js';
import { parseAuthorization, verifySignature } from './sigv4.js';

export async function authenticate(ctx: Context, req: IncomingMessage, url: URL, body: Buffer): Promise<Caller & { service: QueryService | 'sts' | 'ebs' | typeof MARKETPLACE_SERVICE }> {
  const signed = {
    method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1),
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    body,
  };
  const auth = parseAuthorization(signed);
  const found = await ctx.store.accounts.byAccessKey(auth.credential.accessKeyId);
  if (!found) throw new AuthError('AuthFailure', 'AWS was not able to validate the provided access credentials');
  verifySignature(signed, auth, found.secretAccessKey);
  const service = auth.credential.service;
  if (service !== 'ec2' && service !== 'sts' && service !== 'ebs' && service !== 'autoscaling' && service !== MARKETPLACE_SERVICE) {
    throw new AuthError('AuthFailure', `Credential should be scoped to correct service: 'ec2'.`);
  }
  if (!ctx.regions.includes(auth.credential.region)) {
    throw new AuthError('AuthFailure', `Credential should be scoped to a valid region, not '${auth.credential.region}'.`);
  }
  return { account: found.account.id, region: auth.credential.region, org: found.account.org, ou: found.account.ou, service };
}
