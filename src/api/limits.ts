/**
 * How much a client may put in one request, in one place. Checked here, on every parsed EC2 / Auto Scaling Query
 * request before its handler runs (http.ts dispatch): the filters (count, values, value length: every value is a
 * pattern matched against every candidate field of every item) and the length of any list (ids, names). Bounded
 * where they are used, and listed here so that every bound can be found:
 *   - the request body: 1 MiB (server/body.ts MAX_BODY, 413 RequestEntityTooLarge); a list index: 10,000 (protocol/query-parser.ts);
 *   - tags: 50 per resource (TagLimitExceeded), key 1-128, value up to 256 characters (api/tags.ts, services/tags/tags.ts);
 *   - user data: 16 KiB decoded (services/instances/instance-types.ts MAX_USER_DATA_BYTES);
 *   - MaxResults: each action's range (api/paging.ts);
 *   - request rates: server/rate-limit.ts.
 */
import { ApiError } from './errors.js';

export const LIMITS = {
  /** Filters in one request (EC2 answers FilterLimitExceeded past its limits). */
  filters: 50,
  /** Filter values in one request, all filters together. */
  filterValues: 200,
  /** One filter value's length: longer than any field a filter matches (names 128, tag values 256, descriptions 255), escapes included. */
  filterValueLength: 1024,
  /** Items of any one list in a request (ids, names, resources). */
  listItems: 1000,
};

type Wire = 'ec2' | 'autoscaling';

function tooMuch(wire: Wire, code: string, message: string): ApiError {
  return new ApiError(wire === 'autoscaling' ? 'ValidationError' : code, message, 400);
}

function checkFilters(filters: unknown, wire: Wire): void {
  if (!Array.isArray(filters)) return;
  if (filters.length > LIMITS.filters) throw tooMuch(wire, 'FilterLimitExceeded', `The request uses too many filters (at most ${LIMITS.filters}).`);
  let values = 0;
  for (const f of filters as Array<{ Values?: unknown }>) {
    if (!Array.isArray(f?.Values)) continue;
    values += f.Values.length;
    for (const v of f.Values) {
      if (typeof v === 'string' && v.length > LIMITS.filterValueLength) {
        throw tooMuch(wire, 'InvalidParameterValue', `A filter value is longer than ${LIMITS.filterValueLength} characters.`);
      }
    }
  }
  if (values > LIMITS.filterValues) throw tooMuch(wire, 'FilterLimitExceeded', `The request uses too many filter values (at most ${LIMITS.filterValues}).`);
}

function checkLists(value: unknown, path: string, wire: Wire): void {
  if (Array.isArray(value)) {
    if (value.length > LIMITS.listItems) throw tooMuch(wire, 'InvalidParameterValue', `The parameter ${path} has more than ${LIMITS.listItems} items.`);
    value.forEach((v) => checkLists(v, path, wire));
  } else if (value && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) checkLists(v, path ? `${path}.${k}` : k, wire);
  }
}

/** Refuses a parsed Query request that goes past LIMITS, with the code AWS gives (ValidationError for Auto Scaling). */
export function checkLimits(input: Record<string, unknown>, wire: Wire): void {
  checkFilters(input.Filters, wire);
  checkLists(input, '', wire);
}
