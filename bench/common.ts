/** What the bench's parts share: timing, the output rows, and the bare-runc baseline. */
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copySparse } from '../src/blocks/volume-io.js';

export const run = promisify(execFile);
export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The median of `xs` (the upper one of an even count). */
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The median duration of `n` sequential runs of `fn`. */
export async function medianOf(n: number, fn: () => Promise<unknown>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await timed(fn));
  return median(xs);
}

export function row(what: string, kiln: number, baselineName: string, baseline: number): void {
  console.log(`${what.padEnd(34)} ${seconds(kiln).padStart(9)}   ${baselineName.padEnd(30)} ${seconds(baseline).padStart(9)}   ratio ${(kiln / baseline).toFixed(2)}x`);
}

/** User data that writes `files` files of `mib` MiB of random data under /data, then prints "fill-done <MiB> MiB". */
export function fillScript(files: number, mib: number): string {
  return `#!/bin/sh
mkdir -p /data
i=0
while [ $i -lt ${files} ]; do dd if=/dev/urandom of=/data/file-$i bs=1M count=${mib} 2>/dev/null; i=$((i+1)); done
sync
echo "fill-done $(du -sm /data | cut -f1) MiB"
`;
}

/** A figure that is not a duration, beside its baseline. */
export function countRow(what: string, kiln: string, baselineName: string, baseline: string, ratio: number): void {
  console.log(`${what.padEnd(34)} ${kiln.padStart(9)}   ${baselineName.padEnd(30)} ${baseline.padStart(9)}   ratio ${ratio.toFixed(2)}x`);
}

let bundles = 0;

/** A bare `runc run` of /bin/true over a loop-mounted copy of the same volume: the floor for starting a container. */
export async function bareRunc(volFile: string, work: string): Promise<number> {
  const bundle = join(work, `bundle-${bundles++}`);
  const rootfs = join(bundle, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  const copy = join(work, 'vol.img');
  await copySparse(volFile, copy);
  await run('mount', ['-o', 'loop', copy, rootfs]);
  try {
    await run('runc', ['spec', '--bundle', bundle]);
    const spec = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    spec.process.terminal = false;
    spec.process.args = ['/bin/true'];
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    const once = () => new Promise<void>((res, rej) => {
      const p = spawn('runc', ['--root', join(work, 'runc'), 'run', '--bundle', bundle, `bench-${process.pid}`], { stdio: 'ignore' });
      p.on('exit', (code) => (code === 0 ? res() : rej(new Error(`runc run exited ${code}`))));
    });
    await once();
    return await timed(once);
  } finally {
    await run('umount', [rootfs]);
  }
}

