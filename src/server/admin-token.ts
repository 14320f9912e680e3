/**
 * The admin token: one secret per data directory that the admin API
 * (admin.ts) takes as `Authorization: Bearer <token>`. Made at first start,
 * kept in <data dir>/admin-token with mode 0600, so whoever may read the data
 * directory may administer the server.
 *
 * So that `kiln accounts` finds a running server's token from any directory
 * on the same host, `kiln serve` also writes a small record per endpoint in
 * the user's Kiln directory (~/.kiln/servers/<host>_<port>.json, or under
 * $KILN_HOME) naming the data directory; the token itself stays in the data
 * directory, readable only by whoever could read it there.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const adminTokenFile = (dataDir: string): string => join(dataDir, 'admin-token');

const tokens = new Map<string, Promise<string>>();

/** The data directory's admin token, made (random, mode 0600) if there is none yet. */
export function ensureAdminToken(dataDir: string): Promise<string> {
  let t = tokens.get(dataDir);
  if (!t) {
    t = readOrCreateToken(adminTokenFile(dataDir));
    tokens.set(dataDir, t);
    t.catch(() => tokens.delete(dataDir));
  }
  return t;
}

async function readOrCreateToken(file: string): Promise<string> {
  const read = async () => {
    const token = (await readFile(file, 'utf8')).trim();
    if (!token) throw new Error(`${file} is empty: remove it and restart kiln to make a new admin token`);
    return token;
  };
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = `kiln_${randomBytes(24).toString('base64url')}`;
  try {
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read(); // another process made it first
    throw err;
  }
}

/** Where the record of the server at `endpoint` (http://host:port) is kept. */
export function serverRecordFile(endpoint: string): string {
  const url = new URL(endpoint);
  const home = process.env.KILN_HOME || join(homedir(), '.kiln');
  return join(home, 'servers', `${url.hostname.replace(/[^A-Za-z0-9.-]/g, '_')}_${url.port || '80'}.json`);
}

/** Records that the server at `endpoint` keeps its data (and admin token) in `dataDir`; returns a function that removes the record. */
export async function recordServer(endpoint: string, dataDir: string): Promise<() => Promise<void>> {
  const file = serverRecordFile(endpoint);
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, JSON.stringify({ endpoint, dataDir, pid: process.pid }) + '\n', { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return () => rm(file, { force: true });
}

/** The data directory of the server recorded for `endpoint`, if one is. */
export async function recordedDataDir(endpoint: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(serverRecordFile(endpoint), 'utf8')) as { dataDir?: string }).dataDir;
  } catch {
    return undefined;
  }
}
