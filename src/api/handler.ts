/**
 * api: one handler per EC2 action (handlers/), mapping the request to one
 * service call and the result to the SDK's shape through the views of each
 * resource (views/), and the AWS error registry (errors.ts). Imports model/,
 * services/ and protocol/; handlers never import each other (docs/architecture.md).
 */
import type { Caller, Context } from '../services/core/context.js';
import { ApiError } from './errors.js';

/** Extra facts about the HTTP request that a few actions answer with. */
export interface RequestInfo { host: string; requestId: string }

/**
 * One function per EC2 action, typed with the SDK's own request and result
 * types. It returns a plain object; the protocol layer serializes it.
 */
export type Handler<I = any, O = object> = (ctx: Context, caller: Caller, input: I, req: RequestInfo) => Promise<O>;

export function required<T>(value: T | undefined | null, name: string): T {
  if (value === undefined || value === null || (typeof value === 'string' && value === '')) {
    throw new ApiError('MissingParameter', `The request must contain the parameter ${name}`);
  }
  return value;
}
