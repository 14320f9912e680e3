/**
 * What the EBS direct APIs keep besides the store: the uploads in progress
 * (in memory: a server restart fails them, as AWS's timeout does), their
 * blocks for the pruner's live set, and the data directory's secret that
 * signs block and page tokens. Errors speak the EBS direct APIs' own codes
 * and reasons (the API edge passes them through).
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockHash, BlockMap, BlockWriter } from '../../blocks/blocks.js';
import type { Context } from '../core/context.js';

export type EbsErrorCode = 'ValidationException' | 'ResourceNotFoundException' | 'AccessDeniedException' | 'ConflictException' | 'InternalServerException';

/** An EBS direct API error: its code and, where the model has one, its Reason (ValidationExceptionReason ...). */
export class EbsError extends Error {
  constructor(readonly code: EbsErrorCode, readonly reason: string | undefined, message: string) { super(message); }
}

export const invalid = (reason: string, message: string) => new EbsError('ValidationException', reason, message);

/** A snapshot being written through PutSnapshotBlock, until CompleteSnapshot (or its timeout). */
export interface Upload {
  snapshotId: string;
  account: string;
  region: string;
  /** GiB, and the number of 512 KiB blocks that makes. */
  volumeSize: number;
  blockCount: number;
  /** The parent's blocks: the snapshot starts with them (ParentSnapshotId). */
  parent?: BlockMap;
  /** Every block index written so far: its id in the block store, or null for a block of zeros. */
  written: Map<number, BlockHash | null>;
  /** The SHA-256 of every block written (the checksums sent; the id of an encrypted block is not its SHA-256). */
  sums: Map<number, string>;
  writer: BlockWriter;
  /** Puts whose data is being stored; CompleteSnapshot waits for them. */
  inflight: Set<Promise<unknown>>;
  /** CompleteSnapshot has begun: no more puts. */
  completing: boolean;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
}

interface DirectState {
  uploads: Map<string, Upload>;
  secret?: Promise<Buffer>;
}

// Per context (one per server), so that tests running several servers in one process keep them apart.
const states = new WeakMap<Context, DirectState>();

export function directState(ctx: Context): DirectState {
  let s = states.get(ctx);
  if (!s) states.set(ctx, (s = { uploads: new Map() }));
  return s;
}

export const uploads = (ctx: Context): Map<string, Upload> => directState(ctx).uploads;

/**
 * `live` (every block any snapshot's map references) plus what uploads in
 * progress hold: the blocks written so far and their parents' blocks. The
 * server hands this to the pruner, so an upload's blocks are never garbage.
 */
export function withUploadBlocks(ctx: Context, live: Set<BlockHash>): Set<BlockHash> {
  for (const u of uploads(ctx).values()) {
    for (const h of u.written.values()) if (h) live.add(h);
    for (const [, h] of u.parent?.blocks ?? []) live.add(h);
  }
  return live;
}

/** Stops the uploads' timers (the server is closing; a restart fails the uploads anyway). */
export function closeUploads(ctx: Context): void {
  for (const u of uploads(ctx).values()) clearTimeout(u.timer);
  uploads(ctx).clear();
}

export const tokenSecretFile = (ctx: Context): string => join(ctx.paths.dataDir, 'ebs-token-secret');

/** The data directory's token secret (32 random bytes, mode 0600), made at first use. */
export function tokenSecret(ctx: Context): Promise<Buffer> {
  const s = directState(ctx);
  if (!s.secret) {
    s.secret = readOrCreateSecret(tokenSecretFile(ctx));
    s.secret.catch(() => { s.secret = undefined; });
  }
  return s.secret;
}

async function readOrCreateSecret(file: string): Promise<Buffer> {
  const read = async () => {
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
    if (key.length < 32) throw new Error(`${file} does not hold a 32-byte hex secret: remove it to make a new one (block tokens given out so far stop working)`);
    return key;
  };
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another start made it first
  }
  return read();
}
