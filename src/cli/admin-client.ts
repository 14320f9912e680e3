/**
 * What `kiln accounts` and `kiln marketplace` share: finding the server and
 * its admin token, and calling the admin API (src/server/admin.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { adminTokenFile, recordedDataDir } from '../server/admin-token.js';

/** parseArgs options every admin command takes. */
export const ADMIN_OPTIONS = {
  endpoint: { type: 'string' },
  'admin-token': { type: 'string' },
  data: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const ADMIN_USAGE = `  common options: --endpoint URL (default $KILN_ENDPOINT or http://127.0.0.1:4747)
                  --admin-token TOKEN (default: --data DIR's admin-token file, else $KILN_ADMIN_TOKEN,
                  else the admin-token file in $KILN_DATA_DIR, else in the data directory of the
                  server kiln serve recorded for the endpoint on this host, else in ./.kiln)`;

export interface AdminTarget { endpoint: string; token: string }

/** A usage mistake: the command prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/** The admin API answered with an error. */
export class AdminApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) { super(message); }
}

export async function adminTarget(values: { endpoint?: string; 'admin-token'?: string; data?: string }): Promise<AdminTarget> {
  const endpoint = (values.endpoint ?? process.env.KILN_ENDPOINT ?? 'http://127.0.0.1:4747').replace(/\/+$/, '');
  if (values['admin-token']) return { endpoint, token: values['admin-token'] };
  if (!values.data && process.env.KILN_ADMIN_TOKEN) return { endpoint, token: process.env.KILN_ADMIN_TOKEN };
  const dataDir = values.data ?? process.env.KILN_DATA_DIR ?? await recordedDataDir(endpoint) ?? '.kiln';
  const file = adminTokenFile(resolve(dataDir));
  try {
    return { endpoint, token: (await readFile(file, 'utf8')).trim() };
  } catch (err) {
    throw new UsageError(`no admin token: could not read ${file} (${(err as NodeJS.ErrnoException).code}); `
      + 'pass --admin-token, set KILN_ADMIN_TOKEN, or --data DIR of the server');
  }
}

/** Calls the admin API; resolves with the parsed JSON answer, throws AdminApiError for an error answer. */
export async function adminCall(target: AdminTarget, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(`${target.endpoint}/_kiln/admin/${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(`cannot reach kiln at ${target.endpoint}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: any;
  try { parsed = text ? JSON.parse(text) : {}; } catch { parsed = undefined; }
  if (!res.ok) {
    const e = parsed?.error;
    throw new AdminApiError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? text.slice(0, 200));
  }
  if (parsed === undefined) throw new Error(`kiln at ${target.endpoint} did not answer JSON`);
  return parsed;
}

/** Prints a result as indented JSON (readable, and parseable by scripts). */
export const print = (value: unknown): void => console.log(JSON.stringify(value, null, 2));

/** Runs one admin subcommand, turning its errors into exit codes: 2 usage, 1 refused or failed. */
export async function runAdminCommand(usage: string, fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`kiln: ${(err as Error).message}\n${usage}`);
      return 2;
    }
    if (err instanceof AdminApiError) {
      console.error(`kiln: ${err.code} (HTTP ${err.status}): ${err.message}`);
      return 1;
    }
    throw err;
  }
}
