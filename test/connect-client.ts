/**
 * The client side of Instances > Connect for tests: the presigned ws:// URL the console opens, a `ws` client that
 * tells an upgrade from a refusal, and a terminal that collects what the shell printed.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';
import { until } from './harness.js';
import { Sha256 } from './sha256.js';

export const TEST_KEYS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface ConnectOptions {
  keys?: typeof TEST_KEYS;
  region?: string;
  expiresIn?: number;
  /** More query parameters, signed with the rest (cols, rows). */
  query?: Record<string, string>;
}

/** The ws:// URL of `instance`'s terminal on the server at `endpoint`: presigned (query string) for ec2 in `region`. */
export async function connectUrl(endpoint: string, instance: string, opts: ConnectOptions = {}): Promise<string> {
  const { hostname, port, host } = new URL(endpoint);
  const signer = new SignatureV4({ service: 'ec2', region: opts.region ?? 'us-east-1', credentials: opts.keys ?? TEST_KEYS, sha256: Sha256 });
  const signed = await signer.presign({
    method: 'GET', protocol: 'ws:', hostname, port: Number(port), path: `/_kiln/connect/${instance}`,
    query: opts.query ?? {}, headers: { host },
  }, { expiresIn: opts.expiresIn ?? 60 });
  return `ws://${host}${signed.path}?${new URLSearchParams(signed.query as Record<string, string>)}`;
}

/** Opens `url`: the socket once upgraded, or the HTTP status it was refused with. */
export function open(url: string): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
    ws.once('error', reject);
  });
}

/** A terminal over `ws`: keys typed (binary frames), a resize (the one text frame), waits on its output, its close code. */
export function terminal(ws: WebSocket) {
  let out = '';
  ws.on('message', (d: Buffer) => { out += d.toString('utf8'); });
  const closed = new Promise<number>((res) => ws.once('close', (code) => res(code)));
  return {
    type: (s: string) => ws.send(Buffer.from(s)),
    resize: (cols: number, rows: number) => ws.send(JSON.stringify({ type: 'resize', cols, rows })),
    waitFor: (re: RegExp, ms = 20_000) => until(`the terminal to show ${re}`, async () => re.exec(out) ?? undefined, ms, 50),
    /** Asks the shell its terminal's size until it is `rows cols` (a resize reaches it through a SIGWINCH). */
    sizeIs: (rows: number, cols: number) => until(`the shell's terminal to be ${rows}x${cols}`, async () => {
      ws.send(Buffer.from('echo "size=$(stty size)"\r'));
      await new Promise((r) => setTimeout(r, 200));
      return out.includes(`size=${rows} ${cols}`);
    }, 10_000, 100),
    closed,
  };
}
