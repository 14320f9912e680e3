/**
 * The HTTP edge: reads a request, authenticates it (SigV4 against the stored
 * secret; the credential scope names the region), parses the EC2 Query
 * parameters with the service model, calls the action's handler and writes
 * its result or AWS's error envelope; requests signed for `ebs` (the EBS
 * direct APIs, REST-JSON) go to ebs-http.ts, and those under /_kiln/marketplace/
 * (signed for `aws-marketplace`) to marketplace-http.ts. Nothing below this file
 * sees HTTP.
 */
import { endAfterBody, readBody } from './body.js';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { ApiError, toApiError } from '../api/errors.js';
import { checkLimits } from '../api/limits.js';
import { DRY_RUN_CHECKED, HANDLERS, SERVICE_HANDLERS } from '../api/router.js';
import { findOperation, parseQuery, serializeError, serializeResponse } from '../protocol/protocol.js';
import type { QueryService } from '../protocol/protocol.js';
import type { Caller, Context } from '../services/core/context.js';
import { DryRunPassed } from '../services/core/errors.js';
import { handleAdmin } from './admin.js';
import { serveConsole } from './console.js';
import { AuthError } from '../api/errors.js';
import { authenticate } from './auth.js';
import { acceptConnects, CONNECT_PATH } from './connect.js';
import { arrival, sendRefusal, Site } from './origins.js';
import { isStsRequest, sendStsError, stsAction } from './sts.js';
import { isEbsRequest, sendEbsError, serveEbs } from './ebs-http.js';
import { classify, RateLimiter } from './rate-limit.js';
import type { RateLimitOptions } from './rate-limit.js';
import { MARKETPLACE_PREFIX, MARKETPLACE_SERVICE, sendMarketplaceError, serveMarketplace } from './marketplace-http.js';


export interface HttpOptions {
  ctx: Context;
  ready: () => boolean;
  /** The names the server answers to and the origins it takes browser requests from (origins.ts); default: loopback only. */
  site?: Site;
  /** Per-account request rates (rate-limit.ts); default EC2's times DEFAULT_MULTIPLIER. */
  rateLimit?: RateLimitOptions;
}

export function createHttpServer(options: HttpOptions): Server {
  const site = options.site ?? new Site();
  const opts = { ...options, limiter: new RateLimiter(options.rateLimit, options.ctx.log) };
  const server = createServer((req, res) => {
    const refused = site.refusal(arrival(req));
    if (refused) return sendRefusal(res, refused, new URL(req.url ?? '/', 'http://kiln').pathname);
    handle(opts, req, res).catch((err: unknown) => {
      opts.ctx.log(`kiln: unhandled error: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent) sendError(res, new ApiError('InternalError', 'An internal error has occurred', 500), randomUUID());
    });
  });
  // Idle keep-alive connections stay open for a minute, as AWS's endpoints keep them: with Node's default of 5 s, a
  // client reusing a socket just as the server closes it gets ECONNRESET (the SDKs retry; aws-cli, a test, may not).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Instances > Connect (connect.ts): its WebSocket sessions are not the HTTP server's connections, so closing the
  // server ends them (and their shells) first.
  const connect = acceptConnects(server, opts.ctx, site);
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => { connect.close(); return close(cb); }) as Server['close'];
  return server;
}

async function handle(opts: HttpOptions & { limiter: RateLimiter }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  let wire: QueryService = 'ec2';
  const url = new URL(req.url ?? '/', 'http://kiln');
  if (url.pathname === '/_kiln/health') {
    const ok = opts.ready();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'starting' }));
    return;
  }
  if (url.pathname.startsWith('/_kiln/admin/')) return handleAdmin(opts.ctx, req, res, url);
  if (url.pathname.startsWith(CONNECT_PATH)) {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket', connection: 'Upgrade' }).end('A WebSocket (presigned URL) only\n');
    return;
  }
  if (await serveConsole(req, res, url)) return;
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch (err) {
    return sendError(res, toApiError(err), requestId, req);
  }
  if (url.pathname.startsWith(MARKETPLACE_PREFIX)) {
    try {
      const { service, ...caller } = await authenticate(opts.ctx, req, url, body);
      if (service !== MARKETPLACE_SERVICE) throw new AuthError('AuthFailure', `Credential should be scoped to correct service: '${MARKETPLACE_SERVICE}'.`);
      return await serveMarketplace(opts.ctx, caller, req, res, url, body);
    } catch (err) {
      return sendMarketplaceError(opts.ctx, res, err);
    }
  }
  try {
    const { service, ...caller } = await authenticate(opts.ctx, req, url, body);
    if (service === MARKETPLACE_SERVICE) throw new AuthError('AuthFailure', `Credential should be scoped to correct service: 'ec2'.`);
    if (service === 'ebs') {
      await opts.limiter.check(caller.account, caller.region, 'ebs', service);
      return await serveEbs(opts.ctx, caller, req, res, url, body, requestId);
    }
    if (service !== 'sts') wire = service;
    const params = new URLSearchParams(url.search);
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
    if (service !== 'sts') await opts.limiter.check(caller.account, caller.region, classify(params.get('Action') ?? '', params), service);
    const out = service === 'sts' ? stsAction(caller, params, requestId)
      : await dispatch(opts.ctx, caller, params, { host: req.headers.host ?? '', requestId }, service);
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId }).end(out);
  } catch (err) {
    if (isEbsRequest(req.headers, url)) return sendEbsError(opts.ctx, res, err, requestId);
    const apiErr = toApiError(err);
    if (apiErr.status >= 500 && apiErr.code !== 'RequestLimitExceeded') opts.ctx.log(`kiln: ${apiErr.code} for request ${requestId}: ${(err as Error)?.stack ?? String(err)}`);
    if (isStsRequest(req.headers, url)) return sendStsError(res, err, apiErr, requestId);
    sendError(res, apiErr, requestId, undefined, wire);
  }
}

async function dispatch(ctx: Context, caller: Caller, params: URLSearchParams, info: { host: string; requestId: string }, service: QueryService): Promise<string> {
  const action = params.get('Action');
  if (!action) throw new ApiError('MissingAction', 'The request must contain the parameter Action');
  const op = findOperation(action, service);
  if (!op) throw new ApiError('InvalidAction', `The action ${action} is not valid for this web service.`);
  const handler = service === 'ec2' ? HANDLERS[action] : SERVICE_HANDLERS[service][action];
  if (!handler) throw new ApiError('InvalidAction', `The action ${action} is not implemented by Kiln yet.`);
  const input = parseQuery(params, op);
  checkLimits(input, service);
  if (input.DryRun === true) {
    // As on AWS, a dry run checks the request and answers with the error it would meet. Actions whose services mark where
    // they start changing things (beforeChange), and read-only ones, run up to that point; the rest are only parsed.
    if (DRY_RUN_CHECKED.has(action) || /^(Describe|Get)/.test(action)) await handler(ctx, { ...caller, dryRun: true }, input, info);
    throw new DryRunPassed();
  }
  const output = await handler(ctx, caller, input, info);
  return serializeResponse(op, output as Record<string, unknown>, info.requestId);
}

/**
 * AWS's error envelope. Given the request, and its body is not all read (refused as too large), the answer goes out whole
 * at once (Content-Length) with `Connection: close`, and the connection is closed only once the client has finished
 * sending: it can always read the error rather than have the connection reset under it.
 */
function sendError(res: ServerResponse, err: ApiError, requestId: string, req?: IncomingMessage, wire: QueryService = 'ec2'): void {
  const xml = serializeError(err.code, err.message, requestId, wire, err.status);
  const headers = { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId };
  if (req && !req.complete) {
    res.writeHead(err.status, { ...headers, 'content-length': Buffer.byteLength(xml), connection: 'close' });
    return endAfterBody(req, res, xml);
  }
  res.writeHead(err.status, headers).end(xml);
}
