/**
 * Every filter in AWS's list for DescribeImages, through the SDK: a value taken
 * from the image's own description finds it, another value does not, and the
 * filters that have no value on a Linux EBS image parse and match nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CopyImageCommand, DescribeImagesCommand, waitUntilImageAvailable } from '@aws-sdk/client-ec2';
import type { EC2Client, Image } from '@aws-sdk/client-ec2';
import { RecordingRuntime } from '../src/runtime/recording-runtime.js';
import type { Kiln } from './harness.js';
import { startKiln } from './harness.js';

let kiln: Kiln;
let ec2: EC2Client;
let img: Image;
let mine: string;

before(async () => {
  kiln = await startKiln({ runtime: new RecordingRuntime(), regions: ['us-east-1'] });
  ec2 = kiln.client();
  [img] = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images!;
  mine = (await ec2.send(new CopyImageCommand({
    SourceImageId: img.ImageId, SourceRegion: 'us-east-1', Name: 'tagged-copy',
    TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'team', Value: 'web' }] }],
  }))).ImageId!;
  await waitUntilImageAvailable({ client: ec2, maxWaitTime: 60, minDelay: 1 }, { ImageIds: [mine] });
});
after(async () => { await kiln?.close(); });

/** The value each filter should match on the catalog image, read from DescribeImages' own answer. */
function expected(i: Image): Record<string, string> {
  const bdm = i.BlockDeviceMappings![0]!;
  return {
    'architecture': i.Architecture!,
    'block-device-mapping.delete-on-termination': String(bdm.Ebs!.DeleteOnTermination),
    'block-device-mapping.device-name': bdm.DeviceName!,
    'block-device-mapping.snapshot-id': bdm.Ebs!.SnapshotId!,
    'block-device-mapping.volume-size': String(bdm.Ebs!.VolumeSize),
    'block-device-mapping.volume-type': bdm.Ebs!.VolumeType!,
    'block-device-mapping.encrypted': String(bdm.Ebs!.Encrypted),
    'creation-date': `${i.CreationDate!.slice(0, 10)}*`,
    'description': i.Description!,
    'ena-support': String(i.EnaSupport),
    'free-tier-eligible': String(i.FreeTierEligible),
    'hypervisor': i.Hypervisor!,
    'image-id': i.ImageId!,
    'image-type': i.ImageType!,
    'is-public': String(i.Public),
    'manifest-location': i.ImageLocation!,
    'name': i.Name!,
    'owner-alias': i.ImageOwnerAlias!,
    'owner-id': i.OwnerId!,
    'platform-details': i.PlatformDetails!,
    'root-device-name': i.RootDeviceName!,
    'root-device-type': i.RootDeviceType!,
    'sriov-net-support': i.SriovNetSupport!,
    'state': i.State!,
    'usage-operation': i.UsageOperation!,
    'virtualization-type': i.VirtualizationType!,
  };
}

const find = async (Name: string, value: string, owner = 'amazon') =>
  ((await ec2.send(new DescribeImagesCommand({ Owners: [owner], Filters: [{ Name, Values: [value] }] }))).Images ?? []).map((i) => i.ImageId);

test('each filter finds the image by its own value and not by another', async () => {
  assert.equal(img.FreeTierEligible, true, 'Amazon\'s own images are free-tier eligible');
  for (const [name, value] of Object.entries(expected(img))) {
    assert.deepEqual(await find(name, value), [img.ImageId], `${name}=${value}`);
    assert.deepEqual(await find(name, 'no-such-value'), [], `${name}=no-such-value`);
  }
});

test('filters without a value on this image parse and match nothing', async () => {
  for (const name of ['platform', 'kernel-id', 'ramdisk-id', 'product-code', 'product-code.type', 'source-image-id',
    'source-image-region', 'source-instance-id', 'state-reason-code', 'state-reason-message', 'image-allowed']) {
    assert.deepEqual(await find(name, '*'), [], name);
  }
});

test('tag filters, wildcards, and values ORed within a filter and ANDed across filters', async () => {
  assert.deepEqual(await find('tag-key', 'team', 'self'), [mine]);
  assert.deepEqual(await find('tag:team', 'w?b', 'self'), [mine]);
  assert.deepEqual(await find('tag:team', 'WEB', 'self'), [], 'case-sensitive');
  assert.deepEqual(await find('source-image-id', img.ImageId!, 'self'), [mine]);
  const id = img.ImageId!;
  const both = async (filters: Array<{ Name: string; Values: string[] }>) =>
    ((await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: filters }))).Images ?? []).map((i) => i.ImageId);
  assert.deepEqual(await both([{ Name: 'state', Values: ['pending', 'available'] }]), [id]);
  assert.deepEqual(await both([{ Name: 'state', Values: ['available'] }, { Name: 'name', Values: ['nope*'] }]), []);
  await assert.rejects(both([{ Name: 'no-such-filter', Values: ['x'] }]), (e: Error) => e.name === 'InvalidParameterValue');
});
