import { ApiError } from './errors.js';

export interface Page<T> { items: T[]; nextToken?: string }

/**
 * MaxResults/NextToken over an already ordered list. The token is opaque to
 * clients; it names the offset and the list's kind so a token from one call
 * is refused by another.
 */
export function paginate<T>(items: T[], kind: string, maxResults: number | undefined, nextToken: string | undefined,
  limits: { min: number; max: number; capAtMax?: boolean }): Page<T> {
  // Some actions (DescribeVolumes) return at most `max` items when asked for more, rather than refusing.
  if (maxResults !== undefined && limits.capAtMax) maxResults = Math.min(maxResults, limits.max);
  if (maxResults !== undefined && (maxResults < limits.min || maxResults > limits.max)) {
    throw new ApiError('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Parameter must be between ${limits.min} and ${limits.max}.`);
  }
  let offset = 0;
  if (nextToken) {
    try {
      const t = JSON.parse(Buffer.from(nextToken, 'base64url').toString('utf8')) as { k?: string; o?: number };
      if (t.k !== kind || !Number.isInteger(t.o) || t.o! < 0) throw new Error('bad token');
      offset = t.o!;
    } catch {
      throw new ApiError('InvalidPaginationToken', `Invalid pagination token: ${nextToken}`);
    }
  }
  if (maxResults === undefined && !nextToken) return { items };
  const end = maxResults === undefined ? items.length : offset + maxResults;
  const page = items.slice(offset, end);
  const next = end < items.length ? Buffer.from(JSON.stringify({ k: kind, o: end })).toString('base64url') : undefined;
  return { items: page, nextToken: next };
}
