/**
 * Files only their owner may read: the modes Kiln gives what it keeps (the
 * data directory, the runtime state, the image cache) and the walk that
 * tightens what an older Kiln, another tool or a wider umask left readable.
 * Nothing here knows about Kiln's layout: callers say where to stop.
 */
import { chmod, lstat, mkdir, opendir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;
const BATCH = 128;

/** Makes `dir` (and missing parents) and sets `dir` itself to 0700 whatever it was. */
export async function privateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await tighten(dir, await lstat(dir));
}

export interface WalkOptions {
  /** Entries left as they are and not looked into (e.g. files whose modes a guest sees). */
  skip?: (path: string) => boolean;
  /** Mount points the walk may enter although they are another filesystem (the walk never crosses others). */
  enter?: (path: string) => boolean;
  /** How deep to go: 0 only `root` itself, 1 its entries too, ... (default all the way). */
  depth?: number;
  /** Group and other bits an entry keeps where it has them (e.g. the others-execute bit instances pass through). */
  keep?: (path: string) => number;
}

export interface WalkStats { entries: number; changed: number }

/**
 * Every directory under `root` (and `root`) 0700 at most, every file 0600 at
 * most: group and other bits are cleared, the owner's are kept (an executable
 * stays executable for its owner). Streams each directory (opendir), lstat's
 * each entry, never follows a symbolic link, and neither changes nor enters another filesystem
 * than `root`'s except where `enter` allows. Only entries whose mode is wrong are changed.
 */
export async function tightenTree(root: string, opts: WalkOptions = {}): Promise<WalkStats> {
  const stats: WalkStats = { entries: 0, changed: 0 };
  const top = await lstat(root).catch(() => undefined);
  if (!top) return stats;
  const walk = async (path: string, st: Stats, dev: number, depth: number): Promise<void> => {
    // Another filesystem's root (a guest's volume mounted here) keeps the mode its filesystem gives it.
    if (opts.skip?.(path) || (st.dev !== dev && !opts.enter?.(path))) return;
    stats.entries++;
    if (await tighten(path, st, opts.keep?.(path))) stats.changed++;
    if (!st.isDirectory() || depth >= (opts.depth ?? Infinity)) return;
    const dir = await opendir(path).catch(() => undefined);
    if (!dir) return;
    // Streamed, BATCH entries at a time in parallel (a directory of packs can hold tens of thousands).
    let batch: string[] = [];
    const flush = async () => {
      const names = batch;
      batch = [];
      await Promise.all(names.map(async (name) => {
        const child = join(path, name);
        const cst = await lstat(child).catch(() => undefined);
        if (cst) await walk(child, cst, st.dev, depth + 1);
      }));
    };
    for await (const e of dir) {
      batch.push(e.name);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  };
  await walk(root, top, top.dev, 0);
  return stats;
}

/** Clears the group and other bits of one entry (not a symbolic link) but `keep`'s; whether it changed it. */
async function tighten(path: string, st: Stats, keep = 0): Promise<boolean> {
  if (st.isSymbolicLink() || (st.mode & 0o077 & ~keep) === 0) return false;
  const max = (st.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE | (st.mode & 0o100)) | keep;
  await chmod(path, st.mode & max); // set-id and sticky bits go too
  return true;
}
