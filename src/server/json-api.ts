/**
 * What Kiln's two JSON APIs share (the operator's admin API, admin.ts, and the
 * accounts' marketplace API, marketplace-http.ts): routes matched by method and
 * path, JSON object bodies, and errors as `{"error":{"code","message"}}` with
 * an HTTP status (404 for what does not exist, 409 for what already does).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toApiError } from '../api/errors.js';
import { Invalid } from '../services/core/errors.js';
import { readBody } from './body.js';

export class JsonApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export type Body = Record<string, unknown>;
export interface Reply { status: number; body: unknown }
export type Route<A> = [method: string, path: RegExp, fn: (arg: A, m: string[], body: Body, url: URL) => Promise<Reply>];

export const ok = (body: unknown, status = 200): Reply => ({ status, body });

/** The string field `key`, or undefined; InvalidParameterValue when it is not a string. */
export function str(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Invalid('InvalidParameterValue', `'${key}' must be a string`);
  return v;
}

export function need(body: Body, key: string): string {
  const v = str(body, key);
  if (!v) throw new Invalid('MissingParameter', `The request must contain '${key}'`);
  return v;
}

/** The route for the request's method and `path` (relative to the API's root): 404 when no route has the path, 405 for another method. */
export function findRoute<A>(routes: Route<A>[], method: string, path: string, pathname: string): { fn: Route<A>[2]; m: string[] } {
  const matching = routes.map(([verb, re, fn]) => ({ verb, fn, m: re.exec(path) })).filter((r) => r.m);
  if (!matching.length) throw new JsonApiError(404, 'NotFound', `Nothing is at ${pathname}`);
  const route = matching.find((r) => r.verb === method);
  if (!route) throw new JsonApiError(405, 'MethodNotAllowed', `${method} is not allowed on ${pathname}`);
  return { fn: route.fn, m: [...route.m!] };
}

const NOT_FOUND = /^NoSuch|\.NotFound$/;
const CONFLICT = new Set(['AccountAlreadyExists', 'AccessKeyInUse', 'ProductAlreadyExists']);

export function jsonError(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof JsonApiError) return err;
  const api = toApiError(err);
  const status = NOT_FOUND.test(api.code) ? 404 : CONFLICT.has(api.code) ? 409 : api.status;
  return { status, code: api.code, message: api.message };
}

/** A JSON object body (empty: {}); MalformedJson otherwise. */
export function parseJson(raw: Buffer): Body {
  const text = raw.toString('utf8').trim();
  if (!text) return {};
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Body;
  } catch {
    throw new JsonApiError(400, 'MalformedJson', 'The request body must be a JSON object');
  }
}

export async function readJson(req: IncomingMessage): Promise<Body> {
  return parseJson(await readBody(req));
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(`${JSON.stringify(body, null, 2)}\n`);
}
