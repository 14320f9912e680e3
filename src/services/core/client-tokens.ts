/**
 * ClientToken idempotency, as AWS does it for RunInstances, CreateVolume and
 * CopyImage: a token names the first request made with it. The same token with
 * the same parameters answers with what that request made; with different
 * parameters it is IdempotentParameterMismatch. Tokens are per account and
 * region, 1-64 ASCII characters.
 */
import { createHash } from 'node:crypto';
import type { Caller, Context } from './context.js';
import { Invalid } from './errors.js';
import type { TokenRecord } from '../../model/extra-records.js';

export type TokenKind = 'run-instances' | 'create-volume' | 'copy-image' | 'create-launch-template' | 'create-launch-template-version' | 'start-snapshot';

const tokens = (ctx: Context, kind: TokenKind) => ctx.store.collection<TokenRecord>(`${kind}-token`);
const tokenId = (caller: Caller, token: string) => `${caller.account}/${caller.region}/${token}`;

/** A digest of `req` without its clientToken, independent of key order and of members left undefined. */
function fingerprint(req: object): string {
  const canonical = (v: unknown): unknown => Array.isArray(v) ? v.map(canonical)
    : v && typeof v === 'object' ? Object.entries(v).filter(([k, x]) => x !== undefined && k !== 'clientToken')
      .sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)])
      : v;
  return createHash('sha256').update(JSON.stringify(canonical(req))).digest('hex');
}

/**
 * The ids an earlier request with this token made, or undefined when the
 * token is new (or absent). Throws IdempotentParameterMismatch when the
 * earlier request differed, InvalidParameterValue for a malformed token.
 */
export async function recallToken(ctx: Context, caller: Caller, kind: TokenKind, token: string | undefined, req: object): Promise<string[] | undefined> {
  if (token === undefined) return undefined;
  if (!token || token.length > 64 || !/^[\x20-\x7e]+$/.test(token)) {
    throw new Invalid('InvalidParameterValue', 'ClientToken must be between 1 and 64 ASCII characters long');
  }
  const tok = await tokens(ctx, kind).get(tokenId(caller, token));
  if (!tok) return undefined;
  if (tok.fingerprint !== fingerprint(req)) {
    throw new Invalid('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
  }
  return tok.resourceIds;
}

/** Records that the request with `token` made `resourceIds`. */
export async function rememberToken(ctx: Context, caller: Caller, kind: TokenKind, token: string | undefined, req: object, resourceIds: string[]): Promise<void> {
  if (token === undefined) return;
  await tokens(ctx, kind).insert({ id: tokenId(caller, token), account: caller.account, region: caller.region, resourceIds, fingerprint: fingerprint(req) });
}
