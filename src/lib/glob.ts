/**
 * EC2's filter wildcards without regular expressions: `*` matches any run of characters (none included), `?` exactly
 * one, `\` makes the next character literal (a trailing `\` is itself), everything else matches itself,
 * case-sensitively. A backtracking RegExp built from such a pattern (`*a*a*a*…b`) takes exponential time on a
 * near-miss, which stalls the whole server; here the pattern is cut at its stars into segments, which are placed
 * leftmost, one after the other, with no backtracking (the leftmost place of a segment never rules out a match a
 * later place would allow). Worst case O(text × pattern) character comparisons; V8's indexOf for segments with no `?`.
 */

const ANY = -1;

/** A segment: code units, ANY for `?`; `text` is the segment as a string when it has no `?` (for indexOf). */
interface Segment { units: number[]; text?: string }
interface Compiled { segments: Segment[]; starred: boolean }

export interface Glob { test(text: string): boolean }

function compile(pattern: string): Compiled {
  const segments: Segment[] = [];
  let units: number[] = [];
  let literal = '';
  let hasAny = false;
  const close = () => {
    segments.push(hasAny ? { units } : { units, text: literal });
    units = [];
    literal = '';
    hasAny = false;
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x2a /* * */) close();
    else if (c === 0x3f /* ? */) { units.push(ANY); hasAny = true; }
    else {
      const literalAt = c === 0x5c /* \ */ && i + 1 < pattern.length ? ++i : i;
      units.push(pattern.charCodeAt(literalAt));
      literal += pattern[literalAt];
    }
  }
  close();
  return { segments, starred: segments.length > 1 };
}

function matchesAt(seg: Segment, text: string, at: number): boolean {
  if (at < 0 || at + seg.units.length > text.length) return false;
  for (let j = 0; j < seg.units.length; j++) {
    const u = seg.units[j]!;
    if (u !== ANY && u !== text.charCodeAt(at + j)) return false;
  }
  return true;
}

/** The leftmost place at or after `from` where the segment matches, wholly before `end`; -1 if none. */
function find(seg: Segment, text: string, from: number, end: number): number {
  const last = end - seg.units.length;
  if (seg.text !== undefined) {
    const i = text.indexOf(seg.text, from);
    return i >= 0 && i <= last ? i : -1;
  }
  for (let i = from; i <= last; i++) if (matchesAt(seg, text, i)) return i;
  return -1;
}

function run({ segments, starred }: Compiled, text: string): boolean {
  const first = segments[0]!;
  if (!starred) return first.units.length === text.length && matchesAt(first, text, 0);
  const lastSeg = segments[segments.length - 1]!;
  const end = text.length - lastSeg.units.length;
  if (end < first.units.length || !matchesAt(first, text, 0) || !matchesAt(lastSeg, text, end)) return false;
  let pos = first.units.length;
  for (let k = 1; k < segments.length - 1; k++) {
    const seg = segments[k]!;
    const at = find(seg, text, pos, end);
    if (at < 0) return false;
    pos = at + seg.units.length;
  }
  return true;
}

const cache = new Map<string, Compiled>();

/** The matcher for an EC2 filter value (compiled patterns are cached, a bounded number). */
export function glob(pattern: string): Glob {
  let compiled = cache.get(pattern);
  if (!compiled) {
    compiled = compile(pattern);
    if (cache.size >= 1000) cache.clear();
    cache.set(pattern, compiled);
  }
  const c = compiled;
  return { test: (text: string) => run(c, text) };
}
