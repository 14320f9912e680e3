/**
 * The image lifecycle through @aws-sdk/client-ec2, for the actions newer than
 * Debian's aws-cli: CopyImage with encryption and the SDK waiters,
 * GetImageAncestry, RegisterImage with tags, DisableImage/EnableImage,
 * deregistration protection, DeregisterImage with DeleteAssociatedSnapshots,
 * block public access for AMIs and Allowed AMIs. A second account checks what
 * others see.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CopyImageCommand, DeregisterImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand, DescribeSnapshotsCommand, DisableAllowedImagesSettingsCommand,
  DisableImageBlockPublicAccessCommand, DisableImageCommand, DisableImageDeregistrationProtectionCommand, EnableAllowedImagesSettingsCommand,
  EnableImageBlockPublicAccessCommand, EnableImageCommand, EnableImageDeprecationCommand, EnableImageDeregistrationProtectionCommand,
  GetAllowedImagesSettingsCommand, GetImageAncestryCommand, GetImageBlockPublicAccessStateCommand, ModifyImageAttributeCommand,
  RegisterImageCommand, ReplaceImageCriteriaInAllowedImagesSettingsCommand, RunInstancesCommand, waitUntilImageAvailable,
  waitUntilImageExists,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Image } from '@aws-sdk/client-ec2';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { startKiln } from './harness.js';

const WEST = 'us-west-2';
const OTHER = { id: '777700000001', keys: { accessKeyId: 'AKIALIFECYCLEB', secretAccessKey: 'secret-lifecycle-b' } };

let kiln: Kiln;
let east: EC2Client;
let west: EC2Client;
let otherEast: EC2Client;
let catalogId = '';
let copyId = '';
let names = 0;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return (err as { name: string }).name; }
}

const waitOpts = (client: EC2Client) => ({ client, maxWaitTime: 60, minDelay: 1, maxDelay: 1 });

async function image(client: EC2Client, id: string, extra: object = {}): Promise<Image> {
  return (await client.send(new DescribeImagesCommand({ ImageIds: [id], ...extra }))).Images![0];
}

/** A new image in us-west-2 registered from the copy's root snapshot. */
async function registered(extra: object = {}): Promise<string> {
  const snap = (await image(west, copyId)).BlockDeviceMappings![0].Ebs!.SnapshotId!;
  const r = await west.send(new RegisterImageCommand({
    Name: `sdk-reg-${++names}`, RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snap } }], ...extra,
  }));
  return r.ImageId!;
}

before(async () => {
  kiln = await startKiln({ regions: ['us-east-1', WEST] });
  await createAccount(kiln.app.ctx, { id: OTHER.id, ...OTHER.keys });
  east = kiln.client('us-east-1');
  west = kiln.client(WEST);
  otherEast = kiln.client('us-east-1', OTHER.keys);
  catalogId = (await east.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0].ImageId!;
});
after(async () => { await kiln?.close(); });

describe('copies', () => {
  test('CopyImage: encrypted copy in another region, waited for by the SDK waiters, with its ancestry', async () => {
    copyId = (await west.send(new CopyImageCommand({
      SourceRegion: 'us-east-1', SourceImageId: catalogId, Name: 'sdk-copy', Encrypted: true, ClientToken: 'sdk-copy-1',
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'stage', Value: 'copy' }] }, { ResourceType: 'snapshot', Tags: [{ Key: 's', Value: '1' }] }],
    }))).ImageId!;
    await waitUntilImageExists(waitOpts(west), { ImageIds: [copyId] });
    await waitUntilImageAvailable(waitOpts(west), { ImageIds: [copyId] });
    const img = await image(west, copyId);
    assert.deepEqual([img.State, img.SourceImageId, img.SourceImageRegion, img.Public], ['available', catalogId, 'us-east-1', false]);
    assert.equal(img.BlockDeviceMappings![0].Ebs!.Encrypted, true);
    assert.deepEqual(img.Tags, [{ Key: 'stage', Value: 'copy' }]);
    const snap = (await west.send(new DescribeSnapshotsCommand({ SnapshotIds: [img.BlockDeviceMappings![0].Ebs!.SnapshotId!] }))).Snapshots![0];
    assert.deepEqual([snap.State, snap.Encrypted, snap.Tags], ['completed', true, [{ Key: 's', Value: '1' }]]);

    const anc = (await west.send(new GetImageAncestryCommand({ ImageId: copyId }))).ImageAncestryEntries!;
    assert.deepEqual(anc.map((e) => [e.ImageId, e.SourceImageId, e.SourceImageRegion]), [[copyId, catalogId, 'us-east-1'], [catalogId, undefined, undefined]]);
    assert.ok(anc[0].CreationDate instanceof Date);
    assert.equal(anc[1].ImageOwnerAlias, 'amazon');

    const again = { SourceRegion: 'us-east-1', SourceImageId: catalogId, Name: 'sdk-copy-other', ClientToken: 'sdk-copy-1' };
    assert.equal(await codeOf(west.send(new CopyImageCommand(again))), 'IdempotentParameterMismatch');
    assert.equal(await codeOf(west.send(new CopyImageCommand({ ...again, ClientToken: undefined, SourceRegion: 'xx-nowhere-1' }))), 'InvalidRegion');
  });

  test('RegisterImage takes image tags and refuses other tag types', async () => {
    const id = await registered({ TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'team', Value: 'web' }] }], EnaSupport: true });
    const img = await image(west, id);
    assert.deepEqual([img.State, img.EnaSupport, img.Tags], ['available', true, [{ Key: 'team', Value: 'web' }]]);
    assert.equal(img.BlockDeviceMappings![0].Ebs!.Encrypted, true, 'made from an encrypted snapshot');
    assert.equal(await codeOf(registered({ TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'a', Value: 'b' }] }] })), 'InvalidParameterValue');
    const uefi = await registered({ BootMode: 'uefi', TpmSupport: 'v2.0', UefiData: 'QUJD' });
    assert.deepEqual([(await image(west, uefi)).BootMode, (await image(west, uefi)).TpmSupport], ['uefi', 'v2.0']);
    const attr = (name: 'tpmSupport' | 'uefiData') => west.send(new DescribeImageAttributeCommand({ ImageId: uefi, Attribute: name }));
    assert.deepEqual([(await attr('tpmSupport')).TpmSupport?.Value, (await attr('uefiData')).UefiData?.Value], ['v2.0', 'QUJD']);
    assert.equal(await codeOf(registered({ TpmSupport: 'v2.0' })), 'InvalidParameterCombination');
    // Terraform's aws_ami sends an empty ImageLocation; only a real manifest is refused.
    assert.equal(await codeOf(registered({ ImageLocation: '' })), 'none');
    assert.equal(await codeOf(registered({ ImageLocation: 'my-bucket/image.manifest.xml' })), 'UnsupportedOperation');
  });
});

describe('retirement', () => {
  test('deregistration protection with cooldown, as DescribeImages shows it', async () => {
    const id = await registered();
    const on = await west.send(new EnableImageDeregistrationProtectionCommand({ ImageId: id, WithCooldown: true }));
    assert.equal(on.Return, 'enabled-with-cooldown');
    assert.equal((await image(west, id)).DeregistrationProtection, 'enabled-with-cooldown');
    assert.equal(await codeOf(west.send(new DeregisterImageCommand({ ImageId: id }))), 'OperationNotPermitted');
    assert.equal((await west.send(new DisableImageDeregistrationProtectionCommand({ ImageId: id }))).Return, 'disabled');
    assert.match((await image(west, id)).DeregistrationProtection!, /^disabled after /);
    assert.equal(await codeOf(west.send(new DeregisterImageCommand({ ImageId: id }))), 'OperationNotPermitted');
  });

  test('DisableImage hides the image from others and drops its sharing; EnableImage does not restore it', async () => {
    const east1 = (await east.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: catalogId, Name: `sdk-dis-${++names}` }))).ImageId!;
    await waitUntilImageAvailable(waitOpts(east), { ImageIds: [east1] });
    await east.send(new ModifyImageAttributeCommand({ ImageId: east1, LaunchPermission: { Add: [{ UserId: OTHER.id }] } }));
    assert.equal((await image(otherEast, east1)).ImageId, east1);
    await east.send(new DisableImageCommand({ ImageId: east1 }));
    assert.equal((await image(east, east1)).State, 'disabled');
    assert.equal(await codeOf(image(otherEast, east1)), 'InvalidAMIID.NotFound');
    assert.equal(await codeOf(east.send(new RunInstancesCommand({ ImageId: east1, MinCount: 1, MaxCount: 1 }))), 'InvalidAMIID.Unavailable');
    await east.send(new EnableImageCommand({ ImageId: east1 }));
    assert.equal((await image(east, east1)).State, 'available');
    assert.equal(await codeOf(image(otherEast, east1)), 'InvalidAMIID.NotFound', 'the share is not restored');
    assert.equal(await codeOf(otherEast.send(new DisableImageCommand({ ImageId: catalogId }))), 'AuthFailure');
  });

  test('DeregisterImage with DeleteAssociatedSnapshots reports each snapshot', async () => {
    const snap = (await image(west, copyId)).BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const shared = await registered();
    const solo = (await west.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: catalogId, Name: `sdk-solo-${++names}` }))).ImageId!;
    await waitUntilImageAvailable(waitOpts(west), { ImageIds: [solo] });
    const soloSnap = (await image(west, solo)).BlockDeviceMappings![0].Ebs!.SnapshotId!;
    const r1 = await west.send(new DeregisterImageCommand({ ImageId: shared, DeleteAssociatedSnapshots: true }));
    assert.deepEqual(r1.DeleteSnapshotResults, [{ SnapshotId: snap, ReturnCode: 'skipped' }]);
    const r2 = await west.send(new DeregisterImageCommand({ ImageId: solo, DeleteAssociatedSnapshots: true }));
    assert.deepEqual(r2.DeleteSnapshotResults, [{ SnapshotId: soloSnap, ReturnCode: 'success' }]);
    assert.equal(await codeOf(west.send(new DescribeSnapshotsCommand({ SnapshotIds: [soloSnap] }))), 'InvalidSnapshot.NotFound');
    assert.equal(await codeOf(west.send(new DeregisterImageCommand({ ImageId: solo }))), 'InvalidAMIID.Unavailable');
  });

  test('EnableImageDeprecation wants a future time', async () => {
    assert.equal(await codeOf(west.send(new EnableImageDeprecationCommand({ ImageId: copyId, DeprecateAt: new Date(Date.now() - 120_000) }))),
      'InvalidParameterValue');
    const year = new Date().getUTCFullYear() + 1;
    await west.send(new EnableImageDeprecationCommand({ ImageId: copyId, DeprecateAt: new Date(`${year}-01-01T10:20:29Z`) }));
    assert.equal((await image(west, copyId)).DeprecationTime, `${year}-01-01T10:20:00.000Z`);
  });
});

describe('account settings', () => {
  test('block public access for AMIs stops new public sharing in that region only', async () => {
    const state = await east.send(new GetImageBlockPublicAccessStateCommand({}));
    assert.deepEqual([state.ImageBlockPublicAccessState, state.ManagedBy], ['unblocked', 'account']);
    const on = await east.send(new EnableImageBlockPublicAccessCommand({ ImageBlockPublicAccessState: 'block-new-sharing' }));
    assert.equal(on.ImageBlockPublicAccessState, 'block-new-sharing');
    assert.equal((await east.send(new GetImageBlockPublicAccessStateCommand({}))).ImageBlockPublicAccessState, 'block-new-sharing');
    assert.equal((await west.send(new GetImageBlockPublicAccessStateCommand({}))).ImageBlockPublicAccessState, 'unblocked');
    const mine = (await east.send(new CopyImageCommand({ SourceRegion: 'us-east-1', SourceImageId: catalogId, Name: `sdk-bpa-${++names}` }))).ImageId!;
    await waitUntilImageAvailable(waitOpts(east), { ImageIds: [mine] });
    const makePublic = () => east.send(new ModifyImageAttributeCommand({ ImageId: mine, LaunchPermission: { Add: [{ Group: 'all' }] } }));
    assert.equal(await codeOf(makePublic()), 'OperationNotPermitted');
    assert.equal((await image(east, mine)).Public, false);
    const off = await east.send(new DisableImageBlockPublicAccessCommand({}));
    assert.equal(off.ImageBlockPublicAccessState, 'unblocked');
    await makePublic();
    assert.equal((await image(east, mine)).Public, true);
  });

  test('Allowed AMIs: settings round-trip; enabled refuses launching an image outside the criteria', async () => {
    assert.equal((await otherEast.send(new GetAllowedImagesSettingsCommand({}))).State, 'disabled');
    await otherEast.send(new ReplaceImageCriteriaInAllowedImagesSettingsCommand({
      ImageCriteria: [{ ImageProviders: ['none'] }, { ImageNames: ['golden-*'], CreationDateCondition: { MaximumDaysSinceCreated: 30 } }],
    }));
    const on = await otherEast.send(new EnableAllowedImagesSettingsCommand({ AllowedImagesSettingsState: 'enabled' }));
    assert.equal(on.AllowedImagesSettingsState, 'enabled');
    const got = await otherEast.send(new GetAllowedImagesSettingsCommand({}));
    assert.equal(got.State, 'enabled');
    assert.equal(got.ManagedBy, 'account');
    assert.deepEqual(got.ImageCriteria, [{ ImageProviders: ['none'] }, { ImageNames: ['golden-*'], CreationDateCondition: { MaximumDaysSinceCreated: 30 } }]);
    assert.equal(await codeOf(otherEast.send(new RunInstancesCommand({ ImageId: catalogId, MinCount: 1, MaxCount: 1 }))), 'InvalidAMIID.NotFound');
    assert.equal(await codeOf(otherEast.send(new ReplaceImageCriteriaInAllowedImagesSettingsCommand({ ImageCriteria: [{ ImageProviders: ['nobody'] }] }))),
      'InvalidParameterValue');
    assert.equal((await otherEast.send(new DisableAllowedImagesSettingsCommand({}))).AllowedImagesSettingsState, 'disabled');
  });
});
