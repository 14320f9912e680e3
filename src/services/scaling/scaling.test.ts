/**
 * Auto Scaling without containers (the recording runtime), through the SDK
 * against a whole server: the reconciler reaches and keeps the desired
 * capacity over the zones, replaces what shuts down, scales in, honours
 * suspended processes and lifecycle hooks, refreshes a group to a new template
 * version without dropping below the minimum healthy percentage, answers AWS's
 * error codes, and after a crash between a launch and its record finds the
 * instance the launch made instead of launching a second one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as asg from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { startKiln, until } from '../../../test/harness.js';
import type { Kiln } from '../../../test/harness.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';
import { launchInstances } from '../templates/template-launch.js';
import { activityStore, newActivity } from './activities.js';
import { groupStore } from './groups.js';

let dataDir: string;
let kiln: Kiln;
let rt: RecordingRuntime;
let scaling: asg.AutoScalingClient;
let imageId: string;

const connect = (k: Kiln) => new asg.AutoScalingClient({ endpoint: k.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kiln-asg-'));
  rt = new RecordingRuntime();
  kiln = await startKiln({ dataDir, runtime: rt, regions: ['us-east-1'] });
  scaling = connect(kiln);
  imageId = (await kiln.client().send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  await kiln.client().send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'web', LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.nano' } }));
});
after(async () => {
  await kiln?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const codeOf = (p: Promise<unknown>) => p.then(() => 'none', (e: { Code?: string; name?: string }) => e.Code ?? e.name);
const group = async (name: string) => (await scaling.send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }))).AutoScalingGroups?.[0];
const inService = async (name: string) => (await group(name))?.Instances?.filter((i) => i.LifecycleState === 'InService') ?? [];
const waitInService = (name: string, n: number, exact = true) => until(`${n} InService in ${name}`, async () => {
  const g = await group(name);
  const ins = g?.Instances ?? [];
  return ins.filter((i) => i.LifecycleState === 'InService').length === n && (!exact || ins.length === n) && ins;
}, 20_000, 100);

test('a group of 3 reaches InService over three zones, tagged; a shutdown from inside is replaced', async () => {
  await scaling.send(new asg.CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'g1', LaunchTemplate: { LaunchTemplateName: 'web', Version: '$Latest' }, MinSize: 1, MaxSize: 5, DesiredCapacity: 3,
    AvailabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], Tags: [{ Key: 'team', Value: 'a', PropagateAtLaunch: true }, { Key: 'quiet', Value: 'b', PropagateAtLaunch: false }],
  }));
  const ins = await waitInService('g1', 3);
  assert.deepEqual(ins.map((i) => i.AvailabilityZone).sort(), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
  const ids = ins.map((i) => i.InstanceId!);
  const res = await kiln.client().send(new DescribeInstancesCommand({ InstanceIds: ids }));
  for (const inst of res.Reservations!.flatMap((r) => r.Instances!)) {
    const tags = Object.fromEntries(inst.Tags!.map((t) => [t.Key, t.Value]));
    assert.equal(tags['aws:autoscaling:groupName'], 'g1');
    assert.equal(tags.team, 'a');
    assert.equal(tags.quiet, undefined);
  }
  const acts = (await scaling.send(new asg.DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'g1' }))).Activities!;
  assert.equal(acts.length, 3);
  assert.ok(acts.every((a) => a.StatusCode === 'Successful' && a.Progress === 100 && /^Launching a new EC2 instance: i-/.test(a.Description!)));
  assert.match(acts[0]!.Cause!, /^At \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ a user request created an AutoScalingGroup changing the desired capacity from 0 to 3\.  At \S+ an instance was started in response to a difference between desired and actual capacity, increasing the capacity from 0 to 3\.$/);

  rt.guestExit(ids[0]!);
  const after = await until('the stopped instance replaced', async () => {
    const now = await inService('g1');
    return now.length === 3 && !now.some((i) => i.InstanceId === ids[0]) && now;
  }, 20_000, 100);
  assert.equal(after.length, 3);
  const acts2 = (await scaling.send(new asg.DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'g1' }))).Activities!;
  const term = acts2.find((a) => a.Description === `Terminating EC2 instance: ${ids[0]}`)!;
  assert.match(term.Cause!, /an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped\./);
  const details = (await scaling.send(new asg.DescribeAutoScalingInstancesCommand({ InstanceIds: [after[0]!.InstanceId!] }))).AutoScalingInstances!;
  assert.deepEqual([details[0]!.AutoScalingGroupName, details[0]!.HealthStatus, details[0]!.LifecycleState], ['g1', 'HEALTHY', 'InService']);
});

test('SetDesiredCapacity scales in; TerminateInstanceInAutoScalingGroup with and without decrement', async () => {
  await scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 2 }));
  let ins = await waitInService('g1', 2);
  const act = (await scaling.send(new asg.TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ins[0]!.InstanceId, ShouldDecrementDesiredCapacity: true }))).Activity!;
  assert.equal(act.Description, `Terminating EC2 instance: ${ins[0]!.InstanceId}`);
  assert.match(act.Cause!, /was taken out of service in response to a user request, shrinking the capacity from 2 to 1\./);
  ins = await waitInService('g1', 1);
  assert.equal((await group('g1'))!.DesiredCapacity, 1);
  assert.equal(await codeOf(scaling.send(new asg.TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ins[0]!.InstanceId, ShouldDecrementDesiredCapacity: true }))), 'ValidationError');
  await scaling.send(new asg.TerminateInstanceInAutoScalingGroupCommand({ InstanceId: ins[0]!.InstanceId, ShouldDecrementDesiredCapacity: false }));
  await until('a replacement', async () => { const n = await inService('g1'); return n.length === 1 && n[0]!.InstanceId !== ins[0]!.InstanceId; }, 20_000, 100);
});

test('suspended Launch holds capacity back until resumed; SetInstanceHealth Unhealthy replaces', async () => {
  await scaling.send(new asg.SuspendProcessesCommand({ AutoScalingGroupName: 'g1', ScalingProcesses: ['Launch'] }));
  await scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 2 }));
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await group('g1'))!.Instances!.length, 1);
  assert.deepEqual((await group('g1'))!.SuspendedProcesses!.map((p) => p.ProcessName), ['Launch']);
  await scaling.send(new asg.ResumeProcessesCommand({ AutoScalingGroupName: 'g1' }));
  const ins = await waitInService('g1', 2);
  await scaling.send(new asg.SetInstanceHealthCommand({ InstanceId: ins[0]!.InstanceId, HealthStatus: 'Unhealthy' }));
  await until('the unhealthy one replaced', async () => { const n = await inService('g1'); return n.length === 2 && !n.some((i) => i.InstanceId === ins[0]!.InstanceId); }, 20_000, 100);
});

test('an instance refresh replaces every instance with the new version, never below the minimum healthy', async () => {
  await kiln.client().send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'web', SourceVersion: '1', LaunchTemplateData: { InstanceType: 't3.micro' } }));
  await scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 3 }));
  await waitInService('g1', 3);
  const { InstanceRefreshId } = await scaling.send(new asg.StartInstanceRefreshCommand({ AutoScalingGroupName: 'g1', Preferences: { MinHealthyPercentage: 66, InstanceWarmup: 0 } }));
  assert.equal(await codeOf(scaling.send(new asg.StartInstanceRefreshCommand({ AutoScalingGroupName: 'g1' }))), 'InstanceRefreshInProgress');
  let lowest = 3;
  const done = await until('the refresh to finish', async () => {
    lowest = Math.min(lowest, (await inService('g1')).length);
    const r = (await scaling.send(new asg.DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'g1', InstanceRefreshIds: [InstanceRefreshId!] }))).InstanceRefreshes![0]!;
    return r.Status === 'Successful' && r;
  }, 30_000, 50);
  assert.equal(done.PercentageComplete, 100);
  assert.ok(lowest >= 2, `InService went down to ${lowest}`);
  const ins = await waitInService('g1', 3);
  assert.ok(ins.every((i) => i.LaunchTemplate?.Version === '2' && i.InstanceType === 't3.micro'));
  assert.equal(await codeOf(scaling.send(new asg.CancelInstanceRefreshCommand({ AutoScalingGroupName: 'g1' }))), 'ActiveInstanceRefreshNotFound');
});

test('a launching hook holds an instance in Pending:Wait until CompleteLifecycleAction', async () => {
  await scaling.send(new asg.PutLifecycleHookCommand({
    AutoScalingGroupName: 'g1', LifecycleHookName: 'warm', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 300, DefaultResult: 'ABANDON',
  }));
  const hooks = (await scaling.send(new asg.DescribeLifecycleHooksCommand({ AutoScalingGroupName: 'g1' }))).LifecycleHooks!;
  assert.deepEqual(hooks.map((h) => [h.LifecycleHookName, h.HeartbeatTimeout, h.DefaultResult]), [['warm', 300, 'ABANDON']]);
  await scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 4 }));
  const waiting = await until('Pending:Wait', async () => (await group('g1'))!.Instances!.find((i) => i.LifecycleState === 'Pending:Wait'), 20_000, 100);
  await scaling.send(new asg.RecordLifecycleActionHeartbeatCommand({ AutoScalingGroupName: 'g1', LifecycleHookName: 'warm', InstanceId: waiting.InstanceId }));
  await scaling.send(new asg.CompleteLifecycleActionCommand({ AutoScalingGroupName: 'g1', LifecycleHookName: 'warm', InstanceId: waiting.InstanceId, LifecycleActionResult: 'CONTINUE' }));
  await waitInService('g1', 4);
  assert.equal(await codeOf(scaling.send(new asg.CompleteLifecycleActionCommand({
    AutoScalingGroupName: 'g1', LifecycleHookName: 'warm', InstanceId: waiting.InstanceId, LifecycleActionResult: 'CONTINUE',
  }))), 'ValidationError');
  await scaling.send(new asg.DeleteLifecycleHookCommand({ AutoScalingGroupName: 'g1', LifecycleHookName: 'warm' }));
});

test('a scheduled action changes the capacity when due, and goes once run', async () => {
  await scaling.send(new asg.PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: 'g1', ScheduledActionName: 'night', Recurrence: '0 3 * * *', MinSize: 0 }));
  await scaling.send(new asg.PutScheduledUpdateGroupActionCommand({ AutoScalingGroupName: 'g1', ScheduledActionName: 'now', StartTime: new Date(), DesiredCapacity: 2 }));
  await waitInService('g1', 2);
  const left = (await scaling.send(new asg.DescribeScheduledActionsCommand({ AutoScalingGroupName: 'g1' }))).ScheduledUpdateGroupActions!;
  assert.deepEqual(left.map((a) => a.ScheduledActionName), ['night']);
  assert.equal(left[0]!.StartTime!.getUTCHours(), 3);
  await scaling.send(new asg.DeleteScheduledActionCommand({ AutoScalingGroupName: 'g1', ScheduledActionName: 'night' }));
  assert.equal(await codeOf(scaling.send(new asg.DeleteScheduledActionCommand({ AutoScalingGroupName: 'g1', ScheduledActionName: 'night' }))), 'ValidationError');
});

test('tags: CreateOrUpdateTags, DescribeTags with filters, DeleteTags', async () => {
  const tag = (Key: string, Value?: string, PropagateAtLaunch?: boolean) => ({ ResourceId: 'g1', ResourceType: 'auto-scaling-group', Key, Value, PropagateAtLaunch });
  await scaling.send(new asg.CreateOrUpdateTagsCommand({ Tags: [tag('env', 'test', true), tag('team', 'b', true)] }));
  const found = (await scaling.send(new asg.DescribeTagsCommand({ Filters: [{ Name: 'auto-scaling-group', Values: ['g1'] }, { Name: 'propagate-at-launch', Values: ['true'] }] }))).Tags!;
  assert.deepEqual(found.map((t) => [t.Key, t.Value]).sort(), [['env', 'test'], ['team', 'b']]);
  await scaling.send(new asg.DeleteTagsCommand({ Tags: [tag('env')] }));
  assert.deepEqual((await group('g1'))!.Tags!.map((t) => t.Key).sort(), ['quiet', 'team']);
  assert.equal(await codeOf(scaling.send(new asg.CreateOrUpdateTagsCommand({ Tags: [{ ...tag('x', 'y'), ResourceId: 'nope' }] }))), 'ValidationError');
});

test('AZRebalance: members in a zone the group drops move to the zones it has', async () => {
  await scaling.send(new asg.CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'zones', LaunchTemplate: { LaunchTemplateName: 'web' }, MinSize: 0, MaxSize: 3, DesiredCapacity: 2, AvailabilityZones: ['us-east-1c'],
  }));
  await waitInService('zones', 2);
  await scaling.send(new asg.UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'zones', AvailabilityZones: ['us-east-1a', 'us-east-1b'] }));
  const moved = await until('both moved', async () => {
    const ins = await waitInService('zones', 2);
    return ins.every((i) => i.AvailabilityZone !== 'us-east-1c') && ins;
  }, 20_000, 100);
  assert.deepEqual(moved.map((i) => i.AvailabilityZone).sort(), ['us-east-1a', 'us-east-1b']);
  await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'zones', ForceDelete: true }));
  await until('the group gone', async () => !(await group('zones')), 20_000, 100);
});

test("AWS's error codes", async () => {
  const base = { LaunchTemplate: { LaunchTemplateName: 'web' }, MinSize: 0, MaxSize: 2, AvailabilityZones: ['us-east-1a'] };
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'g1' }))), 'AlreadyExists');
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'x', MinSize: 3 }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'x', DesiredCapacity: 5 }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'x', LaunchTemplate: { LaunchTemplateName: 'nope' } }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'x', AvailabilityZones: undefined }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.CreateAutoScalingGroupCommand({ ...base, AutoScalingGroupName: 'x', VPCZoneIdentifier: 'subnet-0000000000000000a', AvailabilityZones: undefined }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 9 }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.UpdateAutoScalingGroupCommand({ AutoScalingGroupName: 'nope', MinSize: 1 }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'g1' }))), 'ResourceInUse');
  assert.equal(await codeOf(scaling.send(new asg.SuspendProcessesCommand({ AutoScalingGroupName: 'g1', ScalingProcesses: ['Bogus'] }))), 'ValidationError');
  assert.equal(await codeOf(scaling.send(new asg.DescribeAutoScalingGroupsCommand({ MaxRecords: 500 }))), 'ValidationError');
  const limits = await scaling.send(new asg.DescribeAccountLimitsCommand({}));
  assert.equal(limits.NumberOfAutoScalingGroups, 1);
});

test('DeleteAutoScalingGroup --force-delete terminates every instance, then the group goes', async () => {
  const ids = (await group('g1'))!.Instances!.map((i) => i.InstanceId!);
  // A terminating hook holds a scale-in, but not a forced delete.
  await scaling.send(new asg.PutLifecycleHookCommand({
    AutoScalingGroupName: 'g1', LifecycleHookName: 'drain', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300,
  }));
  await scaling.send(new asg.SetDesiredCapacityCommand({ AutoScalingGroupName: 'g1', DesiredCapacity: 1 }));
  await until('Terminating:Wait', async () => (await group('g1'))!.Instances!.some((i) => i.LifecycleState === 'Terminating:Wait'), 20_000, 100);
  await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'g1', ForceDelete: true }));
  assert.equal((await group('g1'))?.Status, 'Delete in progress');
  await until('the group gone', async () => !(await group('g1')), 20_000, 100);
  for (const id of ids) assert.equal((await kiln.app.ctx.store.instances.get(id))!.state, 'terminated');
});

test('a crash between a launch and its record neither loses nor doubles the instance', async () => {
  const ctx = kiln.app.ctx;
  await scaling.send(new asg.CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'crash', LaunchTemplate: { LaunchTemplateName: 'web' }, MinSize: 0, MaxSize: 2, DesiredCapacity: 0, AvailabilityZones: ['us-east-1b'],
  }));
  await scaling.send(new asg.SuspendProcessesCommand({ AutoScalingGroupName: 'crash', ScalingProcesses: ['Launch'] }));
  // The reconciler's first half: the intent written, then RunInstances under its ClientToken ... and the server dies.
  const g = (await groupStore(ctx).get('000000000000/us-east-1/crash'))!;
  const act = { ...newActivity(g, { kind: 'launch', description: 'Launching a new EC2 instance', cause: 'c', statusCode: 'WaitingForInstanceId' }) };
  act.clientToken = act.id;
  await ctx.store.transaction(async () => {
    await activityStore(ctx).insert(act);
    await groupStore(ctx).update(g.id, (x) => ({ ...x, desiredCapacity: 1, launching: [{ activityId: act.id, availabilityZone: 'us-east-1b' }] }));
  });
  const tags = [{ key: 'aws:autoscaling:groupName', value: 'crash' }];
  const [first] = await launchInstances(ctx, { account: g.account, region: g.region }, {
    data: { tagSpecifications: [{ resourceType: 'instance', tags }], availabilityZone: 'us-east-1b' }, minCount: 1, maxCount: 1, clientToken: act.id,
    launchTemplate: { id: g.launchTemplate.id, version: g.launchTemplate.version },
  });
  await ctx.tasks.idle();
  // Containers outlive a crash of the server (the harness's close stops them; they come back as they were).
  const alive = [...rt.running];
  await kiln.close();
  for (const id of alive) rt.running.add(id);
  kiln = await startKiln({ dataDir, runtime: rt, regions: ['us-east-1'] });
  scaling = connect(kiln);
  await scaling.send(new asg.ResumeProcessesCommand({ AutoScalingGroupName: 'crash' }));
  const ins = await waitInService('crash', 1);
  assert.equal(ins[0]!.InstanceId, first!.inst.id);
  const tagged = (await kiln.app.ctx.store.instances.list()).filter((i) => i.tags.some((t) => t.key === 'aws:autoscaling:groupName' && t.value === 'crash'));
  assert.equal(tagged.length, 1);
  const a = (await scaling.send(new asg.DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'crash' }))).Activities!.find((x) => x.ActivityId === act.id)!;
  assert.deepEqual([a.StatusCode, a.Description], ['Successful', `Launching a new EC2 instance: ${first!.inst.id}`]);
  await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'crash', ForceDelete: true }));
  await until('the group gone', async () => !(await group('crash')), 20_000, 100);
});
