/**
 * The admin token: one secret per data directory that the admin API
 * (admin.ts) takes as `Authorization: Bearer <token>`. Made at first start,
 * kept in <data dir>/admin-token with mode 0600, so whoever may read the data
 * directory may administer the server.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
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
