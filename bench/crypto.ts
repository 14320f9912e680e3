/**
 * The cost of encryption at rest (issue #17), each beside the same work on
 * the same data unencrypted, in the same run:
 *
 *   CreateImage (to available) of an instance whose 1 GiB root volume is
 *   encrypted and holds ~300 MiB of files
 *       vs CreateImage of the instance of the same data, unencrypted (the
 *       encrypted instance is launched from that image, so both volumes hold
 *       the same bytes and both captures read and store every block of them)
 *   snapshotFile of that volume file into a fresh block store, with a key
 *       vs without (the engine alone: no server, no instance); restoreFile of each
 *
 *   node --import tsx bench/run.ts crypto     this section alone
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeInstancesCommand, GetConsoleOutputCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { PackBlockStore } from '../src/blocks/pack/pack-store.js';
import { restoreFile, snapshotFile } from '../src/blocks/volume-io.js';
import { startKiln, until } from '../test/harness.js';
import type { Kiln } from '../test/harness.js';
import { fillScript, medianOf, row, timed } from './common.js';
import { captured, launchRunning } from './storage.js';

async function volumeOf(ec2: EC2Client, kiln: Kiln, instanceId: string): Promise<string> {
  const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return kiln.app.ctx.paths.volume(desc.Reservations![0]!.Instances![0]!.BlockDeviceMappings![0]!.Ebs!.VolumeId!);
}

/** CreateImage of the same data plain and encrypted, on a running server (`kiln`). */
export async function encryptedCapture(kiln: Kiln, ec2: EC2Client, baseImageId: string, work: string): Promise<void> {
  const plain = await launchRunning(ec2, baseImageId, { InstanceType: 't3.small', UserData: Buffer.from(fillScript(75, 4)).toString('base64') });
  const mib = await until('the volume to fill', async () => {
    const o = await ec2.send(new GetConsoleOutputCommand({ InstanceId: plain }));
    return /fill-done (\d+) MiB/.exec(Buffer.from(o.Output ?? '', 'base64').toString())?.[1];
  }, 300_000, 250);
  let plainImage = '';
  const plainMs = await timed(async () => { plainImage = await captured(ec2, plain, 'bench-crypto-plain'); });
  const root = (await ec2.send(new DescribeImagesCommand({ ImageIds: [plainImage] }))).Images![0]!.RootDeviceName!;
  const enc = await launchRunning(ec2, plainImage, { BlockDeviceMappings: [{ DeviceName: root, Ebs: { Encrypted: true } }] });
  const encMs = await timed(() => captured(ec2, enc, 'bench-crypto-encrypted'));
  row(`CreateImage, encrypted (${mib} MiB)`, encMs, 'CreateImage, same data, plain', plainMs);
  await engine(await volumeOf(ec2, kiln, enc), work);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [plain, enc] }));
}

/** snapshotFile and restoreFile of `volFile` with and without a key, each into a fresh store (medians of 3). */
async function engine(volFile: string, work: string): Promise<void> {
  const stores: PackBlockStore[] = [];
  const fresh = async () => {
    const dir = await mkdtemp(join(work, 'store-'));
    const s = await PackBlockStore.open(join(dir, 'blocks'), { masterKeyFile: join(dir, 'master.key') });
    stores.push(s);
    return s;
  };
  // The last store of each kind and its map, for the restores.
  const last: Partial<Record<'plain' | 'key', { store: PackBlockStore; map: Awaited<ReturnType<typeof snapshotFile>> }>> = {};
  const snap = (key?: string) => medianOf(3, async () => {
    const store = await fresh();
    last[key ? 'key' : 'plain'] = { store, map: await snapshotFile(volFile, store, { key }) };
  });
  const plainMs = await snap();
  const keyMs = await snap('bench');
  row('  snapshotFile, with a key', keyMs, 'snapshotFile, no key', plainMs);
  const restore = (which: 'plain' | 'key') => medianOf(3, async () => {
    const out = join(work, `restore-${which}.img`);
    await restoreFile(last[which]!.map, last[which]!.store, out);
    await rm(out, { force: true });
  });
  row('  restoreFile, encrypted blocks', await restore('key'), 'restoreFile, plain blocks', await restore('plain'));
  for (const s of stores) await s.close();
}

/** The section alone: its own server and work directory. */
export async function cryptoBench(): Promise<void> {
  const kiln = await startKiln({ pool: process.env.KILN_POOL === 'copy' ? 'copy' : 'auto' });
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-crypto-'));
  try {
    const ec2 = kiln.client();
    const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0]!;
    console.log(`encryption at rest; volume pool: ${kiln.app.ctx.pool.mode}\n`);
    await encryptedCapture(kiln, ec2, base.ImageId!, work);
  } finally {
    await kiln.close();
    await rm(work, { recursive: true, force: true });
  }
}
