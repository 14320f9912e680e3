/**
 * The image lifecycle with the stock AWS CLI v2 (Debian's 2.9, which knows
 * copy-image, register-image, the deprecation commands and the image waiters;
 * newer actions are covered by lifecycle-sdk.test.ts): copy the catalog image
 * to another region and wait for it, register an image from the copy's
 * snapshot, deprecate it, deregister it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Kiln } from './harness.js';
import { AWS_CLI, aws, awsErrorCode, startKiln } from './harness.js';
import { skipOrFail } from './skips.js';

const skip = skipOrFail(existsSync(AWS_CLI) ? false : `${AWS_CLI} is absent (Debian package awscli)`);
const WEST = 'us-west-2';

let kiln: Kiln;
let catalogId = '';
let copyId = '';

const cli = (args: string[], region = 'us-east-1') => aws(kiln.endpoint, ['ec2', ...args], { region });

const cliError = (args: string[], region = 'us-east-1') => awsErrorCode(cli(args, region));

const describe1 = async (id: string, region = WEST) =>
  (await cli(['describe-images', '--image-ids', id], region)).Images[0] as Record<string, any>;

before(async () => {
  if (skip) return;
  kiln = await startKiln({ regions: ['us-east-1', WEST] });
  catalogId = (await cli(['describe-images', '--owners', 'amazon', '--query', 'Images[0].ImageId'])) as string;
});
after(async () => { await kiln?.close(); });

test('copy-image into another region, waited for with image-exists and image-available', { skip }, async () => {
  const args = ['copy-image', '--source-region', 'us-east-1', '--source-image-id', catalogId, '--name', 'minimal-west',
    '--description', 'copied by the CLI', '--client-token', 'cli-copy-1', '--copy-image-tags'];
  copyId = (await cli(args, WEST)).ImageId;
  assert.match(copyId, /^ami-[0-9a-f]{17}$/);
  await cli(['wait', 'image-exists', '--image-ids', copyId], WEST);
  await cli(['wait', 'image-available', '--image-ids', copyId], WEST);
  const img = await describe1(copyId);
  assert.equal(img.State, 'available');
  assert.equal(img.OwnerId, '000000000000');
  // (aws-cli 2.9's model predates SourceImageId/SourceImageRegion and drops them; the SDK suite checks them.)
  assert.equal(img.Description, 'copied by the CLI');
  assert.equal(img.Public, false);
  const snap = img.BlockDeviceMappings[0].Ebs.SnapshotId;
  const snaps = (await cli(['describe-snapshots', '--snapshot-ids', snap], WEST)).Snapshots;
  assert.equal(snaps[0].State, 'completed');
  assert.match(snaps[0].Description, new RegExp(`Copied for DestinationAmi ${copyId} from SourceAmi ${catalogId}`));

  assert.equal((await cli(args, WEST)).ImageId, copyId, 'the same client token and request give the same image');
  const changed = [...args.slice(0, 6), 'other-name', ...args.slice(7)];
  assert.equal(await cliError(changed, WEST), 'IdempotentParameterMismatch');
  assert.equal(await cliError(['copy-image', '--source-region', 'us-east-1', '--source-image-id', 'ami-0123456789abcdef0', '--name', 'x-copy'], WEST),
    'InvalidAMIID.NotFound');
});

test('register-image from the copy\'s snapshot, with AWS defaults and the options given', { skip }, async () => {
  const snap = (await describe1(copyId)).BlockDeviceMappings[0].Ebs.SnapshotId;
  const mappings = JSON.stringify([
    { DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap, VolumeSize: 2 } },
    { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1, VolumeType: 'gp3', DeleteOnTermination: false } },
  ]);
  const id = (await cli(['register-image', '--name', 'registered-web', '--description', 'from a snapshot', '--root-device-name', '/dev/xvda',
    '--block-device-mappings', mappings, '--architecture', 'x86_64', '--boot-mode', 'uefi', '--ena-support', '--imds-support', 'v2.0'], WEST)).ImageId;
  const img = await describe1(id);
  assert.deepEqual([img.State, img.Name, img.RootDeviceName, img.BootMode, img.EnaSupport, img.ImdsSupport],
    ['available', 'registered-web', '/dev/xvda', 'uefi', true, 'v2.0']);
  assert.deepEqual(img.BlockDeviceMappings.map((m: any) => [m.DeviceName, m.Ebs.VolumeSize, m.Ebs.VolumeType, m.Ebs.DeleteOnTermination]),
    [['/dev/xvda', 2, 'gp2', true], ['/dev/sdf', 1, 'gp3', false]]);

  const base = ['register-image', '--name', 'registered-bad', '--root-device-name'];
  assert.equal(await cliError([...base, '/dev/sda1', '--block-device-mappings', mappings], WEST), 'InvalidBlockDeviceMapping');
  assert.equal(await cliError([...base, '/dev/xvda', '--block-device-mappings', `DeviceName=/dev/xvda,Ebs={SnapshotId=snap-0123456789abcdef0}`], WEST),
    'InvalidSnapshot.NotFound');
  assert.equal(await cliError(['register-image', '--name', 'registered-web', '--root-device-name', '/dev/xvda', '--block-device-mappings', mappings], WEST),
    'InvalidAMIName.Duplicate');
});

test('enable-image-deprecation rounds to the minute and wants the future; disable-image-deprecation clears it', { skip }, async () => {
  const at = new Date(Date.now() + 2 * 3_600_000);
  at.setUTCSeconds(40, 0);
  await cli(['enable-image-deprecation', '--image-id', copyId, '--deprecate-at', at.toISOString()], WEST);
  const rounded = new Date(Math.round(at.getTime() / 60_000) * 60_000).toISOString();
  assert.equal((await describe1(copyId)).DeprecationTime, rounded);
  assert.equal(await cliError(['enable-image-deprecation', '--image-id', copyId, '--deprecate-at', '2001-01-01T00:00:00Z'], WEST), 'InvalidParameterValue');
  await cli(['disable-image-deprecation', '--image-id', copyId], WEST);
  assert.equal((await describe1(copyId)).DeprecationTime, undefined);
  assert.equal(await cliError(['enable-image-deprecation', '--image-id', catalogId, '--deprecate-at', at.toISOString()]), 'AuthFailure');
});

test('deregister-image: the id then answers InvalidAMIID.Unavailable', { skip }, async () => {
  await cli(['deregister-image', '--image-id', copyId], WEST);
  assert.equal(await cliError(['deregister-image', '--image-id', copyId], WEST), 'InvalidAMIID.Unavailable');
  assert.equal(await cliError(['run-instances', '--image-id', copyId, '--instance-type', 't3.micro'], WEST), 'InvalidAMIID.Unavailable');
  assert.equal(await cliError(['enable-image-deprecation', '--image-id', copyId, '--deprecate-at', new Date(Date.now() + 3_600_000).toISOString()], WEST),
    'InvalidAMIID.Unavailable');
  assert.equal(await cliError(['deregister-image', '--image-id', catalogId]), 'AuthFailure');
});
