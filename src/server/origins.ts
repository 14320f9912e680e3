/**
 * Which names the server answers to, and which web pages may talk to it: the defence against another origin's page
 * in the user's browser (which knows the well-known test/test keys as well as anyone).
 *
 * Host: a request must name the server as its clients do. Allowed: `localhost` and loopback addresses (127.0.0.0/8,
 * [::1]) with the server's own port; the address the connection arrived on (the bind address, or any address of a
 * wildcard bind reached by its IP); the `--host` value; and every `--public-url` (a reverse proxy's name, with
 * its port). Any other Host (DNS rebinding: a page on attacker.example whose name now resolves to 127.0.0.1) gets 421.
 * aws-cli, the SDKs, Terraform and Packer send the endpoint URL's host[:port], so they pass unchanged.
 *
 * Origin and Sec-Fetch-Site: a browser names the page a request comes from. One with an Origin that is not one of
 * the server's own (the same allow-list, with the scheme's default port), or a Sec-Fetch-Site other than
 * same-origin or none (a user's own navigation), is refused with 403, Connect's WebSocket upgrade included; only a
 * GET navigation (a link to the console followed from another site) passes. Clients that are not browsers send
 * neither header and are not affected.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { serializeError } from '../protocol/protocol.js';

export interface Refusal { status: number; code: string; message: string }

/** What a request carries that says where it is from, and where it arrived (the socket's local address and port). */
export interface Arrival {
  method?: string;
  headers: { host?: string; origin?: string; 'sec-fetch-site'?: string | string[]; 'sec-fetch-mode'?: string | string[] };
  local: { address?: string; port?: number };
}

export interface SiteOptions {
  /** `kiln serve --host`: a name (or address) the server is also called by. */
  bindHost?: string;
  /** `kiln serve --public-url`: URLs the server is reached at through a proxy or another name. */
  publicUrls?: string[];
}

const SAME = new Set(['same-origin', 'none']);

export class Site {
  private readonly names = new Set<string>();
  /** host:port of each public URL, lower-cased. */
  private readonly publicHosts = new Set<string>();
  /** The names of public URLs on their scheme's default port (a Host without a port: behind a TLS proxy, https's 443). */
  private readonly publicDefaultNames = new Set<string>();

  constructor(opts: SiteOptions = {}) {
    const bind = unbracket((opts.bindHost ?? '').toLowerCase());
    // A wildcard too: `kiln serve --host 0.0.0.0` prints (and records for `kiln accounts`) http://0.0.0.0:port.
    if (bind) this.names.add(bind);
    for (const u of opts.publicUrls ?? []) {
      const url = publicUrl(u);
      this.publicHosts.add(`${unbracket(url.hostname)}:${url.port || defaultPort(url.protocol)}`);
      if (!url.port) this.publicDefaultNames.add(unbracket(url.hostname));
    }
  }

  /** Why the request is refused before anything reads it, or undefined when it may go on. */
  refusal(req: Arrival): Refusal | undefined {
    const host = req.headers.host;
    if (host !== undefined && !this.hostAllowed(host, req.local)) {
      return { status: 421, code: 'MisdirectedRequest', message: `This server does not answer to the host '${host.slice(0, 100)}' (kiln serve --public-url names more)` };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.local)) {
      return { status: 403, code: 'AccessDenied', message: `Requests from the web page at ${origin.slice(0, 100)} are not accepted: it is not this server's origin` };
    }
    const fetchSite = String(req.headers['sec-fetch-site'] ?? 'none');
    // A link to the console on another site's page is followed (a GET navigation has no effect: a presigned URL is refused).
    const navigation = (req.method === 'GET' || req.method === 'HEAD') && req.headers['sec-fetch-mode'] === 'navigate';
    if (!SAME.has(fetchSite) && !navigation) {
      return { status: 403, code: 'AccessDenied', message: `Requests a browser sends for another site's page (Sec-Fetch-Site: ${fetchSite.slice(0, 20)}) are not accepted` };
    }
    return undefined;
  }

  /** Whether `authority` (a Host header: name[:port]) names this server, for a connection that arrived at `local`. */
  hostAllowed(authority: string, local: Arrival['local'], defaultPortOf = 80): boolean {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(authority.trim());
    if (!m) return false;
    const name = unbracket(m[1]!.toLowerCase().replace(/\.$/, ''));
    const port = m[2] ? Number(m[2]) : defaultPortOf;
    if (this.publicHosts.has(`${name}:${port}`) || (!m[2] && this.publicDefaultNames.has(name))) return true;
    if (port !== local.port) return false;
    return name === 'localhost' || isLoopback(name) || this.names.has(name) || (isIP(name) > 0 && name === plainAddress(local.address));
  }

  /** Whether a browser's Origin header is one of this server's own (http or https, with the scheme's default port). */
  originAllowed(origin: string, local: Arrival['local']): boolean {
    let url: URL;
    try { url = new URL(origin); } catch { return false; }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '' || origin !== url.origin) return false;
    return this.hostAllowed(url.host, local, defaultPort(url.protocol));
  }
}

/** A `--public-url` value as a URL; throws with the reason for anything but an http(s) URL with no path beyond '/'. */
export function publicUrl(value: string): URL {
  let url: URL;
  try { url = new URL(value); } catch { throw new Error(`--public-url must be a URL such as https://kiln.example.com, not '${value}'`); }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`--public-url must be an http(s) URL of the server's root, not '${value}'`);
  }
  return url;
}

/** Whether `host` (a `--host` value) listens on loopback only: a loopback address or `localhost`. */
export function isLoopbackBind(host: string): boolean {
  const name = unbracket(host.toLowerCase());
  return name === 'localhost' || isLoopback(name);
}

function isLoopback(name: string): boolean {
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || /^::ffff:127\./.test(name);
  return false;
}

/** A socket's local address without the IPv4-mapped prefix (a dual-stack listener reports ::ffff:127.0.0.1). */
function plainAddress(address: string | undefined): string {
  return (address ?? '').toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

function unbracket(name: string): string {
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

/** Answers a refused request in the envelope its path expects: JSON for Kiln's own APIs, EC2's XML otherwise. */
export function sendRefusal(res: ServerResponse, refusal: Refusal, pathname: string): void {
  const json = pathname.startsWith('/_kiln/');
  const body = json ? `${JSON.stringify({ error: { code: refusal.code, message: refusal.message } })}\n`
    : serializeError(refusal.code, refusal.message, randomUUID(), 'ec2', refusal.status);
  res.writeHead(refusal.status, {
    'content-type': json ? 'application/json' : 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(body), connection: 'close',
  }).end(body);
}

/** What `refusal` reads of a request. */
export function arrival(req: IncomingMessage): Arrival {
  return { method: req.method, headers: req.headers, local: { address: req.socket.localAddress, port: req.socket.localPort } };
}
