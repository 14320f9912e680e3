/**
 * Which 512 KiB blocks of a volume copy can differ from the base it was
 * cloned from, by the files' physical extents (FIEMAP, as e2fsprogs'
 * `filefrag -e` prints it), without reading any data: a block is unchanged
 * when every byte of it maps, in both files, to the same physical address,
 * or is a hole in both. A shared extent alone proves nothing (the flag says
 * only "reference count > 1"); equal addresses do, on a filesystem that
 * copies on write, for a base nobody writes. Extents whose address is not
 * known yet (delayed allocation, inline, encoded) count as changed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BLOCK_SIZE } from './blocks.js';

const run = promisify(execFile);
const FILEFRAG = existsSync('/usr/sbin/filefrag') ? '/usr/sbin/filefrag' : 'filefrag';
const SECTOR = 512;

/** One extent in 512-byte units: logical start, physical start, length; `exact`: its physical address is known. */
export interface Extent { logical: number; physical: number; length: number; exact: boolean; unwritten: boolean }

/** The file's extents, or undefined when FIEMAP is not available or the report is incomplete. */
export async function fileExtents(path: string): Promise<Extent[] | undefined> {
  let out: string;
  try {
    out = (await run(FILEFRAG, ['-s', '-e', '-b512', path], { maxBuffer: 256 * 1024 * 1024 })).stdout;
  } catch {
    return undefined;
  }
  if (!/ extents? found\s*$/.test(out)) return undefined;
  const rows = [...out.matchAll(/^\s*\d+:\s*(\d+)\.\.\s*(\d+):\s*(\d+)\.\.\s*(\d+):\s*(\d+):\s*(?:\d+:)?\s*(\S*)\s*$/gm)];
  // Fail closed: every extent line must parse, and "no extents" must mean the file has no data at all
  // (filefrag falls back to FIBMAP without a word where FIEMAP fails, and FIBMAP knows nothing of reflinks).
  if ((out.match(/^\s*\d+:/gm) ?? []).length !== rows.length) return undefined;
  if (!rows.length && (await stat(path).then((s) => s.blocks, () => 1)) > 0) return undefined;
  if (rows.length && !/\blast\b/.test(rows[rows.length - 1][6])) return undefined;
  return rows.map(([, ls, le, ps, , , flags]) => ({
    logical: Number(ls), physical: Number(ps), length: Number(le) - Number(ls) + 1,
    exact: !/delalloc|unknown_loc|inline|encoded|not_aligned|data_inline|encrypted|merged/.test(flags),
    unwritten: /unwritten/.test(flags),
  }));
}

/** What a sector range maps to: a physical address (per sector linear), a hole, or unknown. */
type Piece = { start: number; end: number; physical?: number; unwritten?: boolean; unknown?: boolean };

/** The pieces of [from, to) in sectors: extents, and holes between them. */
function pieces(extents: Extent[], from: number, to: number, startAt: { i: number }): Piece[] {
  const out: Piece[] = [];
  let at = from;
  while (startAt.i < extents.length && extents[startAt.i].logical + extents[startAt.i].length <= from) startAt.i++;
  for (let i = startAt.i; i < extents.length && at < to; i++) {
    const e = extents[i];
    if (e.logical >= to) break;
    if (e.logical > at) { out.push({ start: at, end: e.logical }); at = e.logical; }
    const end = Math.min(to, e.logical + e.length);
    if (end > at) {
      out.push({ start: at, end, physical: e.physical + (at - e.logical), unwritten: e.unwritten, unknown: !e.exact });
      at = end;
    }
  }
  if (at < to) out.push({ start: at, end: to });
  return out;
}

/** Whether the two files map every sector of [from, to) alike. */
function sameMapping(a: Piece[], b: Piece[]): boolean {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const pa = a[i], pb = b[j];
    const at = Math.max(pa.start, pb.start);
    if (pa.unknown || pb.unknown) return false;
    const holeA = pa.physical === undefined, holeB = pb.physical === undefined;
    if (holeA !== holeB) return false;
    if (!holeA && (pa.physical! + (at - pa.start) !== pb.physical! + (at - pb.start) || pa.unwritten !== pb.unwritten)) return false;
    if (pa.end <= pb.end) i++;
    if (pb.end <= pa.end) j++;
  }
  return true;
}

/**
 * Indexes of the BLOCK_SIZE blocks of `copy` (`size` bytes) that may differ
 * from `base`; undefined when either file's extents are not known (then
 * every block must be read). Blocks past the base's end always count.
 */
export async function changedBlocks(copy: string, base: string, size: number, baseSize: number): Promise<Set<number> | undefined> {
  const [ec, eb] = await Promise.all([fileExtents(copy), fileExtents(base)]);
  if (!ec || !eb) return undefined;
  const changed = new Set<number>();
  const count = Math.ceil(size / BLOCK_SIZE);
  const per = BLOCK_SIZE / SECTOR;
  const ic = { i: 0 }, ib = { i: 0 };
  for (let b = 0; b < count; b++) {
    const from = b * per;
    const to = Math.min((b + 1) * per, Math.ceil(size / SECTOR));
    // A volume grown past its base: the blocks the base does not wholly cover are read.
    if (size !== baseSize && (b + 1) * BLOCK_SIZE > baseSize) { changed.add(b); continue; }
    if (!sameMapping(pieces(ec, from, to, ic), pieces(eb, from, to, ib))) changed.add(b);
  }
  return changed;
}
