import { createApp } from '../server/app.js';
import type { DebianImageOptions } from '../server/app.js';
import { adminTokenFile, ensureAdminToken, recordServer } from '../server/admin-token.js';
import { createHttpServer } from '../server/http.js';
import { describeDefaultKeys, guardDefaultKeys } from '../server/default-keys.js';
import { Site } from '../server/origins.js';
import type { RateLimitOptions } from '../server/rate-limit.js';

export interface ServeOptions {
  host: string; port: number; dataDir: string; debian: DebianImageOptions | false; nat: boolean; vpcCidr?: string; pool: 'auto' | 'copy'; poolSizeGiB?: number;
  /** Where the key that seals the accounts' secret keys is kept (default: <data>/kiln.key). */
  keyFile?: string;
  /** More URLs the server answers at (a proxy's, another name's); see server/origins.ts. */
  publicUrls?: string[];
  /** Keep the default account's test/test key even when listening beyond loopback. */
  allowDefaultKeys?: boolean;
  /** Per-account request rates (server/rate-limit.ts). */
  rateLimit?: RateLimitOptions;
}

/** Runs the server until SIGINT/SIGTERM. Instances keep running across restarts; the next start finds them again. */
export async function serve(opts: ServeOptions): Promise<void> {
  // Whatever the server makes (databases, packs, volumes, logs, runtime state) is its owner's alone (docs/security/data.md).
  process.umask(0o077);
  const site = new Site({ bindHost: opts.host, publicUrls: opts.publicUrls });
  const app = await createApp({ dataDir: opts.dataDir, debian: opts.debian, nat: opts.nat, vpcCidr: opts.vpcCidr, pool: opts.pool, poolSizeGiB: opts.poolSizeGiB, keyFile: opts.keyFile });
  const adminToken = await ensureAdminToken(opts.dataDir);
  const missing = await app.ctx.runtime.check();
  if (missing.length) {
    console.error(`kiln: this host cannot run instances yet; the API still works, instance launches will fail:\n  - ${missing.join('\n  - ')}`);
  }
  let ready = false;
  const defaultKeys = await guardDefaultKeys(app.ctx, opts.host, !!opts.allowDefaultKeys);
  const server = createHttpServer({ ctx: app.ctx, ready: () => ready, site, rateLimit: opts.rateLimit });
  await new Promise<void>((res, rej) => { server.once('error', rej); server.listen(opts.port, opts.host, res); });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const endpoint = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  console.log(`kiln: listening on ${endpoint} (data in ${opts.dataDir})`);
  for (const line of describeDefaultKeys(defaultKeys, endpoint, opts.host)) console.log(line);
  console.log(`kiln: admin token (in ${adminTokenFile(opts.dataDir)}; for 'kiln accounts' and 'kiln marketplace'): ${adminToken}`);
  // 'kiln accounts' run from any directory of this host finds the token through this record.
  const unrecord = await recordServer(endpoint, opts.dataDir).catch((err: Error) => {
    console.error(`kiln: could not record this server for the kiln command (${err.message}); pass it --data ${opts.dataDir}`);
    return async () => undefined;
  });
  await app.ready;
  ready = true;
  console.log('kiln: ready');
  await new Promise<void>((res) => {
    const stop = () => res();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('kiln: shutting down');
  await new Promise<void>((res) => server.close(() => res()));
  server.closeAllConnections();
  await unrecord();
  await app.close();
}
