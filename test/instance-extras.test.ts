/**
 * The instance calls tools make around RunInstances (instance types, account
 * attributes, instance attributes, CPU credits, metadata options) and the
 * default VPC they read (VPCs, subnets, security groups, network interfaces),
 * through the SDK against an in-process Kiln. Instances boot on a recording
 * runtime: only what the API answers matters here.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  DescribeAccountAttributesCommand, DescribeAvailabilityZonesCommand, DescribeInstanceAttributeCommand, DescribeInstanceCreditSpecificationsCommand,
  DescribeInstanceTypeOfferingsCommand, DescribeInstanceTypesCommand, DescribeInstancesCommand, DescribeKeyPairsCommand,
  DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand, GetInstanceUefiDataCommand,
  ModifyInstanceAttributeCommand, ModifyInstanceCreditSpecificationCommand, ModifyInstanceMetadataOptionsCommand, RunInstancesCommand,
  StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Instance, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { aws, startKiln, until } from './harness.js';
import { RecordingRuntime } from '../src/runtime/recording-runtime.js';

let kiln: Kiln;
let ec2: EC2Client;
let amiId: string;

before(async () => {
  kiln = await startKiln({ runtime: new RecordingRuntime(), regions: ['us-east-1', 'us-west-2'] });
  ec2 = kiln.client('us-east-1');
  amiId = (await kiln.app.ctx.store.images.list({ region: 'us-east-1' })).find((i) => i.name.startsWith('kiln-minimal-'))!.id;
});
after(async () => { await kiln?.close(); });

async function launch(extra: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({ ImageId: amiId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, ...extra }));
  const id = r.Instances![0]!.InstanceId!;
  await until(`${id} running`, async () => (await describe(id)).State?.Name === 'running');
  return id;
}

async function describe(id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

async function stopped(id: string): Promise<void> {
  await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  await until(`${id} stopped`, async () => (await describe(id)).State?.Name === 'stopped');
}

const attribute = (InstanceId: string, Attribute: string) =>
  ec2.send(new DescribeInstanceAttributeCommand({ InstanceId, Attribute: Attribute as 'instanceType' }));

test('DescribeInstanceTypes: sizes from the type table, filters, unknown types, paging', async () => {
  const { InstanceTypes: [t3] = [] } = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro'] }));
  assert.equal(t3?.VCpuInfo?.DefaultVCpus, 2);
  assert.equal(t3?.VCpuInfo?.DefaultCores, 1);
  assert.equal(t3?.VCpuInfo?.DefaultThreadsPerCore, 2);
  assert.equal(t3?.MemoryInfo?.SizeInMiB, 1024);
  assert.deepEqual(t3?.ProcessorInfo?.SupportedArchitectures, ['x86_64']);
  assert.equal(t3?.BurstablePerformanceSupported, true);
  assert.equal(t3?.FreeTierEligible, true);

  const fixed = await ec2.send(new DescribeInstanceTypesCommand({ Filters: [
    { Name: 'burstable-performance-supported', Values: ['false'] }, { Name: 'instance-type', Values: ['m5.*', 'm1.*'] }] }));
  assert.deepEqual(fixed.InstanceTypes?.map((t) => t.InstanceType).sort(), ['m1.small', 'm5.2xlarge', 'm5.4xlarge', 'm5.large', 'm5.xlarge']);
  const big = await ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'vcpu-info.default-vcpus', Values: ['8'] }, { Name: 'instance-type', Values: ['m5.*'] }] }));
  assert.deepEqual(big.InstanceTypes?.map((t) => t.InstanceType), ['m5.2xlarge']);
  // The common current families, with AWS's figures; Graviton types run arm64.
  const { InstanceTypes: common = [] } = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['c5.large', 't3a.micro', 'r6i.xlarge', 't4g.small', 'm6g.medium'] }));
  assert.deepEqual(common.map((t) => [t.InstanceType, t.VCpuInfo?.DefaultVCpus, t.MemoryInfo?.SizeInMiB, t.ProcessorInfo?.SupportedArchitectures?.join()]),
    [['c5.large', 2, 4096, 'x86_64'], ['t3a.micro', 2, 1024, 'x86_64'], ['r6i.xlarge', 4, 32768, 'x86_64'], ['t4g.small', 2, 2048, 'arm64'], ['m6g.medium', 1, 4096, 'arm64']]);

  await assert.rejects(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.micro', 'x9.huge' as 't3.micro'] })), { name: 'InvalidInstanceType' });

  const seen: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 5, NextToken }));
    seen.push(...page.InstanceTypes!.map((t) => t.InstanceType!));
    NextToken = page.NextToken;
  } while (NextToken);
  assert.equal(new Set(seen).size, seen.length);
  assert.ok(seen.includes('t2.micro') && seen.includes('m5.large'));

  // The real aws-cli reads the same answer, every type of it: sizes are whole MiB (m1.small is 1740, as AWS says), which its parser requires.
  const all = await aws(kiln.endpoint, ['ec2', 'describe-instance-types']);
  assert.equal(all.InstanceTypes.find((t: { InstanceType: string }) => t.InstanceType === 'm1.small').MemoryInfo.SizeInMiB, 1740);
  assert.ok(all.InstanceTypes.every((t: { MemoryInfo: { SizeInMiB: number } }) => Number.isInteger(t.MemoryInfo.SizeInMiB)));
  const cli = await aws(kiln.endpoint, ['ec2', 'describe-instance-types', '--instance-types', 't2.micro']);
  assert.deepEqual(cli.InstanceTypes[0].ProcessorInfo.SupportedArchitectures, ['i386', 'x86_64']);
  assert.equal(cli.InstanceTypes[0].VCpuInfo.DefaultVCpus, 1);

  const offers = await ec2.send(new DescribeInstanceTypeOfferingsCommand({ LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: ['t3.micro'] }] }));
  assert.deepEqual(offers.InstanceTypeOfferings?.map((o) => o.Location), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
});

test('the default VPC: account attribute, VPC, a subnet per zone, the default group; unknown ids are NotFound', async () => {
  const attrs = await ec2.send(new DescribeAccountAttributesCommand({}));
  const value = (n: string) => attrs.AccountAttributes?.find((a) => a.AttributeName === n)?.AttributeValues?.map((v) => v.AttributeValue);
  assert.deepEqual(value('supported-platforms'), ['VPC']);
  const { Vpcs = [] } = await ec2.send(new DescribeVpcsCommand({}));
  assert.equal(Vpcs.length, 1);
  assert.deepEqual(value('default-vpc'), [Vpcs[0]!.VpcId]);
  assert.equal(Vpcs[0]!.IsDefault, true);
  assert.equal(Vpcs[0]!.CidrBlock, '172.31.0.0/16');

  const { Subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [Vpcs[0]!.VpcId!] }] }));
  assert.deepEqual(Subnets.map((s) => [s.AvailabilityZone, s.CidrBlock, s.DefaultForAz]),
    [['us-east-1a', '172.31.0.0/20', true], ['us-east-1b', '172.31.16.0/20', true], ['us-east-1c', '172.31.32.0/20', true]]);
  const { AvailabilityZones = [] } = await ec2.send(new DescribeAvailabilityZonesCommand({}));
  assert.deepEqual(Subnets.map((s) => s.AvailabilityZoneId), AvailabilityZones.map((z) => z.ZoneId));
  const { SecurityGroups = [] } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  assert.equal(SecurityGroups[0]?.VpcId, Vpcs[0]!.VpcId);

  const west = await kiln.client('us-west-2').send(new DescribeVpcsCommand({}));
  assert.notEqual(west.Vpcs?.[0]?.VpcId, Vpcs[0]!.VpcId, 'one default VPC per region');

  await assert.rejects(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })), { name: 'InvalidVpcID.NotFound' });
  await assert.rejects(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0123456789abcdef0'] })), { name: 'InvalidSubnetID.NotFound' });
  await assert.rejects(ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })), { name: 'InvalidGroup.NotFound' });
  await assert.rejects(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['nope'] })), { name: 'InvalidKeyPair.NotFound' });
});

test('instances sit in their zone\'s default subnet with distinct addresses, the default group and one interface', async () => {
  const a = await describe(await launch());
  const subnetB = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }))).Subnets![0]!;
  const b = await describe(await launch({ SubnetId: subnetB.SubnetId }));
  assert.equal(b.Placement?.AvailabilityZone, 'us-east-1b');
  assert.equal(b.SubnetId, subnetB.SubnetId);
  assert.match(b.PrivateIpAddress ?? '', /^172\.31\.(1[6-9]|2\d|3[01])\.\d+$/);
  assert.match(a.PrivateIpAddress ?? '', /^172\.31\.([0-9]|1[0-5])\.\d+$/);
  assert.notEqual(a.PrivateIpAddress, b.PrivateIpAddress);
  assert.equal(a.SecurityGroups?.[0]?.GroupName, 'default');
  assert.equal(a.NetworkInterfaces?.[0]?.Attachment?.DeviceIndex, 0);
  assert.equal(a.MetadataOptions?.HttpTokens, 'optional');

  const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [a.InstanceId!] }] }));
  assert.deepEqual(enis.NetworkInterfaces?.map((n) => [n.NetworkInterfaceId, n.PrivateIpAddress]),
    [[a.NetworkInterfaces![0]!.NetworkInterfaceId, a.PrivateIpAddress]]);

  const bySubnet = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetB.SubnetId!] }] }));
  assert.deepEqual(bySubnet.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId)), [b.InstanceId]);
  const byIp = await ec2.send(new DescribeInstancesCommand({
    Filters: [{ Name: 'private-ip-address', Values: [a.PrivateIpAddress!] }, { Name: 'vpc-id', Values: [a.VpcId!] }],
  }));
  assert.deepEqual(byIp.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId)), [a.InstanceId]);

  await assert.rejects(launch({ SubnetId: 'subnet-0123456789abcdef0' }), { name: 'InvalidSubnetID.NotFound' });
  await assert.rejects(launch({ SecurityGroupIds: ['sg-0123456789abcdef0'] }), { name: 'InvalidGroup.NotFound' });
  await assert.rejects(launch({ PrivateIpAddress: a.PrivateIpAddress }), { name: 'InvalidIPAddress.InUse' });
  const chosen = { PrivateIpAddress: '172.31.0.200', ClientToken: `ip-${a.InstanceId}` };
  const c = await launch(chosen);
  assert.equal((await describe(c)).PrivateIpAddress, '172.31.0.200');
  assert.equal(await launch(chosen), c, 'a retried RunInstances answers with its instance, address and all');

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [a.InstanceId!, b.InstanceId!, c] }));
  await until('terminated', async () => (await describe(a.InstanceId!)).State?.Name === 'terminated');
  const gone = await describe(a.InstanceId!);
  assert.equal(gone.PrivateIpAddress, undefined, 'a terminated instance has left its subnet');
  const left = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [a.InstanceId!] }] }));
  assert.deepEqual(left.NetworkInterfaces, []);
});

test('DescribeInstanceAttribute answers each attribute; ModifyInstanceAttribute follows AWS\'s state rules', async () => {
  const script = Buffer.from('#!/bin/sh\necho hi\n').toString('base64');
  const id = await launch({ UserData: script, InstanceInitiatedShutdownBehavior: 'terminate' });
  assert.equal((await attribute(id, 'instanceType')).InstanceType?.Value, 't3.micro');
  assert.equal((await attribute(id, 'userData')).UserData?.Value, script);
  assert.equal((await attribute(id, 'disableApiTermination')).DisableApiTermination?.Value, false);
  assert.equal((await attribute(id, 'instanceInitiatedShutdownBehavior')).InstanceInitiatedShutdownBehavior?.Value, 'terminate');
  assert.equal((await attribute(id, 'rootDeviceName')).RootDeviceName?.Value, (await describe(id)).RootDeviceName);
  assert.equal((await attribute(id, 'blockDeviceMapping')).BlockDeviceMappings?.length, 1);
  assert.equal((await attribute(id, 'sourceDestCheck')).SourceDestCheck?.Value, true);
  await assert.rejects(attribute(id, 'colour'), { name: 'InvalidParameterValue' });

  // Changing the type needs a stopped instance; several attributes at once are refused.
  await assert.rejects(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.small' } })), { name: 'IncorrectInstanceState' });
  await assert.rejects(ec2.send(new ModifyInstanceAttributeCommand({
    InstanceId: id, DisableApiStop: { Value: true }, SourceDestCheck: { Value: false },
  })), { name: 'InvalidParameterCombination' });
  await stopped(id);
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.small' } }));
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from('#!/bin/sh\necho bye\n') } }));
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, Attribute: 'sourceDestCheck', Value: 'false' }));
  const inst = await describe(id);
  assert.equal(inst.InstanceType, 't3.small');
  assert.equal(inst.SourceDestCheck, false);
  assert.equal(Buffer.from((await attribute(id, 'userData')).UserData!.Value!, 'base64').toString(), '#!/bin/sh\necho bye\n');
  await assert.rejects(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 'x9.huge' } })), { name: 'InvalidParameterValue' });

  // DeleteOnTermination of the root volume.
  const root = inst.RootDeviceName!;
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, BlockDeviceMappings: [{ DeviceName: root, Ebs: { DeleteOnTermination: false } }] }));
  assert.equal((await describe(id)).BlockDeviceMappings?.[0]?.Ebs?.DeleteOnTermination, false);
});

test('termination and stop protection refuse TerminateInstances and StopInstances until lifted', async () => {
  const id = await launch({ DisableApiStop: true });
  assert.equal((await attribute(id, 'disableApiStop')).DisableApiStop?.Value, true);
  await assert.rejects(ec2.send(new StopInstancesCommand({ InstanceIds: [id] })), { name: 'OperationNotPermitted' });
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: true } }));
  await assert.rejects(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })), { name: 'OperationNotPermitted' });
  assert.equal((await describe(id)).State?.Name, 'running');
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } }));
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));
  const out = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  assert.equal(out.TerminatingInstances?.[0]?.CurrentState?.Name, 'shutting-down');
});

test('CPU credits: t2 standard, t3 unlimited by default, changeable; none for fixed-performance types', async () => {
  const t2 = await launch({ InstanceType: 't2.micro' });
  const t3 = await launch({ InstanceType: 't3.micro', CreditSpecification: { CpuCredits: 'standard' } });
  const m5 = await launch({ InstanceType: 'm5.large' });
  const specs = await ec2.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: [t2, t3] }));
  assert.deepEqual(specs.InstanceCreditSpecifications?.map((s) => s.CpuCredits), ['standard', 'standard']);
  await assert.rejects(ec2.send(new DescribeInstanceCreditSpecificationsCommand({ InstanceIds: [m5] })), { name: 'InstanceCreditSpecification.NotSupported' });
  await assert.rejects(launch({ InstanceType: 'm5.large', CreditSpecification: { CpuCredits: 'unlimited' } }), { name: 'InvalidParameterCombination' });

  const mod = await ec2.send(new ModifyInstanceCreditSpecificationCommand({
    InstanceCreditSpecifications: [{ InstanceId: t3, CpuCredits: 'unlimited' }, { InstanceId: m5, CpuCredits: 'unlimited' }],
  }));
  assert.deepEqual(mod.SuccessfulInstanceCreditSpecifications?.map((s) => s.InstanceId), [t3]);
  assert.deepEqual(mod.UnsuccessfulInstanceCreditSpecifications?.map((s) => [s.InstanceId, s.Error?.Code]), [[m5, 'InstanceCreditSpecification.NotSupported']]);
  const unlimited = await ec2.send(new DescribeInstanceCreditSpecificationsCommand({}));
  assert.ok(unlimited.InstanceCreditSpecifications?.some((s) => s.InstanceId === t3 && s.CpuCredits === 'unlimited'));
  assert.ok(!unlimited.InstanceCreditSpecifications?.some((s) => s.InstanceId === t2), 'without ids: only unlimited ones');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [t2, t3, m5] }));
});

test('metadata options at launch and by ModifyInstanceMetadataOptions; UEFI data of a non-instance id is malformed', async () => {
  const id = await launch({ MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 } });
  assert.deepEqual([(await describe(id)).MetadataOptions?.HttpTokens, (await describe(id)).MetadataOptions?.HttpPutResponseHopLimit], ['required', 2]);
  const out = await ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'optional', InstanceMetadataTags: 'enabled' }));
  assert.equal(out.InstanceMetadataOptions?.HttpTokens, 'optional');
  assert.equal(out.InstanceMetadataOptions?.HttpPutResponseHopLimit, 2);
  assert.equal((await describe(id)).MetadataOptions?.InstanceMetadataTags, 'enabled');
  await assert.rejects(ec2.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpPutResponseHopLimit: 99 })), { name: 'InvalidParameterValue' });

  assert.equal((await ec2.send(new GetInstanceUefiDataCommand({ InstanceId: id }))).UefiData, undefined);
  await assert.rejects(ec2.send(new GetInstanceUefiDataCommand({ InstanceId: amiId })), { name: 'InvalidInstanceID.Malformed' });
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('DescribeInstances takes every filter AWS documents that applies here, read off the instance as it is shown', async () => {
  const id = await launch();
  const shown = await describe(id);
  const volumeId = shown.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  const ids = async (Name: string, Values: string[]) => {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name, Values }] }));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId);
  };
  assert.deepEqual(await ids('block-device-mapping.volume-id', [volumeId]), [id]);
  assert.deepEqual(await ids('block-device-mapping.device-name', [shown.RootDeviceName!]).then((l) => l.includes(id)), true);
  assert.ok((await ids('availability-zone-id', ['use1-az1'])).includes(id));
  assert.ok((await ids('launch-index', ['0'])).includes(id));
  assert.ok((await ids('current-instance-boot-mode', [shown.CurrentInstanceBootMode!])).includes(id));
  assert.ok((await ids('operator.managed', ['false'])).includes(id));
  assert.deepEqual(await ids('platform', ['windows']), [], 'a valid filter that matches nothing is an empty answer');
  assert.deepEqual(await ids('instance-lifecycle', ['spot']), []);
  for (const name of ['affinity', 'block-device-mapping.attach-time', 'block-device-mapping.delete-on-termination', 'block-device-mapping.status',
    'boot-mode', 'capacity-reservation-id', 'dns-name', 'ena-support', 'enclave-options.enabled', 'hibernation-options.configured', 'host-id',
    'iam-instance-profile.arn', 'iam-instance-profile.id', 'kernel-id', 'maintenance-options.auto-recovery', 'metadata-options.state',
    'network-performance-options.bandwidth-weighting', 'operator.principal', 'outpost-arn', 'placement-group-name', 'ramdisk-id', 'reason',
    'requester-id', 'spot-instance-request-id', 'state-reason-code', 'state-reason-message', 'tpm-support', 'usage-operation',
    'usage-operation-update-time']) {
    await ids(name, ['*']);
  }
  assert.equal(shown.Operator?.Managed, false);
  assert.ok(shown.UsageOperationUpdateTime, 'UsageOperationUpdateTime is the first launch');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});

test('DryRun checks the request as a real call would, answers DryRunOperation only when it would succeed, and changes nothing', async () => {
  const id = await launch();
  const count = async () => (await kiln.app.ctx.store.instances.list()).length;
  const before = await count();
  const dry = { DryRun: true };
  const code = (p: Promise<unknown>) => p.then(() => 'none', (e: Error) => e.name);
  assert.equal(await code(ec2.send(new RunInstancesCommand({ ...dry, ImageId: 'ami-00000000000000000', MinCount: 1, MaxCount: 1 }))), 'InvalidAMIID.NotFound');
  assert.equal(await code(ec2.send(new RunInstancesCommand({ ...dry, ImageId: amiId, InstanceType: 't9.huge' as never, MinCount: 1, MaxCount: 1 }))), 'InvalidParameterValue');
  assert.equal(await code(ec2.send(new RunInstancesCommand({ ...dry, ImageId: amiId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))), 'DryRunOperation');
  assert.equal(await count(), before, 'a dry run launches nothing');
  assert.equal(await code(ec2.send(new StopInstancesCommand({ ...dry, InstanceIds: ['i-00000000000000000'] }))), 'InvalidInstanceID.NotFound');
  assert.equal(await code(ec2.send(new TerminateInstancesCommand({ ...dry, InstanceIds: [id] }))), 'DryRunOperation');
  assert.equal((await describe(id)).State?.Name, 'running', 'a dry run terminates nothing');
  assert.equal(await code(ec2.send(new DescribeInstancesCommand({ ...dry, InstanceIds: ['i-bad'] }))), 'InvalidInstanceID.Malformed');
  assert.equal(await code(ec2.send(new DescribeInstancesCommand({ ...dry }))), 'DryRunOperation');
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
});
