/**
 * Instances > Connect: a terminal on a shell inside a running instance, over a WebSocket at
 * GET /_kiln/connect/{instance-id}. A browser's WebSocket cannot send headers, so the request is a SigV4-presigned
 * URL (service ec2, the console session's region, a short X-Amz-Expires), checked as the API checks a request
 * (auth.ts); only the instance's owner account, in the instance's region, while it is running, gets the upgrade.
 * Every refusal is an HTTP status before the upgrade: 421 a foreign Host, 403 another origin's page (a browser lets any
 * page open a WebSocket anywhere, so Origin is checked: origins.ts), a bad signature or expiry, 404 no such instance for
 * that account and region, 409 not running, 501 a runtime without shells. The session itself is shell-session.ts.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { ApiError, AuthError } from '../api/errors.js';
import { serializeError } from '../protocol/protocol.js';
import type { Context } from '../services/core/context.js';
import { authenticate } from './auth.js';
import type { Site } from './origins.js';
import { arrival } from './origins.js';
import { ShellSessions } from './shell-session.js';
import { parseAmzDate } from './sigv4.js';

export const CONNECT_PATH = '/_kiln/connect/';
/** The longest X-Amz-Expires a connect URL may carry: it is for opening a socket now, not a link to keep. */
export const MAX_CONNECT_EXPIRES_S = 900;

class Refused extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export interface ConnectEndpoint {
  /** Ends every session (their shells with them) and refuses new ones: the server is shutting down. */
  close(): void;
}

/** Answers WebSocket upgrades of `server` at CONNECT_PATH (any other upgrade is refused with 404). */
export function acceptConnects(server: Server, ctx: Context, site: Site): ConnectEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, perMessageDeflate: false });
  const sessions = new ShellSessions(ctx);
  let closed = false;
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    void admit(ctx, site, req).then(async ({ argv, who }) => {
      if (closed) throw new Refused(503, 'ServiceUnavailable', 'The server is shutting down');
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => sessions.start(ws, argv, size(req), who));
    }).catch((err: unknown) => refuse(ctx, socket, err));
  };
  server.on('upgrade', onUpgrade);
  return {
    close: () => {
      closed = true;
      server.off('upgrade', onUpgrade);
      sessions.closeAll();
      wss.close();
    },
  };
}

/** Authenticates and authorizes an upgrade: the shell command to run and who runs it where (for the log); or throws. */
async function admit(ctx: Context, site: Site, req: IncomingMessage): Promise<{ argv: string[]; who: string }> {
  const url = new URL(req.url ?? '/', 'http://kiln');
  // Browsers let any page open a WebSocket to any host: only the server's own pages (Origin) may open this one.
  const refused = site.refusal(arrival(req));
  if (refused) throw new Refused(refused.status, refused.code, refused.message);
  if (req.method !== 'GET' || !url.pathname.startsWith(CONNECT_PATH)) throw new Refused(404, 'NotFound', 'No WebSocket here');
  let id: string;
  try { id = decodeURIComponent(url.pathname.slice(CONNECT_PATH.length)); } catch { throw new Refused(404, 'NotFound', 'No WebSocket here'); }
  const caller = await authenticate(ctx, req, url, Buffer.alloc(0), { presigned: true });
  if (caller.service !== 'ec2') throw new AuthError('AuthFailure', `Credential should be scoped to correct service: 'ec2'.`);
  checkExpiry(url);
  const inst = /^i-[0-9a-f]{8,17}$/.test(id) ? await ctx.store.instances.get(id) : undefined;
  // Another account's instance, or one in another region, is no more there for the caller than in the API.
  if (!inst || inst.account !== caller.account || inst.region !== caller.region || inst.state === 'terminated') {
    throw new Refused(404, 'InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  }
  if (inst.state !== 'running') throw new Refused(409, 'IncorrectInstanceState', `The instance '${id}' is not in the 'running' state`);
  if (!ctx.runtime.shellCommand) throw new Refused(501, 'Unsupported', `The ${ctx.runtime.name} runtime has no terminal for instances`);
  return { argv: await ctx.runtime.shellCommand(id), who: `account ${caller.account} on ${id}` };
}

/** A presigned URL's own expiry (X-Amz-Expires, signed with it), which the signature check alone does not enforce. */
function checkExpiry(url: URL, now = Date.now()): void {
  const expires = Number(url.searchParams.get('X-Amz-Expires'));
  const signedAt = parseAmzDate(url.searchParams.get('X-Amz-Date') ?? '');
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_CONNECT_EXPIRES_S || signedAt === undefined) {
    throw new AuthError('AuthFailure', `A connect URL is presigned with an X-Amz-Expires of 1 to ${MAX_CONNECT_EXPIRES_S} seconds`);
  }
  if (now > signedAt + expires * 1000) throw new AuthError('RequestExpired', 'The connect URL has expired');
}

/** The terminal's first size, from the URL's cols and rows (the console signs them with it); 80x24 otherwise. */
function size(req: IncomingMessage): { cols: number; rows: number } {
  const q = new URL(req.url ?? '/', 'http://kiln').searchParams;
  const n = (v: string | null, d: number) => (v && /^\d{1,4}$/.test(v) && +v > 0 ? Math.min(+v, 1000) : d);
  return { cols: n(q.get('cols'), 80), rows: n(q.get('rows'), 24) };
}

function refuse(ctx: Context, socket: Duplex, err: unknown): void {
  const [status, code, message] = err instanceof Refused ? [err.status, err.code, err.message]
    : err instanceof AuthError ? [403, err.code, err.message]
    : err instanceof ApiError && err.status < 500 ? [err.status, err.code, err.message]
    : [500, 'InternalError', 'An internal error has occurred'];
  if (status >= 500 && !(err instanceof Refused)) ctx.log(`kiln: connect: ${(err as Error)?.stack ?? String(err)}`);
  if (socket.destroyed) return;
  const body = serializeError(code, message, randomUUID(), 'ec2', status);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/xml;charset=UTF-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
