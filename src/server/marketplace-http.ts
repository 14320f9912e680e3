/**
 * The marketplace as an account sees it: JSON under /_kiln/marketplace/,
 * signed with the account's own keys (SigV4, service `aws-marketplace`), so a
 * buyer lists the products and subscribes itself, as the AWS Marketplace's
 * product pages let a signed-in user do. AWS has no public API for
 * subscribing (its Agreement API only reads agreements), hence Kiln's own;
 * vendors still publish through the admin API (`kiln marketplace publish`).
 *
 *   GET    /_kiln/marketplace/products                 {products: ProductView[]}
 *   GET    /_kiln/marketplace/subscriptions            {subscriptions}
 *   POST   /_kiln/marketplace/subscriptions {productCode}  201 {subscription}
 *   DELETE /_kiln/marketplace/subscriptions/{code}     {deleted}
 *
 * Errors as the admin API's: `{"error":{"code","message"}}` with a status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller, Context } from '../services/core/context.js';
import { listSubscriptions, productsFor, subscribe, unsubscribe } from '../services/marketplace/marketplace.js';
import type { Route } from './json-api.js';
import { findRoute, jsonError, need, ok, parseJson, sendJson } from './json-api.js';

export const MARKETPLACE_PREFIX = '/_kiln/marketplace/';
export const MARKETPLACE_SERVICE = 'aws-marketplace';

type Scope = { ctx: Context; caller: Caller };

const ROUTES: Route<Scope>[] = [
  ['GET', /^products$/, async ({ ctx, caller }) => ok({ products: await productsFor(ctx, caller.account) })],
  ['GET', /^subscriptions$/, async ({ ctx, caller }) => ok({ subscriptions: await listSubscriptions(ctx, caller.account) })],
  ['POST', /^subscriptions$/, async ({ ctx, caller }, _m, b) =>
    ok({ subscription: await subscribe(ctx, caller.account, need(b, 'productCode')) }, 201)],
  ['DELETE', /^subscriptions\/([a-z0-9]+)$/, async ({ ctx, caller }, m) => {
    await unsubscribe(ctx, caller.account, m[1]);
    return ok({ deleted: m[1] });
  }],
];

/** Answers an authenticated request under /_kiln/marketplace/. */
export async function serveMarketplace(ctx: Context, caller: Caller, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
  const path = url.pathname.slice(MARKETPLACE_PREFIX.length).replace(/\/+$/, '');
  const route = findRoute(ROUTES, req.method ?? 'GET', path, url.pathname);
  const reply = await route.fn({ ctx, caller }, route.m, req.method === 'POST' ? parseJson(body) : {}, url);
  sendJson(res, reply.status, reply.body);
}

/** The error answer for anything thrown while authenticating or serving a marketplace request. */
export function sendMarketplaceError(ctx: Context, res: ServerResponse, err: unknown): void {
  const { status, code, message } = jsonError(err);
  if (status >= 500) ctx.log(`kiln: marketplace: ${(err as Error)?.stack ?? String(err)}`);
  sendJson(res, status, { error: { code, message } });
}
