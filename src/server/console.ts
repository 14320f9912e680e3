/**
 * The web console's static files (console/, bundled by Vite into dist-console/ at setup) on the API's own origin.
 * Only unsigned GET/HEAD requests for `/`, `/index.html`, `/assets/*` or one of the console's page routes are
 * answered here; everything else (POST / with SigV4, a signed GET) goes on to the API. Hashed assets are
 * immutable; index.html is never cached, so a new build is picked up at the next load.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';

const gzipAsync = promisify(gzipCb);

/** dist-console/ at the package root (this file runs from src/server/ under tsx, or dist/server/ when built). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist-console/', import.meta.url));

/** The console's page routes (the single-page app routes them itself): a GET of one serves index.html. */
export const CONSOLE_ROUTES = ['amis', 'catalog', 'instances', 'launch', 'create-image', 'volumes', 'snapshots', 'key-pairs', 'security-groups', 'signin', 'connect',
  'launch-templates', 'auto-scaling-groups'];

export const CONSOLE_CSP = consoleCsp();

/**
 * The console's Content-Security-Policy. connect-src names the WebSocket of Instances > Connect on this host
 * explicitly (ws:/wss: to the Host the page was asked under): CSP 3 lets 'self' match ws: to the same host, but
 * not every browser in use does. A Host that is not a plain host[:port] is left out (then only 'self').
 */
export function consoleCsp(host?: string): string {
  const ws = host && /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "font-src 'self' data:", `connect-src 'self'${ws}`, "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'",
  ].join('; ');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.woff': 'font/woff', '.json': 'application/json',
  '.map': 'application/json', '.ico': 'image/x-icon',
};

/** Which file of the bundle a request asks for, or undefined when it is not the console's (the API answers it). */
export function consoleFile(method: string, url: URL, headers: IncomingMessage['headers']): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (headers.authorization || url.searchParams.has('X-Amz-Signature') || url.searchParams.has('Action')) return undefined;
  const path = url.pathname;
  if (path.startsWith('/assets/')) {
    let rel: string;
    try { rel = normalize(decodeURIComponent(path)).slice(1); } catch { return undefined; }
    return rel.startsWith('assets/') && !rel.includes('\0') ? rel : undefined;
  }
  if (path === '/' || path === '/index.html') return 'index.html';
  const first = path.split('/')[1] ?? '';
  return CONSOLE_ROUTES.includes(first) ? 'index.html' : undefined;
}

/** Answers the request when it is the console's; false when the API should. */
export async function serveConsole(req: IncomingMessage, res: ServerResponse, url: URL, dir = CONSOLE_DIR): Promise<boolean> {
  const file = consoleFile(req.method ?? 'GET', url, req.headers);
  if (!file) return false;
  const headers: Record<string, string> = {
    'content-security-policy': consoleCsp(req.headers.host), 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer',
  };
  let body: Buffer;
  try {
    body = await readFile(join(dir, file));
  } catch {
    const text = file === 'index.html'
      ? 'The Kiln web console is not built: run `npm run setup` (it bundles console/ into dist-console/).\n'
      : 'Not found\n';
    res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' }).end(text);
    return true;
  }
  const immutable = file.startsWith('assets/');
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  // Text is sent gzip'd to a browser that takes it (the bundle is ~2.6 MB, ~0.66 MB gzip'd), compressed once per file.
  const gzip = /^text\/|json|svg/.test(type) && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (gzip) body = await gzipped(join(dir, file), body);
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': String(body.length),
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    vary: 'accept-encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}

/** Gzip'd files by path and size (a rebuilt index.html has a new size or content; hashed assets never change). */
const GZIPPED = new Map<string, { raw: Buffer; gz: Buffer }>();

async function gzipped(path: string, raw: Buffer): Promise<Buffer> {
  const hit = GZIPPED.get(path);
  if (hit && hit.raw.equals(raw)) return hit.gz;
  const gz = await gzipAsync(raw, { level: 9 });
  GZIPPED.set(path, { raw, gz });
  return gz;
}
