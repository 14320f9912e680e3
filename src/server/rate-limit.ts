/**
 * Per-account request rate limits, as EC2 applies them: a token bucket per (account, region, action class); a request
 * takes a token, an empty bucket refuses it (RequestLimitExceeded, HTTP 503, for EC2; Throttling for Auto Scaling;
 * RequestThrottledException for the EBS direct APIs), and tokens come back at the class's refill rate. The SDKs and
 * aws-cli back off and retry on these codes. Sizes are EC2's published defaults times a multiplier (`kiln serve
 * --rate-limit N`, default DEFAULT_MULTIPLIER: a shared Kiln is one host, but its users' tools — Terraform, Packer,
 * a test suite — should never meet a limit EC2 itself would not put on them); `--rate-limit off` turns them off.
 * One account's flood then costs the server a signature check and a short error per request, and the other accounts
 * keep their own buckets.
 */
import { ApiError } from '../api/errors.js';

export type ActionClass = 'non-mutating' | 'unfiltered' | 'mutating' | 'expensive' | 'ebs';

/** EC2's default request buckets (tokens, and tokens per second refilled); the EBS direct APIs' per-account rate. */
export const BUCKETS: Record<ActionClass, { size: number; refill: number }> = {
  'non-mutating': { size: 100, refill: 20 },
  unfiltered: { size: 50, refill: 10 },
  mutating: { size: 200, refill: 10 },
  expensive: { size: 1000, refill: 2 },
  ebs: { size: 1000, refill: 1000 },
};

export const DEFAULT_MULTIPLIER = 50;

/** Actions that start instances or copy disks: EC2's RunInstances-class buckets. */
const EXPENSIVE = new Set([
  'RunInstances', 'StartInstances', 'CreateImage', 'CopyImage', 'RegisterImage', 'CreateSnapshot', 'CreateSnapshots',
  'CopySnapshot', 'CreateVolume', 'CreateRestoreImageTask', 'CreateStoreImageTask', 'StartSnapshot',
  'CreateAutoScalingGroup', 'UpdateAutoScalingGroup', 'SetDesiredCapacity', 'StartInstanceRefresh',
]);

/** A Describe/Get/List with no filter, no ids and no paging: EC2's smaller "unfiltered and unpaginated" bucket. */
function unfiltered(params: URLSearchParams): boolean {
  for (const key of params.keys()) {
    if (/^(Filter|Filters|MaxResults|MaxRecords|NextToken)\b/.test(key) || /Ids?(\.|$)|Names?(\.|$)/.test(key)) return false;
  }
  return true;
}

/** The bucket an EC2 / Auto Scaling Query action draws from. */
export function classify(action: string, params: URLSearchParams): ActionClass {
  if (EXPENSIVE.has(action)) return 'expensive';
  if (/^(Describe|Get|List)/.test(action)) return unfiltered(params) ? 'unfiltered' : 'non-mutating';
  return 'mutating';
}

interface Bucket { tokens: number; at: number; told?: boolean }

export interface RateLimitOptions {
  /** Scales every bucket's size and refill rate; 0 turns the limits off. */
  multiplier: number;
  /** How long a refused request is held before its answer goes out (default THROTTLED_HOLD_MS). */
  holdMs?: number;
  /** For tests: the clock, in milliseconds. */
  now?: () => number;
}

/**
 * A refused request's answer is held this long: a client that retries at once (a flood keeping N requests in flight)
 * then sends N requests per hold rather than as many as the server can answer, and the other accounts keep the CPU.
 * A timer costs nothing; the SDKs wait longer than this before a retry anyway (their throttling backoff).
 */
export const THROTTLED_HOLD_MS = 1000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;

  /** `log` hears once of each bucket that runs dry (until it has tokens again). */
  constructor(private readonly opts: RateLimitOptions = { multiplier: DEFAULT_MULTIPLIER }, private readonly log?: (msg: string) => void) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Takes a token for the request, or says how long (ms) until one is back. */
  take(account: string, region: string, cls: ActionClass): { ok: true } | { ok: false; retryMs: number } {
    const m = this.opts.multiplier;
    if (!(m > 0)) return { ok: true };
    const size = BUCKETS[cls].size * m;
    const refill = BUCKETS[cls].refill * m / 1000;
    const key = `${account}/${region}/${cls}`;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= 10_000) this.prune(now);
      b = { tokens: size, at: now };
    }
    b.tokens = Math.min(size, b.tokens + (now - b.at) * refill);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      b.told = false;
      return { ok: true };
    }
    if (!b.told) this.log?.(`kiln: account ${account} throttled (${cls} requests in ${region}: ${size} at once, ${refill * 1000} a second)`);
    b.told = true;
    return { ok: false, retryMs: Math.ceil((1 - b.tokens) / refill) };
  }

  /** Throws the protocol's throttling error, after the hold, when the request's bucket is empty. */
  async check(account: string, region: string, cls: ActionClass, wire: 'ec2' | 'autoscaling' | 'ebs'): Promise<void> {
    if (this.take(account, region, cls).ok) return;
    await new Promise((res) => setTimeout(res, this.opts.holdMs ?? THROTTLED_HOLD_MS));
    if (wire === 'autoscaling') throw new ApiError('Throttling', 'Rate exceeded', 400);
    if (wire === 'ebs') throw new ApiError('RequestThrottledException', 'Rate exceeded', 400, { Reason: 'ACCOUNT_THROTTLED' });
    throw new ApiError('RequestLimitExceeded', 'Request limit exceeded.', 503);
  }

  /** Forgets buckets unused for a minute (full again by then): many accounts must not grow the map forever. */
  private prune(now: number): void {
    for (const [key, b] of this.buckets) if (now - b.at > 60_000) this.buckets.delete(key);
  }
}

/** `--rate-limit` / KILN_RATE_LIMIT: a multiplier of EC2's buckets (1: EC2's own), or `off`. */
export function parseRateLimit(v: string | undefined): RateLimitOptions {
  if (v === undefined || v === '') return { multiplier: DEFAULT_MULTIPLIER };
  if (v === 'off') return { multiplier: 0 };
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--rate-limit must be a positive multiplier of EC2's limits or 'off', not '${v}'`);
  return { multiplier: n };
}
