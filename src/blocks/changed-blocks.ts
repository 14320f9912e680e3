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
import { BLOCK_SIZE } from './blocks.js';
import type { Extent } from './fiemap.js';
import { fileExtents } from './fiemap.js';

const SECTOR = 512;

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
  const [ec, eb] = await Promise.all([fileExtents(copy, { sync: true }), fileExtents(base, { sync: true })]);
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
