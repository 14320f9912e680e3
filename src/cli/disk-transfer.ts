/**
 * Raw disk files in and out of snapshots through the EBS direct APIs (any
 * endpoint that serves them: Kiln's, or AWS's). Upload reads the file block by
 * block and puts every non-zero 512 KiB block, many at once, then completes
 * the snapshot with the LINEAR aggregate checksum; download lists the
 * snapshot's blocks and gets each into a sparse file written under a
 * temporary name beside the target, renamed onto it once whole and synced.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { EBSClient } from '@aws-sdk/client-ebs';
import {
  CompleteSnapshotCommand, GetSnapshotBlockCommand, ListSnapshotBlocksCommand, PutSnapshotBlockCommand, StartSnapshotCommand,
} from '@aws-sdk/client-ebs';
import type { Tag } from '@aws-sdk/client-ebs';

export const BLOCK = 512 * 1024;
const GiB = 1024 ** 3;
const ZEROS = Buffer.alloc(BLOCK);

/** Called as blocks are done: how many so far, of how many (for a progress display). */
export type OnProgress = (done: number, total: number, bytes: number) => void;

export interface UploadOptions {
  /** GiB; default the file's size rounded up to whole GiB. */
  volumeSize?: number;
  parentSnapshotId?: string;
  description?: string;
  tags?: Tag[];
  /** Blocks in flight at once (default 32). */
  concurrency?: number;
  onProgress?: OnProgress;
}

export interface Uploaded { snapshotId: string; volumeSize: number; blocksWritten: number; bytes: number }

/**
 * Runs `work(i, w)` for i in 0..count-1 on at most `n` workers at once (`w`: the worker's number, so that a
 * worker can reuse its own buffer); the first failure stops the rest and is thrown.
 */
async function pool(count: number, n: number, work: (i: number, w: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (w: number) => {
    while (failed === undefined && next < count) {
      const i = next++;
      try { await work(i, w); } catch (err) { failed ??= err; }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, count) }, (_, w) => worker(w)));
  if (failed !== undefined) throw failed;
}

/** Reads block `i` of the file into `buf`, a whole block (the last one padded with zeros). */
async function readBlock(fh: FileHandle, i: number, size: number, buf: Buffer): Promise<Buffer> {
  const want = Math.min(BLOCK, size - i * BLOCK);
  let got = 0;
  while (got < want) {
    const { bytesRead } = await fh.read(buf, got, want - got, i * BLOCK + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  buf.fill(0, got);
  return buf;
}

/** StartSnapshot, PutSnapshotBlock for every non-zero block (in parallel), CompleteSnapshot with the LINEAR checksum. */
export async function uploadDisk(ebs: EBSClient, file: string, opts: UploadOptions = {}): Promise<Uploaded> {
  const { size } = await stat(file);
  const volumeSize = opts.volumeSize ?? Math.max(1, Math.ceil(size / GiB));
  if (size > volumeSize * GiB) throw new Error(`${file} is ${size} bytes, more than ${volumeSize} GiB`);
  const started = await ebs.send(new StartSnapshotCommand({
    VolumeSize: volumeSize, ParentSnapshotId: opts.parentSnapshotId, Description: opts.description, Tags: opts.tags, Timeout: 60,
  }));
  const snapshotId = started.SnapshotId!;
  const digests = new Map<number, Buffer>();
  const blocks = Math.ceil(size / BLOCK);
  let done = 0;
  let bytes = 0;
  const fh = await open(file, 'r');
  const concurrency = opts.concurrency ?? 32;
  // One buffer per worker: it puts a block before it reads the next (most reads are holes, none need a buffer of their own).
  const buffers = Array.from({ length: concurrency }, () => Buffer.allocUnsafe(BLOCK));
  try {
    await pool(blocks, concurrency, async (i, w) => {
      const data = await readBlock(fh, i, size, buffers[w]!);
      if (!data.equals(ZEROS)) {
        const digest = createHash('sha256').update(data).digest();
        await ebs.send(new PutSnapshotBlockCommand({
          SnapshotId: snapshotId, BlockIndex: i, BlockData: data, DataLength: BLOCK,
          Checksum: digest.toString('base64'), ChecksumAlgorithm: 'SHA256',
        }));
        digests.set(i, digest);
        bytes += BLOCK;
      }
      opts.onProgress?.(++done, blocks, bytes);
    });
  } finally {
    await fh.close();
  }
  const linear = createHash('sha256');
  for (const i of [...digests.keys()].sort((a, b) => a - b)) linear.update(digests.get(i)!);
  await ebs.send(new CompleteSnapshotCommand({
    SnapshotId: snapshotId, ChangedBlocksCount: digests.size,
    Checksum: linear.digest('base64'), ChecksumAlgorithm: 'SHA256', ChecksumAggregationMethod: 'LINEAR',
  }));
  return { snapshotId, volumeSize, blocksWritten: digests.size, bytes };
}

/** Every block of the snapshot that holds data, with its token (ListSnapshotBlocks, all pages), and the volume's size in GiB. */
export async function listBlocks(ebs: EBSClient, snapshotId: string): Promise<{ volumeSize: number; blocks: Array<[number, string]> }> {
  const blocks: Array<[number, string]> = [];
  let volumeSize = 0;
  let token: string | undefined;
  do {
    const page = await ebs.send(new ListSnapshotBlocksCommand({ SnapshotId: snapshotId, NextToken: token }));
    volumeSize = page.VolumeSize ?? volumeSize;
    for (const b of page.Blocks ?? []) blocks.push([b.BlockIndex!, b.BlockToken!]);
    token = page.NextToken;
  } while (token);
  return { volumeSize, blocks };
}

export interface Downloaded { volumeSize: number; blocks: number; bytes: number }

/** The snapshot as a sparse raw file at `out` (VolumeSize GiB; blocks without data stay holes); each block's checksum is checked. */
export async function downloadSnapshot(
  ebs: EBSClient, snapshotId: string, out: string, opts: { concurrency?: number; onProgress?: OnProgress } = {},
): Promise<Downloaded> {
  const { volumeSize, blocks } = await listBlocks(ebs, snapshotId);
  const tmp = join(dirname(out), `.${basename(out)}.kiln-export-${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  let done = 0;
  try {
    await fh.truncate(volumeSize * GiB);
    await pool(blocks.length, opts.concurrency ?? 32, async (n) => {
      const [index, token] = blocks[n]!;
      const got = await ebs.send(new GetSnapshotBlockCommand({ SnapshotId: snapshotId, BlockIndex: index, BlockToken: token }));
      const data = Buffer.from(await got.BlockData!.transformToByteArray());
      if (createHash('sha256').update(data).digest('base64') !== got.Checksum) {
        throw new Error(`block ${index} of ${snapshotId} does not match its checksum`);
      }
      await fh.write(data, 0, data.length, index * BLOCK);
      opts.onProgress?.(++done, blocks.length, done * BLOCK);
    });
    await fh.sync();
    await fh.close();
    await rename(tmp, out);
    const dir = await open(dirname(out), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  return { volumeSize, blocks: blocks.length, bytes: blocks.length * BLOCK };
}
