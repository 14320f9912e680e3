/**
 * The Auto Scaling story with real instances (runc), through the SDK and the
 * real AWS CLI: a launch template from the minimal catalog image, a group of 3
 * over the default subnets, one instance powered off from inside and replaced,
 * an image captured from a member and made the template's new version, an
 * instance refresh at MinHealthyPercentage 66 during which InService never
 * drops below 2, and every instance on the new image at the end; then
 * SetDesiredCapacity, TerminateInstanceInAutoScalingGroup, AWS's error codes,
 * and DeleteAutoScalingGroup --force-delete leaving nothing running.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as asg from '@aws-sdk/client-auto-scaling';
import { CreateImageCommand, DescribeInstancesCommand, DescribeSubnetsCommand, waitUntilImageAvailable } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { aws, awsErrorCode, inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances', 'aws-cli');

let kiln: Kiln;
let ec2: EC2Client;
let scaling: asg.AutoScalingClient;

before(async () => {
  if (skip) return;
  kiln = await startKiln();
  ec2 = kiln.client('us-east-1');
  scaling = new asg.AutoScalingClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
after(async () => {
  if (!kiln) return;
  // No group may relaunch what the harness stops on close.
  for (const g of (await scaling.send(new asg.DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? []) {
    await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: g.AutoScalingGroupName, ForceDelete: true })).catch(() => undefined);
  }
  await until('every group gone', async () => !(await scaling.send(new asg.DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups?.length, 120_000, 500).catch(() => undefined);
  await kiln.close();
});

const cli = (args: string[]) => aws(kiln.endpoint, args);
const members = async () => (await scaling.send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['web'] }))).AutoScalingGroups?.[0]?.Instances ?? [];
const inService = async () => (await members()).filter((i) => i.LifecycleState === 'InService' && i.HealthStatus === 'Healthy');
const settled = (n: number, what: string) => until(what, async () => {
  const all = await members();
  return all.length === n && all.every((i) => i.LifecycleState === 'InService') && all;
}, 180_000, 500);

async function imagesOf(ids: string[]): Promise<string[]> {
  const res = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
  return res.Reservations!.flatMap((r) => r.Instances!).map((i) => i.ImageId!);
}

test('a group of 3 keeps its capacity, replaces a powered-off instance and refreshes to a new image (SDK and aws-cli)', { skip, timeout: 900_000 }, async () => {
  const base = (await cli(['ec2', 'describe-images', '--owners', 'amazon'])).Images.find((i: { Name: string }) => i.Name.startsWith('kiln-minimal-'));
  const lt = (await cli(['ec2', 'create-launch-template', '--launch-template-name', 'web',
    '--launch-template-data', JSON.stringify({ ImageId: base.ImageId, InstanceType: 't3.micro' })])).LaunchTemplate;
  const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets!.map((s) => s.SubnetId!);

  await scaling.send(new asg.CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: lt.LaunchTemplateId, Version: '$Latest' }, MinSize: 1, MaxSize: 4, DesiredCapacity: 3,
    VPCZoneIdentifier: subnets.join(','), HealthCheckType: 'EC2', HealthCheckGracePeriod: 0, Tags: [{ Key: 'team', Value: 'web', PropagateAtLaunch: true }],
  }));
  const first = await settled(3, 'three instances InService');
  assert.equal(new Set(first.map((i) => i.AvailabilityZone)).size, 3, 'one per zone');

  // A shutdown from inside: the instance stops, the group takes it out of service and launches another.
  const victim = first[0]!.InstanceId!;
  await inInstance(kiln, victim, 'poweroff').catch(() => undefined);
  await until('the powered-off instance replaced', async () => {
    const now = await members();
    return now.length === 3 && !now.some((i) => i.InstanceId === victim) && now.every((i) => i.LifecycleState === 'InService');
  }, 180_000, 500);
  const acts = (await cli(['autoscaling', 'describe-scaling-activities', '--auto-scaling-group-name', 'web'])).Activities;
  const term = acts.find((a: { Description: string }) => a.Description === `Terminating EC2 instance: ${victim}`);
  assert.match(term.Cause, /in response to an EC2 health check indicating it has been terminated or stopped\./);
  assert.equal(term.StatusCode, 'Successful');

  // Bake a second image from a member (without a reboot: the group would see it go), as the template's version 2.
  const donor = (await inService())[0]!.InstanceId!;
  await inInstance(kiln, donor, 'echo baked-v2 > /etc/kiln-release && sync');
  const { ImageId: v2 } = await ec2.send(new CreateImageCommand({ InstanceId: donor, Name: 'web-v2', NoReboot: true }));
  await waitUntilImageAvailable({ client: ec2, maxWaitTime: 300, minDelay: 1, maxDelay: 2 }, { ImageIds: [v2!] });
  await cli(['ec2', 'create-launch-template-version', '--launch-template-id', lt.LaunchTemplateId, '--source-version', '1',
    '--launch-template-data', JSON.stringify({ ImageId: v2 })]);

  const { InstanceRefreshId } = await cli(['autoscaling', 'start-instance-refresh', '--auto-scaling-group-name', 'web',
    '--preferences', JSON.stringify({ MinHealthyPercentage: 66, InstanceWarmup: 0 })]);
  let lowest = 3;
  const done = await until('the instance refresh to succeed', async () => {
    lowest = Math.min(lowest, (await inService()).length);
    const r = (await scaling.send(new asg.DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'web', InstanceRefreshIds: [InstanceRefreshId] }))).InstanceRefreshes![0]!;
    assert.notEqual(r.Status, 'Failed');
    return r.Status === 'Successful' && r;
  }, 600_000, 200);
  assert.equal(done.PercentageComplete, 100);
  assert.ok(lowest >= 2, `InService dropped to ${lowest} during the refresh`);
  const refreshed = await settled(3, 'three refreshed instances');
  const ids = refreshed.map((i) => i.InstanceId!);
  assert.deepEqual(await imagesOf(ids), [v2, v2, v2]);
  for (const id of ids) assert.equal((await inInstance(kiln, id, 'cat /etc/kiln-release')).trim(), 'baked-v2');
  assert.ok(refreshed.every((i) => i.LaunchTemplate?.Version === '2'));

  // aws-cli: scale in, take one out with the desired capacity, AWS's error codes.
  await cli(['autoscaling', 'set-desired-capacity', '--auto-scaling-group-name', 'web', '--desired-capacity', '2']);
  const two = await settled(2, 'two instances');
  const act = (await cli(['autoscaling', 'terminate-instance-in-auto-scaling-group', '--instance-id', two[0]!.InstanceId!,
    '--should-decrement-desired-capacity'])).Activity;
  assert.match(act.Cause, /shrinking the capacity from 2 to 1\./);
  await settled(1, 'one instance');
  const group = (await cli(['autoscaling', 'describe-auto-scaling-groups', '--auto-scaling-group-names', 'web'])).AutoScalingGroups[0];
  assert.deepEqual([group.DesiredCapacity, group.Tags[0].Key, group.VPCZoneIdentifier], [1, 'team', subnets.join(',')]);
  assert.match(group.AutoScalingGroupARN, /^arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:[0-9a-f-]{36}:autoScalingGroupName\/web$/);
  const err = (args: string[]) => awsErrorCode(cli(['autoscaling', ...args]));
  assert.equal(await err(['create-auto-scaling-group', '--auto-scaling-group-name', 'web', '--launch-template', 'LaunchTemplateName=web',
    '--min-size', '0', '--max-size', '1', '--availability-zones', 'us-east-1a']), 'AlreadyExists');
  assert.equal(await err(['set-desired-capacity', '--auto-scaling-group-name', 'web', '--desired-capacity', '9']), 'ValidationError');
  assert.equal(await err(['delete-auto-scaling-group', '--auto-scaling-group-name', 'web']), 'ResourceInUse');
  assert.equal(await err(['describe-instance-refreshes', '--auto-scaling-group-name', 'nope']), 'ValidationError');

  // Force-deleted: every instance terminates, nothing is left running, the group goes.
  const all = (await kiln.app.ctx.store.instances.list()).filter((i) => i.tags.some((t) => t.key === 'aws:autoscaling:groupName')).map((i) => i.id);
  await cli(['autoscaling', 'delete-auto-scaling-group', '--auto-scaling-group-name', 'web', '--force-delete']);
  await until('the group gone', async () => !(await cli(['autoscaling', 'describe-auto-scaling-groups'])).AutoScalingGroups.length, 180_000, 500);
  const running = new Set(await kiln.app.ctx.runtime.list());
  assert.deepEqual(all.filter((id) => running.has(id)), []);
  for (const id of all) assert.equal((await kiln.app.ctx.store.instances.get(id))!.state, 'terminated');
});
