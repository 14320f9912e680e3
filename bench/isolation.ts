/**
 * What the isolation of issue #17 costs a launch: RunInstances to `running`
 * of the minimal image and of Debian 12, with the runc driver's hardening on
 * (seccomp allow-list, lxcfs's /proc files, pids limits, e2fsck -n before the
 * root volume is mounted; each instance in a user namespace of its own,
 * runc/userns.ts) beside the same without user namespaces and beside all of it
 * off (as Kiln launched before), alternating on the same server in the same
 * run, the median of three each.
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

/** How the driver starts instances in each variant: all of the isolation, all of it but user namespaces, none of it. */
const VARIANTS = { on: { hardened: true, userNamespaces: true }, noUserns: { hardened: true, userNamespaces: false }, off: { hardened: false, userNamespaces: false } };
type Variant = keyof typeof VARIANTS;

/** Launch times of `imageId` in each variant, alternating (ms each, in launch order). */
async function launches(kiln: Kiln, ec2: EC2Client, imageId: string): Promise<Record<Variant, number[]>> {
  const driver = kiln.app.ctx.runtime as RuncDriver;
  const times: Record<Variant, number[]> = { on: [], noUserns: [], off: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      Object.assign(driver, VARIANTS[variant]);
      let id = '';
      times[variant].push(await timed(async () => { id = await launchRunning(ec2, imageId); }));
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    }
  }
  Object.assign(driver, VARIANTS.on);
  return times;
}

/** The section: its own server, the minimal image and Debian 12. */
export async function isolationBench(): Promise<void> {
  const kiln = await startKiln({ debian: { cacheDir: process.env.KILN_CACHE_DIR ?? DEFAULT_CACHE_DIR } });
  try {
    if (!(kiln.app.ctx.runtime instanceof RuncDriver)) throw new Error('the isolation bench needs the runc driver');
    const ec2 = kiln.client();
    console.log('\nisolation (issue #17): RunInstances to running, hardening on vs off, with and without user namespaces, alternating, median of 3');
    // Both images available first: registering Debian's (mkfs of its volume) must not share the CPU with what is timed.
    const images = [['minimal image', await imageNamed(ec2, 'kiln-minimal-')], ['Debian 12', await imageNamed(ec2, 'debian-12-')]] as const;
    for (const [name, imageId] of images) {
      const { on, noUserns, off } = await launches(kiln, ec2, imageId);
      row(`RunInstances, ${name}, isolation on`, median(on), 'isolation off', median(off));
      row(`RunInstances, ${name}, isolation on`, median(on), 'the same without user namespaces', median(noUserns));
    }
  } finally {
    await kiln.close();
  }
}
