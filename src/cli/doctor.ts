import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RuncDriver } from '../runtime/runc/runc-driver.js';
import { predictPool } from '../server/app.js';
import { lxcfsReport } from '../runtime/runc/lxcfs.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);

async function has(cmd: string, args: string[] = ['--version']): Promise<boolean> {
  return run(cmd, args).then(() => true, () => false);
}

/** Prints what this host lacks; exit code 1 when instances cannot run here. */
export async function doctor(dataDir: string): Promise<number> {
  const problems = await new RuncDriver({ stateDir: join(tmpdir(), 'kiln-doctor') }).check();
  if (!(await has('busybox', ['true']))) problems.push('busybox is missing: the minimal catalog image is built from it (apt-get install busybox-static).');
  if (!(await has('openssl', ['version']))) problems.push('openssl is missing: `npm run bench` uses it as its hashing baseline (apt-get install openssl).');
  if (!(await has('mmdebstrap', ['--version']))) {
    problems.push('mmdebstrap is missing: the Debian 12 catalog image is built with it from the Debian archive (apt-get install mmdebstrap; or kiln serve --no-debian).');
  }
  if (!(await has('mkfs.xfs', ['-V']))) {
    console.log('  note: mkfs.xfs (Debian package xfsprogs) is absent: without a reflink-capable filesystem for the data directory, volumes are copied in full at each launch.');
  }
  console.log(`  ${await lxcfsReport()}`);
  const awsCli = await has('/usr/bin/aws');
  const pool = await predictPool(dataDir);
  console.log(`  volume pool over ${dataDir}: ${pool.mode} (${pool.reason})`);
  if (problems.length === 0) {
    console.log('kiln doctor: this host can run instances.');
  } else {
    console.log(`kiln doctor: ${problems.length} problem(s):`);
    for (const p of problems) console.log(`  - ${p}`);
  }
  if (!awsCli) console.log('  note: /usr/bin/aws (Debian package awscli) is absent; the end-to-end tests need it.');
  return problems.length ? 1 : 0;
}
