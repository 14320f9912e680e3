/**
 * The admin API: JSON over HTTP under /_kiln/admin/ on the same server, for
 * the operator (the `kiln accounts` and `kiln marketplace` commands). It is
 * authenticated by one admin token, not by account keys: the token is made at
 * first start, kept in <data dir>/admin-token (mode 0600) and sent as
 * `Authorization: Bearer <token>`. A request signed with an account's SigV4
 * key is refused, whatever the key.
 *
 *   GET    /_kiln/admin/accounts                                   {accounts}
 *   POST   /_kiln/admin/accounts {id?,alias?,org?,ou?,accessKeyId?,secretAccessKey?}  201 {account, accessKey}
 *   GET    /_kiln/admin/accounts/{id}                              {account}
 *   POST   /_kiln/admin/accounts/{id}/access-keys {accessKeyId?,secretAccessKey?}     201 {accessKey}
 *   DELETE /_kiln/admin/accounts/{id}/access-keys/{accessKeyId}    {deleted}
 *   GET    /_kiln/admin/marketplace/products[?vendor=]             {products}
 *   POST   /_kiln/admin/marketplace/products {vendor,title,description?,price,imageIds,productCode?}  201 {product}
 *   GET    /_kiln/admin/marketplace/subscriptions[?account=]       {subscriptions}
 *   POST   /_kiln/admin/marketplace/subscriptions {account,productCode}               201 {subscription}
 *   DELETE /_kiln/admin/marketplace/subscriptions/{account}/{code} {deleted}
 *   GET    /_kiln/admin/marketplace/usage?vendor=                  {vendor, usage}
 *   GET    /_kiln/admin/storage                                    {store, pool, snapshots, images}
 *   POST   /_kiln/admin/gc[?dry-run=true]                          {dryRun, plan, freedBytes, before, after}
 *   POST   /_kiln/admin/fsck                                       {blocks, snapshots, damaged, bases}
 *
 * Errors: `{"error":{"code","message"}}`; 401 without a token, 403 with a
 * wrong one (or an account key), 404 for what does not exist, 409 for what
 * already does, 400 for bad input.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accountView, addAccessKey, createAccount, deleteAccessKey, getAccount } from '../services/accounts/accounts.js';
import type { Context } from '../services/core/context.js';
import { Invalid } from '../services/core/errors.js';
import { listProducts, listSubscriptions, publishProduct, subscribe, unsubscribe, usageReport } from '../services/marketplace/marketplace.js';
import { collectGarbage, fsck, storageReport } from '../services/snapshots/storage.js';
import { adminTokenFile, ensureAdminToken } from './admin-token.js';
import type { Body, Route } from './json-api.js';
import { JsonApiError as AdminError, findRoute, jsonError, need, ok, readJson, sendJson as send, str } from './json-api.js';


function price(body: Body): number {
  const v = body.price;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number') throw new Invalid('MissingParameter', `The request must contain 'price' (USD per hour)`);
  return n;
}

function imageIds(body: Body): string[] {
  const v = body.imageIds;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Invalid('MissingParameter', `'imageIds' must be a list of image ids`);
  return v as string[];
}

const ROUTES: Route<Context>[] = [
  ['GET', /^accounts$/, async (ctx) => ok({ accounts: (await ctx.store.accounts.list()).map(accountView) })],
  ['POST', /^accounts$/, async (ctx, _m, b) => {
    const created = await createAccount(ctx, {
      id: str(b, 'id'), alias: str(b, 'alias'), org: str(b, 'org'), ou: str(b, 'ou'),
      accessKeyId: str(b, 'accessKeyId'), secretAccessKey: str(b, 'secretAccessKey'),
    });
    return ok({ account: accountView(created.account), accessKey: { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey } }, 201);
  }],
  ['GET', /^accounts\/(\d+)$/, async (ctx, m) => ok({ account: accountView(await getAccount(ctx, m[1])) })],
  ['POST', /^accounts\/(\d+)\/access-keys$/, async (ctx, m, b) =>
    ok({ accessKey: await addAccessKey(ctx, m[1], { accessKeyId: str(b, 'accessKeyId'), secretAccessKey: str(b, 'secretAccessKey') }) }, 201)],
  ['DELETE', /^accounts\/(\d+)\/access-keys\/([^/]+)$/, async (ctx, m) => {
    await deleteAccessKey(ctx, m[1], m[2]);
    return ok({ deleted: m[2] });
  }],
  ['GET', /^marketplace\/products$/, async (ctx, _m, _b, url) =>
    ok({ products: await listProducts(ctx, url.searchParams.get('vendor') ?? undefined) })],
  ['POST', /^marketplace\/products$/, async (ctx, _m, b) => ok({ product: await publishProduct(ctx, {
    vendor: need(b, 'vendor'), title: need(b, 'title'), description: str(b, 'description'), price: price(b),
    imageIds: imageIds(b), productCode: str(b, 'productCode'),
  }) }, 201)],
  ['GET', /^marketplace\/subscriptions$/, async (ctx, _m, _b, url) =>
    ok({ subscriptions: await listSubscriptions(ctx, url.searchParams.get('account') ?? undefined) })],
  ['POST', /^marketplace\/subscriptions$/, async (ctx, _m, b) =>
    ok({ subscription: await subscribe(ctx, need(b, 'account'), need(b, 'productCode')) }, 201)],
  ['DELETE', /^marketplace\/subscriptions\/(\d+)\/([a-z0-9]+)$/, async (ctx, m) => {
    await unsubscribe(ctx, m[1], m[2]);
    return ok({ deleted: `${m[1]}:${m[2]}` });
  }],
  ['GET', /^marketplace\/usage$/, async (ctx, _m, _b, url) => {
    const vendor = url.searchParams.get('vendor');
    if (!vendor) throw new Invalid('MissingParameter', `The request must contain 'vendor'`);
    return ok({ vendor, usage: await usageReport(ctx, vendor) });
  }],
  ['GET', /^storage$/, async (ctx) => ok(await storageReport(ctx))],
  ['POST', /^gc$/, async (ctx, _m, _b, url) => ok(await collectGarbage(ctx, url.searchParams.get('dry-run') === 'true'))],
  ['POST', /^fsck$/, async (ctx) => ok(await fsck(ctx))],
];

/** Answers one request under /_kiln/admin/. Never throws. */
export async function handleAdmin(ctx: Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  try {
    await checkToken(ctx, req, url);
    const path = url.pathname.slice('/_kiln/admin/'.length).replace(/\/+$/, '');
    const route = findRoute(ROUTES, req.method ?? 'GET', path, url.pathname);
    const body = req.method === 'POST' ? await readJson(req) : {};
    const reply = await route.fn(ctx, route.m, body, url);
    send(res, reply.status, reply.body);
  } catch (err) {
    const { status, code, message } = jsonError(err);
    if (status >= 500) ctx.log(`kiln: admin ${req.method} ${url.pathname}: ${(err as Error)?.stack ?? String(err)}`);
    send(res, status, { error: { code, message } }, status === 401 ? { 'www-authenticate': 'Bearer realm="kiln-admin"' } : {});
  }
}

async function checkToken(ctx: Context, req: IncomingMessage, url: URL): Promise<void> {
  const expected = await ensureAdminToken(ctx.paths.dataDir);
  const header = req.headers.authorization?.trim() ?? '';
  if (/^AWS4-HMAC-SHA256\b/i.test(header) || url.searchParams.has('X-Amz-Signature')) {
    throw new AdminError(403, 'AccessDenied', 'The admin API takes the admin token (Authorization: Bearer <token>), not account access keys');
  }
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) throw new AdminError(401, 'MissingAdminToken', `Send the admin token (${adminTokenFile(ctx.paths.dataDir)}) as 'Authorization: Bearer <token>'`);
  const digest = (s: string) => createHash('sha256').update(s).digest();
  if (!timingSafeEqual(digest(m[1]), digest(expected))) throw new AdminError(403, 'InvalidAdminToken', 'The admin token is not valid');
}
