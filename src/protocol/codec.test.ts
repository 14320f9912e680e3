/**
 * The codec against the SDK itself: every request the SDK builds for the
 * actions Kiln serves parses back to the input it was built from, and every
 * response Kiln writes deserializes in the SDK to the object it was written from.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ec2 from '@aws-sdk/client-ec2';
import { HANDLERS } from '../api/router.js';
import { findOperation, parseQuery, ProtocolError, serializeError, serializeResponse } from './protocol.js';
import { sample } from '../../test/schema-sample.js';
import type { Exchange } from '../../test/query-transport.js';
import { cannedQueryClient, sendCommand } from '../../test/query-transport.js';

/** A client whose transport records the request body and answers with canned XML. */
const client = (ex: Exchange) => new ec2.EC2Client(cannedQueryClient(ex));
const send = (action: string, input: object, ex: Exchange): Promise<any> => sendCommand(ec2, client(ex), action, input);

const T = new Date('2026-11-22T10:11:12.345Z');
const filters = [{ Name: 'name', Values: ['web-*', 'db?'] }, { Name: 'tag:team', Values: ['a'] }];
const tagSpecs = [{ ResourceType: 'instance' as const, Tags: [{ Key: 'Name', Value: 'web <1> & "x"' }] }];

/** One representative request and response per action, using lists, nesting, numbers, booleans and timestamps. */
const CASES: Record<string, { input: object; output: object }> = {
  DescribeRegions: { input: { AllRegions: true, RegionNames: ['us-east-1', 'eu-west-1'], Filters: filters },
    output: { Regions: [{ RegionName: 'us-east-1', Endpoint: 'ec2.us-east-1.amazonaws.com', OptInStatus: 'opt-in-not-required' }] } },
  DescribeAvailabilityZones: { input: { ZoneNames: ['us-east-1a'], AllAvailabilityZones: false },
    output: { AvailabilityZones: [{ ZoneName: 'us-east-1a', State: 'available', RegionName: 'us-east-1', ZoneId: 'use1-az1', Messages: [] }] } },
  DescribeImages: { input: { Owners: ['self', 'amazon'], ImageIds: ['ami-0123456789abcdef0'], ExecutableUsers: ['all'], Filters: filters, IncludeDeprecated: true, MaxResults: 10, NextToken: 'tok' },
    output: { NextToken: 'n', Images: [{ ImageId: 'ami-0123456789abcdef0', Name: 'web-v1', Public: true, CreationDate: '2026-11-22T10:11:12.000Z', State: 'available',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0', VolumeSize: 1, DeleteOnTermination: true, Encrypted: false } }],
      Tags: [{ Key: 'k', Value: 'v & <w>' }], StateReason: { Code: 'c', Message: 'm' } }] } },
  CreateImage: { input: { InstanceId: 'i-0123456789abcdef0', Name: 'web-v1', Description: 'd', NoReboot: true, TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'a', Value: 'b' }] }],
    BlockDeviceMappings: [{ DeviceName: '/dev/sdb', NoDevice: '' }] }, output: { ImageId: 'ami-0123456789abcdef0' } },
  DeregisterImage: { input: { ImageId: 'ami-0123456789abcdef0', DeleteAssociatedSnapshots: true },
    output: { Return: true, DeleteSnapshotResults: [{ SnapshotId: 'snap-0123456789abcdef0', ReturnCode: 'success' }] } },
  DescribeSnapshots: { input: { OwnerIds: ['self'], SnapshotIds: ['snap-0123456789abcdef0'], RestorableByUserIds: ['111122223333'], MaxResults: 5 },
    output: { Snapshots: [{ SnapshotId: 'snap-0123456789abcdef0', StartTime: T, VolumeSize: 1, State: 'completed', Progress: '100%', Encrypted: false, OwnerId: '000000000000', Description: 'Created by CreateImage' }] } },
  RunInstances: { input: { ImageId: 'ami-0123456789abcdef0', InstanceType: 't3.micro', MinCount: 1, MaxCount: 2, UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
    TagSpecifications: tagSpecs, ClientToken: 'token-1', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4, DeleteOnTermination: false } }] },
  output: { ReservationId: 'r-0123456789abcdef0', OwnerId: '000000000000', Groups: [], Instances: [{ InstanceId: 'i-0123456789abcdef0', LaunchTime: T, State: { Code: 0, Name: 'pending' }, CpuOptions: { CoreCount: 1, ThreadsPerCore: 2 } }] } },
  DescribeInstances: { input: { InstanceIds: ['i-0123456789abcdef0'], Filters: filters, MaxResults: 6 },
    output: { Reservations: [{ ReservationId: 'r-0123456789abcdef0', Instances: [{ InstanceId: 'i-0123456789abcdef0', State: { Code: 16, Name: 'running' }, Placement: { AvailabilityZone: 'us-east-1a' }, Tags: [{ Key: 'Name', Value: 'x' }] }] }] } },
  DescribeInstanceStatus: { input: { InstanceIds: ['i-0123456789abcdef0'], IncludeAllInstances: true },
    output: { InstanceStatuses: [{ InstanceId: 'i-0123456789abcdef0', InstanceState: { Code: 16, Name: 'running' }, InstanceStatus: { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] } }] } },
  StopInstances: { input: { InstanceIds: ['i-0123456789abcdef0'], Force: true, Hibernate: false },
    output: { StoppingInstances: [{ InstanceId: 'i-0123456789abcdef0', CurrentState: { Code: 64, Name: 'stopping' }, PreviousState: { Code: 16, Name: 'running' } }] } },
  StartInstances: { input: { InstanceIds: ['i-0123456789abcdef0', 'i-0123456789abcdef1'] },
    output: { StartingInstances: [{ InstanceId: 'i-0123456789abcdef0', CurrentState: { Code: 0, Name: 'pending' }, PreviousState: { Code: 80, Name: 'stopped' } }] } },
  RebootInstances: { input: { InstanceIds: ['i-0123456789abcdef0'] }, output: {} },
  TerminateInstances: { input: { InstanceIds: ['i-0123456789abcdef0'] },
    output: { TerminatingInstances: [{ InstanceId: 'i-0123456789abcdef0', CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } }] } },
  GetConsoleOutput: { input: { InstanceId: 'i-0123456789abcdef0', Latest: true },
    output: { InstanceId: 'i-0123456789abcdef0', Timestamp: T, Output: Buffer.from('hello\n').toString('base64') } },
  CreateTags: { input: { Resources: ['ami-0123456789abcdef0', 'i-0123456789abcdef0'], Tags: [{ Key: 'a', Value: '' }, { Key: 'b=c', Value: 'ü' }] }, output: {} },
  DeleteTags: { input: { Resources: ['ami-0123456789abcdef0'], Tags: [{ Key: 'a' }] }, output: {} },
};

/** Every action Kiln serves gets a generated case with every member filled; the hand-written ones above add realistic values. */
const ALL: Record<string, { input: object; output: object }> = {};
for (const action of Object.keys(HANDLERS)) {
  const op = findOperation(action)!;
  ALL[`${action} (every member)`] = { input: (sample(op.input, 'in', 4, T) ?? {}) as object, output: (sample(op.output, 'out', 4, T) ?? {}) as object };
}

test('every action Kiln serves is an EC2 operation in the SDK', () => {
  assert.deepEqual(Object.keys(HANDLERS).filter((a) => !findOperation(a)), []);
});

for (const [label, { input, output }] of [...Object.entries(CASES), ...Object.entries(ALL)]) {
  const action = label.split(' ')[0]!;
  test(`${label}: an SDK-built request parses back to its input`, async () => {
    const ex: Exchange = { reply: { status: 200, xml: serializeResponse(findOperation(action)!, {}, 'req') } };
    await send(action, input, ex);
    const params = new URLSearchParams(ex.body);
    assert.equal(params.get('Action'), action);
    const parsed = parseQuery(params, findOperation(action)!);
    assert.deepEqual(parsed, input);
  });

  test(`${label}: a serialized response deserializes in the SDK to the same object`, async () => {
    const xml = serializeResponse(findOperation(action)!, output as Record<string, unknown>, 'req-1');
    const got = await send(action, input, { reply: { status: 200, xml } });
    assert.deepEqual(got, output);
  });
}

test('the error envelope reaches the SDK as the same code and message', async () => {
  const xml = serializeError('InvalidAMIID.NotFound', "The image id '[ami-x]' does not exist", 'r-1');
  await assert.rejects(send('DescribeImages', {}, { reply: { status: 400, xml } }),
    (e: any) => e.name === 'InvalidAMIID.NotFound' && e.message === "The image id '[ami-x]' does not exist");
});

function parseError(query: string, action = 'DescribeImages'): string {
  try {
    parseQuery(new URLSearchParams(query), findOperation(action)!);
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'none';
}

test('malformed input is refused with an AWS code', () => {
  assert.equal(parseError('Action=DescribeImages&Bogus=1'), 'UnknownParameter');
  assert.equal(parseError('Owner.x=self'), 'UnknownParameter');
  assert.equal(parseError('Owner.0=self'), 'UnknownParameter');
  assert.equal(parseError('Filter.1.Nme=name'), 'UnknownParameter');
  assert.equal(parseError('MaxResults=ten'), 'InvalidParameterValue');
  assert.equal(parseError('IncludeDeprecated=yes'), 'InvalidParameterValue');
  assert.equal(parseError('Owner=self'), 'InvalidParameterValue');
  assert.equal(parseError('Owner.1=self&Owner.2=amazon'), 'none');
});

test('list items come back in index order whatever order they arrive in', () => {
  const p = parseQuery(new URLSearchParams('Owner.10=c&Owner.2=b&Owner.1=a'), findOperation('DescribeImages')!);
  assert.deepEqual(p.Owners, ['a', 'b', 'c']);
});

test('a bare action with no result members answers return=true', () => {
  assert.match(serializeResponse(findOperation('RebootInstances')!, {}, 'r'), /<return>true<\/return>/);
});
