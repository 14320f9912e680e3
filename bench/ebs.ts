/**
 * The EBS direct APIs' upload and download rate (MB/s) of a 256 MiB file of
 * random data through @aws-sdk/client-ebs (the client `kiln image import` and
 * `export` use: 32 blocks in flight, SigV4, checksums both ways), beside `cp`
 * of the same file on the same disk.
 *
 *   node --import tsx bench/ebs.ts     (or as part of `npm run bench`)
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { EBSClient } from '@aws-sdk/client-ebs';
import { downloadSnapshot, uploadDisk } from '../src/cli/disk-transfer.js';
import { startKiln } from '../test/harness.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const SIZE = 256 * MiB;

async function randomFile(file: string, size: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    for (let at = 0; at < size; at += 8 * MiB) await fh.write(randomBytes(8 * MiB), 0, 8 * MiB, at);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function rate(bytes: number, fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return bytes / 1e6 / ((performance.now() - t) / 1000);
}

function row(what: string, mbs: number, baselineName: string, baseline: number): void {
  const fmt = (r: number) => `${r.toFixed(0)} MB/s`;
  console.log(`${what.padEnd(34)} ${fmt(mbs).padStart(9)}   ${baselineName.padEnd(30)} ${fmt(baseline).padStart(9)}   ratio ${(mbs / baseline).toFixed(2)}x`);
}

/** Uploads and downloads a 256 MiB random file through the EBS direct APIs at `endpoint` (credentials test/test), beside `cp`. */
export async function ebsDirectBench(endpoint: string, work?: string): Promise<void> {
  const dir = await mkdtemp(join(work ?? tmpdir(), 'kiln-bench-ebs-'));
  try {
    const file = join(dir, 'disk.raw');
    await randomFile(file, SIZE);
    const ebs = new EBSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await run('cp', [file, join(dir, 'warm.raw')]); // the file in the page cache for every reader alike
    const cp = await rate(SIZE, () => run('cp', [file, join(dir, 'copy.raw')]));
    let snapshotId = '';
    const up = await rate(SIZE, async () => { snapshotId = (await uploadDisk(ebs, file)).snapshotId; });
    row('EBS direct upload (256 MiB)', up, 'cp of the same file', cp);
    const down = await rate(SIZE, () => downloadSnapshot(ebs, snapshotId, join(dir, 'down.raw')));
    row('EBS direct download (256 MiB)', down, 'cp of the same file', cp);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const kiln = await startKiln();
  try {
    await ebsDirectBench(kiln.endpoint);
  } finally {
    await kiln.close();
  }
}
