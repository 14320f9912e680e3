/**
 * The data directory is its owner's alone: 0700 directories, 0600 files
 * (kiln.db and its -wal/-shm, packs, volumes, the pool file, keys, tokens,
 * console logs, the runtime state). New files get these modes where they are
 * made (and `kiln serve` runs with umask 077); at each start this walk fixes
 * what an older Kiln or another tool left wider.
 *
 * What the walk leaves alone: mounted guest filesystems (it never crosses into
 * another filesystem but the volume pool), and each instance's metadata
 * directory and resolv.conf, whose modes are what the guest sees at /run/kiln
 * and /etc/resolv.conf (they sit in the instance's 0700 bundle directory,
 * which no other host user can enter).
 */
import { chmod, open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { WalkStats } from '../lib/private-files.js';
import { PRIVATE_FILE, privateDir, tightenTree } from '../lib/private-files.js';
import type { Paths } from '../services/core/context.js';

/**
 * Before the store opens: the data directory 0700 (from then on no other user
 * reaches anything in it), its own entries tightened, and kiln.db made 0600 if
 * it is new (SQLite gives its -wal and -shm the database file's mode).
 */
export async function secureDataDir(paths: Paths): Promise<void> {
  await privateDir(paths.dataDir);
  await (await open(paths.db, 'a', PRIVATE_FILE)).close();
  for (const f of [paths.db, `${paths.db}-wal`, `${paths.db}-shm`]) await chmod(f, PRIVATE_FILE).catch(() => undefined);
  await tightenTree(paths.dataDir, { depth: 1, skip: (p) => isGuestVisible(paths, p) });
}

/**
 * In the background of the start, once the volume pool is mounted: every
 * entry under the data directory (the volume pool's too) tightened. Measured:
 * 1.5 s over 50,000 packs already right, 4 s when every one was 0644.
 */
export function tightenDataDir(paths: Paths): Promise<WalkStats> {
  return tightenTree(paths.dataDir, { skip: (p) => isGuestVisible(paths, p), enter: (p) => p === paths.volumes, keep: (p) => passThrough(paths, p) });
}

/**
 * The data directory and runtime/ keep the others-execute bit an instance's start gave them (runc/userns.ts: runc sets
 * an instance up as its unprivileged host uid, which passes through them): this walk runs beside launches.
 */
function passThrough(paths: Paths, p: string): number {
  return p === paths.dataDir || p === paths.runtime ? 0o001 : 0;
}

/** <runtime>/<instance id>/meta and resolv.conf: what the guest reads at /run/kiln and /etc/resolv.conf. */
function isGuestVisible(paths: Paths, p: string): boolean {
  return dirname(dirname(p)) === paths.runtime && ['meta', 'resolv.conf'].includes(basename(p));
}
