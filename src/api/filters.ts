/**
 * EC2's Filter semantics over any record type: a filter matches when any of
 * its values matches (OR), a record passes when every filter matches (AND),
 * comparisons are case-sensitive, and values may use `*` (any run) and `?`
 * (one character) wildcards, `\` escaping them. `tag:KEY` and `tag-key` work
 * for every record that has tags.
 */
import type { Filter } from '@aws-sdk/client-ec2';
import type { Tag } from '../model/records.js';
import { ApiError } from './errors.js';
import { glob } from '../lib/glob.js';
import type { Glob } from '../lib/glob.js';

type Scalar = string | number | boolean | undefined | null;
export type FieldValue = Scalar | Scalar[];
export type FilterFields<T> = Record<string, (item: T) => FieldValue>;

/** The matcher for one filter value (src/lib/glob.ts: linear, no backtracking RegExp). */
export function wildcard(pattern: string): Glob {
  return glob(pattern);
}

function asStrings(v: FieldValue): string[] {
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is string | number | boolean => x !== undefined && x !== null).map(String);
}

/** Keeps the items every filter matches; unknown filter names are an InvalidParameterValue, as on AWS. */
export function applyFilters<T>(items: T[], filters: Filter[] | undefined, fields: FilterFields<T>, tags?: (item: T) => Tag[]): T[] {
  if (!filters?.length) return items;
  const tests = filters.map((f) => compile(f, fields, tags));
  return items.filter((item) => tests.every((t) => t(item)));
}

function compile<T>(f: Filter, fields: FilterFields<T>, tags?: (item: T) => Tag[]): (item: T) => boolean {
  const name = f.Name;
  if (!name) throw new ApiError('InvalidParameterValue', 'The filter name must not be empty');
  const values = (f.Values ?? []).map(wildcard);
  if (!values.length) throw new ApiError('InvalidParameterValue', `The filter '${name}' must have at least one value`);
  const any = (candidates: string[]) => candidates.some((c) => values.some((re) => re.test(c)));
  if (tags && name.startsWith('tag:')) {
    const key = name.slice(4);
    return (item) => any(tags(item).filter((t) => t.key === key).map((t) => t.value));
  }
  if (tags && name === 'tag-key') return (item) => any(tags(item).map((t) => t.key));
  if (tags && name === 'tag-value') return (item) => any(tags(item).map((t) => t.value));
  const field = fields[name];
  if (!field) throw new ApiError('InvalidParameterValue', `The filter '${name}' is invalid`);
  return (item) => any(asStrings(field(item)));
}
