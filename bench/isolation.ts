/**
 * What the isolation of issue #17 costs a launch: RunInstances to `running`
 * of the minimal image and of Debian 12, with the runc driver's hardening on
 * (seccomp allow-list, lxcfs's /proc files, pids limits, e2fsck -n before the
 * root volume is mounted) beside off (as Kiln launched before), alternating
 * on the same server in the same run, the median of three each.
 *
 *   node --import tsx bench/run.ts isolation     this section alone
 */
import { DescribeImagesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { RuncDriver } from '../src/runtime/runc/runc-driver.js';
import { DEFAULT_CACHE_DIR } from '../src/server/app.js';
import { startKiln, until } from '../test/harness.js';
import type { Kiln } from '../test/harness.js';
import { median, row, timed } from './common.js';
import { launchRunning } from './storage.js';

const ROUNDS = 3;

async function imageNamed(ec2: EC2Client, prefix: string): Promise<string> {
  return until(`the ${prefix} image`, async () => (await ec2.send(new DescribeImagesCommand({
    Owners: ['amazon'], Filters: [{ Name: 'name', Values: [`${prefix}*`] }, { Name: 'state', Values: ['available'] }],
  }))).Images?.[0]?.ImageId, 1_800_000, 1000);
}

/** Launch times of `imageId` with the hardening on and off, alternating (ms each, in launch order). */
async function launches(kiln: Kiln, ec2: EC2Client, imageId: string): Promise<{ on: number[]; off: number[] }> {
  const driver = kiln.app.ctx.runtime as RuncDriver;
  const times = { on: [] as number[], off: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const hardened of [true, false]) {
      driver.hardened = hardened;
      let id = '';
      const ms = await timed(async () => { id = await launchRunning(ec2, imageId); });
      (hardened ? times.on : times.off).push(ms);
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    }
  }
  driver.hardened = true;
  return times;
}

/** The section: its own server, the minimal image and Debian 12. */
export async function isolationBench(): Promise<void> {
  const kiln = await startKiln({ debian: { cacheDir: process.env.KILN_CACHE_DIR ?? DEFAULT_CACHE_DIR } });
  try {
    if (!(kiln.app.ctx.runtime instanceof RuncDriver)) throw new Error('the isolation bench needs the runc driver');
    const ec2 = kiln.client();
    console.log('\nisolation (issue #17): RunInstances to running, hardening on vs off, alternating, median of 3');
    for (const [name, prefix] of [['minimal image', 'kiln-minimal-'], ['Debian 12', 'debian-12-']] as const) {
      const { on, off } = await launches(kiln, ec2, await imageNamed(ec2, prefix));
      row(`RunInstances, ${name}, isolation on`, median(on), 'isolation off', median(off));
    }
  } finally {
    await kiln.close();
  }
}
