/**
 * Test harness: a real Kiln server on a loopback port over a fresh data
 * directory, and clients pointed at it the way a user points them.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EC2Client } from '@aws-sdk/client-ec2';
import type { AppOptions } from '../src/server/app.js';
import { createApp } from '../src/server/app.js';
import type { App } from '../src/server/app.js';
import { createHttpServer } from '../src/server/http.js';

const execFileP = promisify(execFile);

export interface Kiln {
  endpoint: string;
  app: App;
  dataDir: string;
  client(region?: string, creds?: { accessKeyId: string; secretAccessKey: string }): EC2Client;
  close(): Promise<void>;
}

export async function startKiln(opts: Partial<AppOptions> = {}): Promise<Kiln> {
  const dataDir = opts.dataDir ?? await mkdtemp(join(tmpdir(), 'kiln-test-'));
  const app = await createApp({ dataDir, log: () => undefined, ...opts });
  await app.ready;
  const server = createHttpServer({ ctx: app.ctx, ready: () => true });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint, app, dataDir,
    client: (region = 'us-east-1', creds = { accessKeyId: 'test', secretAccessKey: 'test' }) =>
      new EC2Client({ endpoint, region, credentials: creds, maxAttempts: 1 }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
      await stopAllInstances(app);
      await app.close();
      await app.ctx.pool.release();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `kiln serve` as a user starts it (the package's bin), in its own process over `dataDir`. */
export interface KilnProcess {
  endpoint: string;
  proc: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  /** Sends `signal` (SIGTERM: a clean shutdown; SIGKILL: a crash) and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `args`: more `kiln serve` arguments; by default no Debian image (most tests do not need its build).
 * Never NAT: no test's instance may reach beyond the host. The copy pool: a loop-mounted pool would outlive the
 * process (as it must for a user's instances) and its data directory (test/pool.test.ts tests the pool).
 */
export async function spawnKiln(dataDir: string, args = ['--no-debian']): Promise<KilnProcess> {
  const proc = spawn(process.execPath, ['bin/kiln.js', 'serve', '--port', '0', '--data', dataDir, '--no-nat', '--pool', 'copy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  const endpoint = await until('kiln to listen', async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 60_000, 50);
  await until('kiln to be ready', async () => (await fetch(`${endpoint}/_kiln/health`)).status === 200, 120_000, 100);
  return {
    endpoint, proc, output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** Tests never leave a container or mount behind, whatever they did. */
export async function stopAllInstances(app: App): Promise<void> {
  await app.ctx.tasks.idle();
  for (const id of await app.ctx.runtime.list().catch(() => [] as string[])) await app.ctx.runtime.stop(id, 0);
}

/** Runs the real AWS CLI v2 against `endpoint`, returning parsed JSON (or raw text). */
export async function aws(endpoint: string, args: string[], opts: { region?: string; keys?: [string, string]; cwd?: string } = {}): Promise<any> {
  const [id, secret] = opts.keys ?? ['test', 'test'];
  // --endpoint-url on every call: Debian's aws-cli 2.9 ignores AWS_ENDPOINT_URL, and a test must never reach AWS.
  const { stdout } = await execFileP(AWS_CLI, [...args, '--endpoint-url', endpoint, '--output', 'json'], {
    cwd: opts.cwd,
    env: {
      PATH: process.env.PATH, HOME: process.env.HOME, AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret,
      AWS_DEFAULT_REGION: opts.region ?? 'us-east-1', AWS_ENDPOINT_URL: endpoint, AWS_PAGER: '',
      AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true',
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  const text = stdout.trim();
  if (!text) return undefined;
  try { return JSON.parse(text); } catch { return text; }
}

export const AWS_CLI = '/usr/bin/aws';

/** The AWS error code an aws-cli call failed with ("An error occurred (Code)"), or 'none' when it succeeded. */
export async function awsErrorCode(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'none';
  } catch (err) {
    return /An error occurred \(([^)]+)\)/.exec(String((err as { stderr?: string }).stderr ?? err))?.[1] ?? String(err);
  }
}

/** Runs a shell command inside a running instance (runc exec), as an operator's shell would; its stdout. */
export async function inInstance(kiln: Kiln, id: string, cmd: string): Promise<string> {
  const { stdout } = await execFileP('runc', ['--root', join(kiln.dataDir, 'runtime', 'runc'), 'exec', id, 'sh', '-c', cmd]);
  return stdout;
}

/** Polls `fn` until it returns a truthy value (tests wait on real boots, not on sleeps). */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) { last = err; }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * GET `url` on a connection of its own, given up (the socket destroyed) after
 * `timeoutMs`. Not fetch(): undici keeps an aborted request's connect going
 * and hands the next request to the same origin that half-open socket, so a
 * probe made after a firewall opens could wait on a SYN sent while it was
 * still closed.
 */
export function httpGet(url: string, timeoutMs = 1500): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => resolve(body)).on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`))).on('error', reject).end();
  });
}
