/**
 * The AWS Query side of the codec (autoscaling) against the SDK itself:
 * requests the SDK builds parse back to their input (`Key.member.N` lists,
 * nested structures), responses Kiln writes deserialize to the object they were
 * written from, and the `<ErrorResponse>` envelope reaches the SDK as its code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as asg from '@aws-sdk/client-auto-scaling';
import { SERVICE_HANDLERS } from '../api/router.js';
import { findOperation, parseQuery, ProtocolError, serializeError, serializeResponse } from './protocol.js';
import type { Exchange } from '../../test/query-transport.js';
import { cannedQueryClient, sendCommand } from '../../test/query-transport.js';

/** A client whose transport records the request body and answers with canned XML. */
const client = (ex: Exchange) => new asg.AutoScalingClient(cannedQueryClient(ex));
const send = (action: string, input: object, ex: Exchange): Promise<any> => sendCommand(asg, client(ex), action, input);

const T = new Date('2026-11-22T10:11:12.345Z');
const lt = { LaunchTemplateId: 'lt-0123456789abcdef0', LaunchTemplateName: 'web', Version: '$Latest' };

const CASES: Record<string, { input: object; output: object }> = {
  CreateAutoScalingGroup: {
    input: { AutoScalingGroupName: 'web', LaunchTemplate: lt, MinSize: 1, MaxSize: 3, DesiredCapacity: 2, AvailabilityZones: ['us-east-1a', 'us-east-1b'],
      HealthCheckType: 'EC2', HealthCheckGracePeriod: 30, Tags: [{ Key: 'team', Value: 'a & <b>', PropagateAtLaunch: true }],
      LifecycleHookSpecificationList: [{ LifecycleHookName: 'h', LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 60 }] },
    output: {},
  },
  DescribeAutoScalingGroups: {
    input: { AutoScalingGroupNames: ['web', 'db'], MaxRecords: 10, Filters: [{ Name: 'tag:team', Values: ['a'] }] },
    output: { NextToken: 'n', AutoScalingGroups: [{ AutoScalingGroupName: 'web', AutoScalingGroupARN: 'arn:x', LaunchTemplate: lt, MinSize: 1, MaxSize: 3, DesiredCapacity: 2,
      DefaultCooldown: 300, AvailabilityZones: ['us-east-1a'], HealthCheckType: 'EC2', CreatedTime: T, NewInstancesProtectedFromScaleIn: false,
      Instances: [{ InstanceId: 'i-0123456789abcdef0', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false, LaunchTemplate: lt }],
      SuspendedProcesses: [{ ProcessName: 'Launch', SuspensionReason: 'r' }], Tags: [{ ResourceId: 'web', ResourceType: 'auto-scaling-group', Key: 'k', Value: 'v', PropagateAtLaunch: true }] }] },
  },
  DescribeScalingActivities: {
    input: { AutoScalingGroupName: 'web', ActivityIds: ['a1'] },
    output: { Activities: [{ ActivityId: 'a1', AutoScalingGroupName: 'web', Cause: 'c', StartTime: T, EndTime: T, StatusCode: 'Successful', Progress: 100, Description: 'd' }] },
  },
  StartInstanceRefresh: {
    input: { AutoScalingGroupName: 'web', Preferences: { MinHealthyPercentage: 66, InstanceWarmup: 5 } }, output: { InstanceRefreshId: 'r1' },
  },
  SetDesiredCapacity: { input: { AutoScalingGroupName: 'web', DesiredCapacity: 3, HonorCooldown: true }, output: {} },
  SuspendProcesses: { input: { AutoScalingGroupName: 'web', ScalingProcesses: ['Launch', 'Terminate'] }, output: {} },
  DescribeLifecycleHookTypes: { input: {}, output: { LifecycleHookTypes: ['autoscaling:EC2_INSTANCE_LAUNCHING'] } },
};

for (const [action, { input, output }] of Object.entries(CASES)) {
  test(`${action}: the SDK's request parses back to its input`, async () => {
    const ex: Exchange = {};
    const op = findOperation(action, 'autoscaling')!;
    ex.reply = { status: 200, xml: serializeResponse(op, output as Record<string, unknown>, 'req-1') };
    await send(action, input, ex);
    const params = new URLSearchParams(ex.body);
    assert.equal(params.get('Version'), '2011-01-01');
    assert.deepEqual(parseQuery(params, op), input);
  });
  test(`${action}: a serialized response deserializes in the SDK to the same object`, async () => {
    const xml = serializeResponse(findOperation(action, 'autoscaling')!, output as Record<string, unknown>, 'req-1');
    assert.deepEqual(await send(action, input, { reply: { status: 200, xml } }), output);
  });
}

test('every autoscaling handler names an action of the model', () => {
  for (const action of Object.keys(SERVICE_HANDLERS.autoscaling)) assert.ok(findOperation(action, 'autoscaling'), action);
});

test('the ErrorResponse envelope reaches the SDK as the same code', async () => {
  const xml = serializeError('AlreadyExists', 'exists', 'r-1', 'autoscaling');
  assert.match(xml, /<ErrorResponse xmlns="http:\/\/autoscaling.amazonaws.com\/doc\/2011-01-01\/"><Error><Type>Sender<\/Type>/);
  await assert.rejects(send('DescribeAutoScalingGroups', {}, { reply: { status: 400, xml } }), (e: any) => e.Code === 'AlreadyExists' && e.message === 'exists');
});

test('lists are Key.member.N: a flattened EC2-style list is refused', () => {
  const op = findOperation('DescribeAutoScalingGroups', 'autoscaling')!;
  const code = (q: string) => { try { parseQuery(new URLSearchParams(q), op); return 'none'; } catch (e) { return (e as ProtocolError).code; } };
  assert.equal(code('AutoScalingGroupNames.1=web'), 'UnknownParameter');
  assert.equal(code('AutoScalingGroupNames.member.1=web'), 'none');
  assert.deepEqual(parseQuery(new URLSearchParams('AutoScalingGroupNames.member.2=b&AutoScalingGroupNames.member.1=a'), op).AutoScalingGroupNames, ['a', 'b']);
});
