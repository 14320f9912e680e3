/**
 * Packer 1.6.6's amazon-ebs builder (Debian 12's package: aws-sdk-go 1.44.133)
 * as it reaches Kiln: every request of a build, in the order and the exact wire
 * form Packer sent them (recorded from a `packer build` of
 * test/packer/debian-service.json against a recording stub), parses with the
 * action's schema; the ones that need no instance also go through their
 * handlers over a store, so what Packer sends and what it reads back are both
 * checked without a server or an instance. test/packer.test.ts runs the real
 * build.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toApiError } from './errors.js';
import { HANDLERS } from './router.js';
import type { ImageRecord } from '../model/records.js';
import { CATALOG_ACCOUNT } from '../model/records.js';
import { findOperation, parseQuery, serializeResponse } from '../protocol/protocol.js';
import { RecordingRuntime } from '../runtime/recording-runtime.js';
import { KeyedMutex, Tasks } from '../services/core/concurrency.js';
import type { Caller, Context } from '../services/core/context.js';
import { Paths } from '../services/core/context.js';
import { defaultVpc } from '../services/network/network.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { tempDirs } from '../../test/temp.js';

const me: Caller = { account: '000000000000', region: 'us-east-1' };
const KEY = 'packer_6b0eb966-c63b-58f8-f826-3279a616e92b';
const GROUP = 'packer_6b0eb966-ab7e-2b24-2689-8fdb4cd4449f';
const AMI_NAME = 'kiln-packer-debian-1796127078';
let ctx: Context;
let store: SqliteStore;

after(async () => { await store?.close(); });
const newDir = tempDirs('kiln-packer-requests-');

before(async () => {
  const dir = await newDir();
  store = new SqliteStore(join(dir, 'kiln.db'));
  // Only what these actions use: the store, locks, tasks and a runtime without a firewall.
  ctx = {
    store, paths: new Paths(dir), runtime: new RecordingRuntime(), regions: ['us-east-1'], tasks: new Tasks(() => undefined),
    locks: new KeyedMutex(), instanceStateListeners: [], log: () => undefined,
  } as unknown as Context;
  const debian: ImageRecord = {
    id: 'ami-0d1e2b3a4c5d6e7f8', account: CATALOG_ACCOUNT, region: 'us-east-1', name: 'debian-12-amd64-20261201', state: 'available',
    architecture: 'x86_64', rootDeviceName: '/dev/xvda', creationDate: '2026-12-01T00:00:00.000Z', isPublic: true, enaSupport: true,
    blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { snapshotId: 'snap-0d1e2b3a4c5d6e7f8', volumeSize: 2, deleteOnTermination: true, volumeType: 'gp3', encrypted: false } }],
    tags: [],
  };
  await store.images.insert(debian);
});

/** A request's parameters as Packer's SDK writes them (form body of a POST). */
const wire = (action: string, params: Record<string, string>) => new URLSearchParams({ Action: action, Version: '2016-11-15', ...params });

function parse(params: URLSearchParams): Record<string, any> {
  const op = findOperation(params.get('Action')!);
  assert.ok(op, `EC2 has the action ${params.get('Action')}`);
  return parseQuery(params, op);
}

/** Parses, runs the action's handler, and serializes its answer as the server would; returns the answer. */
async function call(params: URLSearchParams): Promise<any> {
  const action = params.get('Action')!;
  const out = await HANDLERS[action]!(ctx, me, parse(params), { host: '127.0.0.1:4747', requestId: 'r-1' });
  assert.match(serializeResponse(findOperation(action)!, out as Record<string, unknown>, 'r-1'), new RegExp(`^<\\?xml[^>]*>\\s*<${action}Response`));
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return toApiError(err).code; }
}

test('the AMI name check and the source image look-up (owners ["amazon"], most_recent)', async () => {
  const taken = await call(wire('DescribeImages', { 'Filter.1.Name': 'name', 'Filter.1.Value.1': AMI_NAME }));
  assert.deepEqual(taken.Images, [], 'no image has the new name yet');
  const found = await call(wire('DescribeImages', {
    'Filter.1.Name': 'name', 'Filter.1.Value.1': 'debian-12-amd64-*', 'Filter.2.Name': 'root-device-type', 'Filter.2.Value.1': 'ebs',
    'Filter.3.Name': 'virtualization-type', 'Filter.3.Value.1': 'hvm', 'Filter.4.Name': 'state', 'Filter.4.Value.1': 'available', 'Owner.1': 'amazon',
  }));
  assert.deepEqual(found.Images.map((i: any) => i.Name), ['debian-12-amd64-20261201']);
  // What Packer dereferences: ImageId, RootDeviceType (must be "ebs"), CreationDate (most_recent sorts on it, RFC 3339).
  const [img] = found.Images;
  assert.equal(img.RootDeviceType, 'ebs');
  assert.ok(!Number.isNaN(Date.parse(img.CreationDate)));
  assert.equal(img.ImageOwnerAlias, 'amazon');
});

test('temporary key pair and security group: VpcId= (empty) is the default VPC; the group waiter, the SSH rule, the clean-up', async () => {
  const key = await call(wire('CreateKeyPair', { KeyName: KEY }));
  assert.match(key.KeyMaterial, /^-----BEGIN RSA PRIVATE KEY-----/);

  // Packer sends VpcId= when no vpc_id/subnet is configured; AWS takes it as the default VPC.
  const created = await call(wire('CreateSecurityGroup', { GroupDescription: 'Temporary group for Packer', GroupName: GROUP, VpcId: '' }));
  const groupId: string = created.GroupId;
  const [group] = (await call(wire('DescribeSecurityGroups', { 'GroupId.1': groupId }))).SecurityGroups;
  assert.equal(group.VpcId, defaultVpc(me).vpcId);
  assert.equal(group.GroupName, GROUP);
  await call(wire('AuthorizeSecurityGroupIngress', {
    GroupId: groupId, 'IpPermissions.1.FromPort': '22', 'IpPermissions.1.IpProtocol': 'tcp',
    'IpPermissions.1.IpRanges.1.CidrIp': '172.31.0.1/32', 'IpPermissions.1.ToPort': '22',
  }));
  const [withRule] = (await call(wire('DescribeSecurityGroups', { 'GroupId.1': groupId }))).SecurityGroups;
  assert.deepEqual(withRule.IpPermissions.map((p: any) => [p.IpProtocol, p.FromPort, p.ToPort, p.IpRanges.map((r: any) => r.CidrIp)]),
    [['tcp', 22, 22, ['172.31.0.1/32']]]);

  // A VpcId that is not the default VPC is still refused, as before.
  assert.equal(await codeOf(call(wire('CreateSecurityGroup', { GroupDescription: 'd', GroupName: 'other', VpcId: 'vpc-0123456789abcdef0' }))),
    'InvalidVpcID.NotFound');

  // Clean-up, after the instance is gone: the volumes check, then the group and the key pair.
  const vols = await call(wire('DescribeVolumes', { 'Filter.1.Name': 'volume-id', 'Filter.1.Value.1': 'vol-c106a2db01d803a06' }));
  assert.deepEqual(vols.Volumes, []);
  await call(wire('DeleteSecurityGroup', { GroupId: groupId }));
  await call(wire('DeleteKeyPair', { KeyName: KEY }));
  assert.deepEqual((await call(wire('DescribeSecurityGroups', {}))).SecurityGroups.map((g: any) => g.GroupName), ['default']);
  assert.deepEqual((await call(wire('DescribeKeyPairs', {}))).KeyPairs, []);
});

test('the instance and image requests parse as sent, empty strings included (RunInstances ... CreateTags)', () => {
  const run = parse(wire('RunInstances', {
    ClientToken: 'E7344684-98A5-465B-B2A7-1CEE76A2A984', EbsOptimized: 'false', 'IamInstanceProfile.Name': '', ImageId: 'ami-0d1e2b3a4c5d6e7f8',
    InstanceInitiatedShutdownBehavior: 'stop', InstanceType: 't3.micro', KeyName: KEY, MaxCount: '1', MinCount: '1',
    'Placement.AvailabilityZone': '', 'SecurityGroupId.1': 'sg-0b25e31c50fd240d3', SubnetId: '',
    'TagSpecification.1.ResourceType': 'instance', 'TagSpecification.1.Tag.1.Key': 'Name', 'TagSpecification.1.Tag.1.Value': 'kiln-packer-debian-builder',
    'TagSpecification.1.Tag.2.Key': 'Marker', 'TagSpecification.1.Tag.2.Value': 'm1', UserData: '',
  }));
  // The launch service takes '' for "not given" (default subnet, first zone, no user data; no instance profile is read).
  assert.deepEqual([run.SubnetId, run.Placement, run.UserData, run.IamInstanceProfile, run.EbsOptimized], ['', { AvailabilityZone: '' }, '', { Name: '' }, false]);
  assert.deepEqual(run.SecurityGroupIds, ['sg-0b25e31c50fd240d3']);
  for (const action of ['DescribeInstances', 'StopInstances', 'TerminateInstances']) {
    assert.deepEqual(parse(wire(action, { 'InstanceId.1': 'i-9c02ece6f20489489' })).InstanceIds, ['i-9c02ece6f20489489']);
  }
  assert.deepEqual(parse(wire('CreateImage', { InstanceId: 'i-9c02ece6f20489489', Name: AMI_NAME })), { InstanceId: 'i-9c02ece6f20489489', Name: AMI_NAME });
  assert.deepEqual(parse(wire('DescribeImages', { 'ImageId.1': 'ami-386e5d6dd0cad5d06' })).ImageIds, ['ami-386e5d6dd0cad5d06']);
  assert.deepEqual(parse(wire('ModifyImageAttribute', { 'Description.Value': 'baked', ImageId: 'ami-386e5d6dd0cad5d06' })).Description, { Value: 'baked' });
  const tags = parse(wire('CreateTags', {
    'ResourceId.1': 'ami-386e5d6dd0cad5d06', 'ResourceId.2': 'snap-bf3aa2154f2a28d5f', 'Tag.1.Key': 'Name', 'Tag.1.Value': 'kiln-packer-debian',
  }));
  assert.deepEqual([tags.Resources, tags.Tags], [['ami-386e5d6dd0cad5d06', 'snap-bf3aa2154f2a28d5f'], [{ Key: 'Name', Value: 'kiln-packer-debian' }]]);
  // With skip_region_validation false, Packer first lists the regions (no parameters).
  assert.deepEqual(parse(wire('DescribeRegions', {})), {});
});
