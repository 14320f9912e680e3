/**
 * Every instance type Kiln lists launches a real instance of the catalog
 * image (DescribeInstanceTypes x RunInstances), or, when it has more memory
 * than the host, is refused with InsufficientInstanceCapacity, and so does a launch without
 * --instance-type (AWS's default, m1.small) from the real aws-cli: a type
 * whose figures the runtime cannot take (1.7 GiB is not a whole number of
 * bytes) would end terminated instead of running. Also a shutdown from inside
 * the instance: it ends stopped, or terminated by its shutdown behaviour.
 * Needs root and runc; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { arch, totalmem } from 'node:os';
import { after, before, test } from 'node:test';
import type { EC2Client, _InstanceType as InstanceType } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeInstanceTypesCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { aws, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';
import { INSTANCE_TYPES } from '../src/services/instances/instance-types.js';

const skip = await skipUnless('instances', 'aws-cli');
const HOST_ARCH = arch() === 'arm64' ? 'arm64' : 'x86_64';
/** Live instances per batch: well inside the 20-instance limit. */
const BATCH = 10;

let kiln: Kiln;
let ec2: EC2Client;
let image: string;

before(async () => {
  if (skip) return;
  // Instances of the types the host holds run ten at a time whatever their memory (they idle): only the check of
  // each type against the host's memory is at stake here, not the sum (services/instances/capacity.test.ts).
  kiln = await startKiln({ capacity: { memoryOvercommit: 32 } });
  ec2 = kiln.client();
  const { Images = [] } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'architecture', Values: [HOST_ARCH] }] }));
  image = Images[0]!.ImageId!;
});
after(async () => { await kiln?.close(); });

async function states(ids: string[]): Promise<Map<string, string>> {
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return new Map(Reservations.flatMap((r) => r.Instances ?? []).map((i) => [i.InstanceId!, `${i.State?.Name} ${i.StateReason?.Message ?? ''}`.trim()]));
}

test(`every instance type Kiln lists for ${HOST_ARCH} launches`, { skip, timeout: 600_000 }, async () => {
  const types: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstanceTypesCommand({ NextToken, Filters: [{ Name: 'processor-info.supported-architecture', Values: [HOST_ARCH] }] }));
    types.push(...(page.InstanceTypes ?? []).map((t) => t.InstanceType!));
    NextToken = page.NextToken;
  } while (NextToken);
  assert.ok(types.length >= 40, `only ${types.length} types`);
  // A type larger than the host is refused as EC2 refuses it (test/hostile-capacity.test.ts); the others launch.
  const hostMiB = Math.floor(totalmem() / 1024 ** 2);
  const tooBig = types.filter((t) => INSTANCE_TYPES[t]!.memoryMiB > hostMiB);
  for (const t of tooBig) {
    const code = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: t as InstanceType, MinCount: 1, MaxCount: 1 })).then(() => 'launched', (e: Error) => e.name);
    assert.equal(`${t}: ${code}`, `${t}: InsufficientInstanceCapacity`);
  }
  const fit = types.filter((t) => !tooBig.includes(t));
  assert.ok(fit.length >= 30, `only ${fit.length} types fit this host`);
  for (let i = 0; i < fit.length; i += BATCH) {
    const batch = fit.slice(i, i + BATCH);
    const ids: string[] = [];
    for (const t of batch) {
      const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: t as InstanceType, MinCount: 1, MaxCount: 1 }));
      ids.push(Instances[0]!.InstanceId!);
    }
    const seen = await until(`${batch.join(' ')} to leave pending`, async () => {
      const s = await states(ids);
      return [...s.values()].every((v) => !v.startsWith('pending')) && s;
    }, 120_000, 250);
    assert.deepEqual(ids.map((id, n) => `${batch[n]}: ${seen.get(id)}`), batch.map((t) => `${t}: running`));
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await until('the batch to terminate', async () => [...(await states(ids)).values()].every((v) => v.startsWith('terminated')), 120_000, 250);
  }
});

test('the aws-cli without --instance-type launches AWS\'s default type, m1.small, and it runs', { skip: skip || (HOST_ARCH !== 'x86_64' && 'm1.small is x86_64'), timeout: 120_000 }, async () => {
  const out = await aws(kiln.endpoint, ['ec2', 'run-instances', '--image-id', image]);
  const id = out.Instances[0].InstanceId as string;
  assert.equal(out.Instances[0].InstanceType, 'm1.small');
  await aws(kiln.endpoint, ['ec2', 'wait', 'instance-running', '--instance-ids', id]);
  await aws(kiln.endpoint, ['ec2', 'terminate-instances', '--instance-ids', id]);
});

test('a shutdown from inside ends the instance stopped, or terminated by its InstanceInitiatedShutdownBehavior', { skip, timeout: 120_000 }, async () => {
  const userData = Buffer.from('#!/bin/sh\n(sleep 1; poweroff) &\n').toString('base64');
  const launch = async (behavior: 'stop' | 'terminate') => (await ec2.send(new RunInstancesCommand({
    ImageId: image, InstanceType: HOST_ARCH === 'arm64' ? 't4g.nano' : 't3.nano', MinCount: 1, MaxCount: 1, UserData: userData,
    InstanceInitiatedShutdownBehavior: behavior,
  }))).Instances![0]!.InstanceId!;
  const [stops, ends] = [await launch('stop'), await launch('terminate')];
  const reason = async (id: string, state: string) => {
    const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const inst = Reservations[0]!.Instances![0]!;
    return inst.State?.Name === state && inst.StateReason?.Code;
  };
  assert.equal(await until(`${stops} to stop from inside`, () => reason(stops, 'stopped'), 60_000, 250), 'Client.InstanceInitiatedShutdown');
  assert.equal(await until(`${ends} to terminate from inside`, () => reason(ends, 'terminated'), 60_000, 250), 'Client.InstanceInitiatedShutdown');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [stops] }));
});
