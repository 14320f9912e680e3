/**
 * snapshotFile of a 1 GiB sparse volume file holding ~300 MiB of random data
 * (4 MiB extents at random 4 KiB-aligned offsets) vs `openssl dgst -sha256`
 * of the same file, the floor for reading and hashing it.
 *
 *   node --import tsx bench/volume-io.ts [rounds]
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PackBlockStore } from '../src/blocks/pack/pack-store.js';
import { restoreFile, snapshotFile } from '../src/blocks/volume-io.js';
import { median } from './common.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const EXTENT = 4 * MiB;

async function makeVolume(file: string, size: number, dataBytes: number): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.truncate(size);
    const taken: Array<[number, number]> = [];
    while (taken.length * EXTENT < dataBytes) {
      const at = randomInt(0, (size - EXTENT) / 4096) * 4096;
      if (taken.some(([a, b]) => at < b && at + EXTENT > a)) continue;
      taken.push([at, at + EXTENT]);
      await fh.write(randomBytes(EXTENT), 0, EXTENT, at);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const ms = (x: number) => `${x.toFixed(0)} ms`.padStart(8);

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 3);
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-vio-'));
  try {
    const vol = join(work, 'vol.img');
    await makeVolume(vol, GiB, 300 * MiB);
    const { stdout } = await run('du', ['-m', vol]);
    console.log(`volume: 1 GiB sparse file, ${stdout.split('\t')[0]} MiB allocated; ${rounds} rounds, medians\n`);
    const openssl: number[] = [];
    const fresh: number[] = [];
    const again: number[] = [];
    const restore: number[] = [];
    const copy: number[] = [];
    for (let r = 0; r < rounds; r++) {
      openssl.push(await timed(() => run('openssl', ['dgst', '-sha256', vol])));
      const storeDir = join(work, `store-${r}`);
      const store = await PackBlockStore.open(storeDir);
      let map: Awaited<ReturnType<typeof snapshotFile>> | undefined;
      fresh.push(await timed(async () => { map = await snapshotFile(vol, store); }));
      again.push(await timed(() => snapshotFile(vol, store, { parent: map })));
      restore.push(await timed(() => restoreFile(map!, store, join(work, 'restored.img'))));
      const copyTo = join(work, `copy-${r}.img`);
      copy.push(await timed(() => run('sh', ['-c', 'cp --sparse=always "$0" "$1" && sync "$1"', vol, copyTo])));
    }
    const base = median(openssl);
    console.log(`openssl dgst -sha256 volume            ${ms(base)}`);
    console.log(`cp --sparse=always volume + sync       ${ms(median(copy))}   ratio ${(median(copy) / base).toFixed(2)}x  (writing the data once)`);
    for (const [what, xs] of [['snapshotFile, empty store', fresh], ['snapshotFile, all blocks stored', again], ['restoreFile', restore]] as const) {
      console.log(`${what.padEnd(38)} ${ms(median(xs))}   ratio ${(median(xs) / base).toFixed(2)}x`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
