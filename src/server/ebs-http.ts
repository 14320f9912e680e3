/**
 * The EBS direct APIs at the HTTP edge (requests whose SigV4 credential scope
 * names the service `ebs`): the request's method and path are matched against
 * the model's URI templates, parsed by the REST-JSON protocol, answered by the
 * operation's handler, and written back with the model's status and headers;
 * errors go out in REST-JSON form (`x-amzn-ErrorType` and a JSON body).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../api/errors.js';
import { toEbsError } from '../api/ebs-errors.js';
import { EBS_HANDLERS } from '../api/router.js';
import { EBS } from '../protocol/protocol.js';
import type { RestResponse } from '../protocol/protocol.js';
import type { Caller, Context } from '../services/core/context.js';

/** Whether a request is signed for the `ebs` service (so its errors, authentication's too, answer in REST-JSON). */
export function isEbsRequest(headers: IncomingMessage['headers'], url: URL): boolean {
  const credential = headers.authorization ?? url.searchParams.get('X-Amz-Credential') ?? '';
  return /\/ebs\/aws4_request\b/.test(credential);
}

export async function serveEbs(
  ctx: Context, caller: Caller, req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, requestId: string,
): Promise<void> {
  const found = EBS.match(req.method ?? 'GET', url.pathname);
  if (found === 'method') throw new ApiError('MethodNotAllowedException', `${req.method} is not allowed on ${url.pathname}`, 405);
  if (!found) throw new ApiError('UnknownOperationException', `No EBS direct API operation is at ${req.method} ${url.pathname}`, 404);
  const handler = EBS_HANDLERS[found.op.name];
  if (!handler) throw new ApiError('UnknownOperationException', `${found.op.name} is not implemented by Kiln yet.`, 404);
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
  const input = EBS.parse(found.op, { labels: found.labels, query: url.searchParams, headers, body });
  const output = await handler(ctx, caller, input, { host: req.headers.host ?? '', requestId });
  send(res, EBS.serialize(found.op, output as Record<string, unknown>), requestId);
}

/** The REST-JSON error answer for anything thrown while serving an EBS request. */
export function sendEbsError(ctx: Context, res: ServerResponse, err: unknown, requestId: string): void {
  const apiErr = toEbsError(err);
  if (apiErr.status >= 500) ctx.log(`kiln: ${apiErr.code} for request ${requestId}: ${(err as Error)?.stack ?? String(err)}`);
  send(res, EBS.serializeError(apiErr.code, apiErr.message, apiErr.status, apiErr.fields), requestId);
}

function send(res: ServerResponse, r: RestResponse, requestId: string): void {
  res.writeHead(r.status, { ...r.headers, 'x-amzn-RequestId': requestId, 'Content-Length': String(r.body.length) }).end(r.body);
}
