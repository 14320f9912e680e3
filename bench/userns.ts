/**
 * What user namespaces cost a launch (src/runtime/runc/userns.ts): RunInstances
 * -> running of the minimal and the Debian 12 images with each instance in a
 * user namespace of its own (the default) beside the same with them off
 * (RuncDriver({ userNamespaces: false })), both servers up in the same run.
 *
 *   node --import tsx bench/run.ts userns
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DEFAULT_CACHE_DIR } from '../src/server/app.js';
import { RuncDriver } from '../src/runtime/runc/runc-driver.js';
import { median, row, timed } from './common.js';
import type { Kiln } from '../test/harness.js';
import { startKiln, until } from '../test/harness.js';

const ROUNDS = 3;

async function imageId(ec2: EC2Client, name: string): Promise<string> {
  return until(`the ${name} image`, async () => (await ec2.send(new DescribeImagesCommand({
    Owners: ['amazon'], Filters: [{ Name: 'name', Values: [`${name}*`] }, { Name: 'state', Values: ['available'] }],
  }))).Images?.[0]?.ImageId, 1_800_000, 1000);
}

/** Milliseconds from RunInstances to `running`; the instance is terminated after. */
async function launchMs(ec2: EC2Client, image: string): Promise<number> {
  let id = '';
  const ms = await timed(async () => {
    const r = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }));
    id = r.Instances![0]!.InstanceId!;
    await until(`${id} running`, async () => {
      const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
      if (inst.State?.Name === 'terminated') throw new Error(`${id}: ${inst.StateReason?.Message}`);
      return inst.State?.Name === 'running';
    }, 300_000, 50);
  });
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  return ms;
}

export async function usernsBench(): Promise<void> {
  const debian = { cacheDir: process.env.KILN_CACHE_DIR ?? DEFAULT_CACHE_DIR };
  const offDir = await mkdtemp(join(tmpdir(), 'kiln-bench-userns-off-'));
  const servers: Kiln[] = [];
  try {
    servers.push(await startKiln({ debian }));
    servers.push(await startKiln({ debian, dataDir: offDir, runtime: new RuncDriver({ stateDir: join(offDir, 'runtime'), userNamespaces: false }) }));
    const [on, off] = servers.map((k) => k.client());
    // Every image available on both first: registering the Debian one (mkfs of its volume) must not share the CPU with what is timed.
    const names = ['kiln-minimal-', 'debian-12-'];
    const images: Record<string, string[]> = {};
    for (const name of names) images[name] = [await imageId(on!, name), await imageId(off!, name)];
    for (const name of names) {
      const [imgOn, imgOff] = images[name]!;
      const xs: number[] = [];
      const ys: number[] = [];
      // Alternating, so load on the machine falls on both alike.
      for (let i = 0; i < ROUNDS; i++) { xs.push(await launchMs(on!, imgOn)); ys.push(await launchMs(off!, imgOff)); }
      row(`${name.replace(/-$/, '')} to running, userns`, median(xs), 'same, user namespaces off', median(ys));
    }
  } finally {
    for (const k of servers) await k.close();
    await rm(offDir, { recursive: true, force: true });
  }
}
