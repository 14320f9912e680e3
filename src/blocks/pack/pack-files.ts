/**
 * The pack store's files on disk, each classified by what the store knows of
 * it: indexed, sealed with its rows still to come, open (tmp/), or unknown.
 * A full disk must never leave a file here that none of these covers.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackFiles } from '../blocks.js';
import { isCode } from './pack-io.js';

/** A pack's file name: its id, 32 hex characters. */
export const PACK_NAME = /^([0-9a-f]{32})\.pack$/;

export async function packFiles(dir: string, indexed: ReadonlySet<string>, sealed: ReadonlySet<string>, open: ReadonlySet<string>): Promise<PackFiles> {
  const out: PackFiles = { indexed: { count: 0, bytes: 0 }, sealed: { count: 0, bytes: 0 }, open: { count: 0, bytes: 0 }, unknown: [] };
  for (const sub of ['packs', 'tmp'] as const) {
    for (const name of await readdir(join(dir, sub))) {
      const bytes = await stat(join(dir, sub, name)).then((s) => s.size, (err) => (isCode(err, 'ENOENT') ? -1 : Promise.reject(err)));
      if (bytes < 0) continue; // sealed (renamed) or removed meanwhile
      const id = PACK_NAME.exec(name)?.[1] ?? '';
      const kind = sub === 'tmp' ? (open.has(id) ? out.open : undefined)
        : indexed.has(id) ? out.indexed : sealed.has(id) ? out.sealed : undefined;
      if (kind) { kind.count++; kind.bytes += bytes; } else out.unknown.push({ file: `${sub}/${name}`, bytes });
    }
  }
  return out;
}
