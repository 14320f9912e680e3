/**
 * A file's extents from FIEMAP, as e2fsprogs' `filefrag -e` prints them
 * (Node has no ioctl). Trusted only when the report is whole: filefrag
 * succeeded and printed its summary, every extent line parses, the last
 * extent carries FIEMAP's `last` flag, and "no extents" comes from a file
 * with no data (filefrag falls back to FIBMAP without a word where FIEMAP
 * fails, and FIBMAP knows nothing of holes or reflinks).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** e2fsprogs lives in /usr/sbin, which a non-root PATH may lack. */
const FILEFRAG = existsSync('/usr/sbin/filefrag') ? '/usr/sbin/filefrag' : 'filefrag';

/** One extent in 512-byte units: logical start, physical start, length; `exact`: its physical address is known. */
export interface Extent { logical: number; physical: number; length: number; exact: boolean; unwritten: boolean }

/** The file's extents (flushed first with `sync`), or undefined when FIEMAP is not available or the report is incomplete. */
export async function fileExtents(path: string, opts: { sync?: boolean } = {}): Promise<Extent[] | undefined> {
  let out: string;
  try {
    out = (await run(FILEFRAG, [...(opts.sync ? ['-s'] : []), '-e', '-b512', path], { maxBuffer: 256 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
  if (!/ extents? found\s*$/.test(out)) return undefined;
  const rows = [...out.matchAll(/^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):\s*(?:\d+:)?\s*(\S*)\s*$/gm)];
  if ((out.match(/^\s*\d+:/gm) ?? []).length !== rows.length) return undefined;
  if (!rows.length && (await stat(path).then((s) => s.blocks, () => 1)) > 0) return undefined;
  if (rows.length && !/\blast\b/.test(rows[rows.length - 1][6])) return undefined;
  return rows.map(([, ls, le, ps, , , flags]) => ({
    logical: Number(ls), physical: Number(ps), length: Number(le) - Number(ls) + 1,
    exact: !/delalloc|unknown_loc|inline|encoded|not_aligned|data_inline|encrypted|merged/.test(flags),
    unwritten: /unwritten/.test(flags),
  }));
}

