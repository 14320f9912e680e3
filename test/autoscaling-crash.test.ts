/**
 * A crash in the middle of a scaling activity neither loses nor doubles an
 * instance: `kiln serve` is killed (SIGKILL) while a group of 4 is launching,
 * at a few points (right as CreateAutoScalingGroup answers, then while
 * launches are under way), and started again over the same data each time.
 * At the end the group has exactly its 4 instances InService, no other live
 * instance carries its tag, every launch activity ended, and no instance is
 * claimed by two launches.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as asg from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { spawnKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances', 'build');
const creds = { accessKeyId: 'test', secretAccessKey: 'test' };
const ec2Of = (k: KilnProcess) => new EC2Client({ endpoint: k.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
const asgOf = (k: KilnProcess) => new asg.AutoScalingClient({ endpoint: k.endpoint, region: 'us-east-1', credentials: creds, maxAttempts: 1 });

async function liveTagged(k: KilnProcess): Promise<string[]> {
  const { Reservations = [] } = await ec2Of(k).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:aws:autoscaling:groupName', Values: ['crash'] }] }));
  return Reservations.flatMap((r) => r.Instances ?? []).filter((i) => !['terminated', 'shutting-down'].includes(i.State!.Name!)).map((i) => i.InstanceId!);
}

test('killed while a group launches, the restarted server ends with exactly the desired instances', { skip, timeout: 600_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-asg-crash-'));
  let k = await spawnKiln(dir);
  try {
    const image = (await ec2Of(k).send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0]!;
    await ec2Of(k).send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'crash', LaunchTemplateData: { ImageId: image.ImageId, InstanceType: 't3.micro' } }));
    await asgOf(k).send(new asg.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'crash', LaunchTemplate: { LaunchTemplateName: 'crash' }, MinSize: 0, MaxSize: 6, DesiredCapacity: 4,
      AvailabilityZones: ['us-east-1a', 'us-east-1b'],
    }));
    for (const delayMs of [0, 150, 400, 900]) {
      await new Promise((r) => setTimeout(r, delayMs));
      await k.stop('SIGKILL');
      k = await spawnKiln(dir);
    }
    const members = await until('4 InService after the crashes', async () => {
      const g = (await asgOf(k).send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['crash'] }))).AutoScalingGroups![0]!;
      const ins = g.Instances ?? [];
      return ins.length === 4 && ins.every((i) => i.LifecycleState === 'InService') && ins.map((i) => i.InstanceId!);
    }, 240_000, 500);
    await new Promise((r) => setTimeout(r, 3000)); // a few more ticks: nothing else may launch
    assert.deepEqual((await liveTagged(k)).sort(), [...members].sort());
    const acts = (await asgOf(k).send(new asg.DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'crash' }))).Activities!;
    const launches = acts.filter((a) => a.Description!.startsWith('Launching'));
    assert.ok(launches.every((a) => a.StatusCode === 'Successful' || a.StatusCode === 'Failed'), JSON.stringify(launches.map((a) => a.StatusCode)));
    const claimed = launches.map((a) => /i-[0-9a-f]+/.exec(a.Description!)?.[0]).filter(Boolean);
    assert.equal(new Set(claimed).size, claimed.length, 'no instance claimed by two launches');
    for (const id of members) assert.ok(claimed.includes(id), `${id} has its launch activity`);
  } finally {
    await asgOf(k).send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'crash', ForceDelete: true })).catch(() => undefined);
    await until('the group gone', async () => !(await asgOf(k).send(new asg.DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups!.length, 120_000, 500).catch(() => undefined);
    const { Reservations = [] } = await ec2Of(k).send(new DescribeInstancesCommand({}));
    const ids = Reservations.flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').map((i) => i.InstanceId!);
    if (ids.length) await ec2Of(k).send(new TerminateInstancesCommand({ InstanceIds: ids }));
    await until('all terminated', async () => {
      const { Reservations: rs = [] } = await ec2Of(k).send(new DescribeInstancesCommand({}));
      return rs.flatMap((r) => r.Instances ?? []).every((i) => i.State?.Name === 'terminated');
    }, 120_000, 500).catch(() => undefined);
    await k.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
