/**
 * Launch permissions between accounts, checked from every side: owner A and
 * B, C in one organization (B in A's OU, C in another OU), D outside it.
 * Sharing by account, organization, OU and publicly makes an image visible
 * and launchable at once; revoking, cancelling and resetting take that away
 * at once. Through @aws-sdk/client-ec2, with the sharing itself also done
 * through the real aws-cli.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CancelImageLaunchPermissionCommand, CreateImageCommand, DescribeImageAttributeCommand, DescribeImagesCommand,
  DisableImageCommand, DisableImageDeprecationCommand, EnableImageCommand, ModifyImageAttributeCommand, ResetImageAttributeCommand, RunInstancesCommand, TerminateInstancesCommand,
  waitUntilImageAvailable, waitUntilInstanceRunning,
} from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { aws, startKiln } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances');

const ORG = 'o-kiln0test1';
const MGMT = '111100000000';
const OU1 = 'ou-kiln-11111111';
const OU2 = 'ou-kiln-22222222';
const ORG_ARN = `arn:aws:organizations::${MGMT}:organization/${ORG}`;
const OU1_ARN = `arn:aws:organizations::${MGMT}:ou/${ORG}/${OU1}`;

type Who = 'A' | 'B' | 'C' | 'D';
const IDS: Record<Who, string> = { A: '111100000001', B: '111100000002', C: '111100000003', D: '222200000004' };
const keys = (w: Who): [string, string] => [`AKIASHARE${w}`, `secret-${w}`];

let kiln: Kiln;
const ec2 = {} as Record<Who, EC2Client>;
let image = '';
const launched: Array<[Who, string]> = [];

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return (err as { name: string }).name; }
}

/** Whether `who` sees the image in a plain DescribeImages listing. */
async function lists(who: Who, extra: Record<string, unknown> = {}): Promise<boolean> {
  const r = await ec2[who].send(new DescribeImagesCommand(extra));
  return !!r.Images?.some((i) => i.ImageId === image);
}

const byId = (who: Who) => codeOf(ec2[who].send(new DescribeImagesCommand({ ImageIds: [image] })));

async function canLaunch(who: Who): Promise<string> {
  try {
    const r = await ec2[who].send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }));
    const id = r.Instances![0].InstanceId!;
    launched.push([who, id]);
    await waitUntilInstanceRunning({ client: ec2[who], maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { InstanceIds: [id] });
    return 'launched';
  } catch (err) {
    return (err as { name: string }).name;
  }
}

const modify = (add: object[], remove: object[] = []) =>
  ec2.A.send(new ModifyImageAttributeCommand({ ImageId: image, LaunchPermission: { Add: add, Remove: remove } }));

before(async () => {
  if (skip) return;
  kiln = await startKiln();
  const orgOf: Record<Who, { org?: string; ou?: string }> = { A: { org: ORG, ou: OU1 }, B: { org: ORG, ou: OU1 }, C: { org: ORG, ou: OU2 }, D: {} };
  for (const w of ['A', 'B', 'C', 'D'] as Who[]) {
    const [accessKeyId, secretAccessKey] = keys(w);
    await createAccount(kiln.app.ctx, { id: IDS[w], ...orgOf[w], accessKeyId, secretAccessKey });
    ec2[w] = kiln.client('us-east-1', { accessKeyId, secretAccessKey });
  }
  const base = (await ec2.A.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0].ImageId!;
  const r = await ec2.A.send(new RunInstancesCommand({ ImageId: base, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }));
  const builder = r.Instances![0].InstanceId!;
  launched.push(['A', builder]);
  await waitUntilInstanceRunning({ client: ec2.A, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { InstanceIds: [builder] });
  image = (await ec2.A.send(new CreateImageCommand({ InstanceId: builder, Name: 'shared-image', NoReboot: true }))).ImageId!;
  await waitUntilImageAvailable({ client: ec2.A, maxWaitTime: 120, minDelay: 1, maxDelay: 1 }, { ImageIds: [image] });
});

after(async () => {
  for (const [who, id] of launched) await ec2[who].send(new TerminateInstancesCommand({ InstanceIds: [id] })).catch(() => undefined);
  await kiln?.close();
});

describe('launch permissions across accounts', { skip }, () => {
  test('a private image does not exist for anyone but its owner', async () => {
    assert.equal(await lists('A'), true);
    for (const w of ['B', 'C', 'D'] as Who[]) {
      assert.equal(await lists(w), false, `${w} lists it`);
      assert.equal(await byId(w), 'InvalidAMIID.NotFound', `${w} by id`);
      assert.equal(await canLaunch(w), 'InvalidAMIID.NotFound', `${w} launches`);
    }
  });

  test('sharing with an account: visible and launchable for it alone, at once; removing takes it away at once', async () => {
    await modify([{ UserId: IDS.B }]);
    assert.equal(await lists('B'), true);
    assert.equal(await lists('B', { ExecutableUsers: ['self'] }), true);
    assert.equal(await lists('B', { ExecutableUsers: [IDS.B] }), true);
    assert.equal(await lists('C'), false);
    assert.equal(await canLaunch('B'), 'launched');
    assert.equal(await canLaunch('C'), 'InvalidAMIID.NotFound');
    const attr = await ec2.A.send(new DescribeImageAttributeCommand({ ImageId: image, Attribute: 'launchPermission' }));
    assert.deepEqual(attr.LaunchPermissions, [{ UserId: IDS.B }]);
    assert.equal(await codeOf(ec2.B.send(new DescribeImageAttributeCommand({ ImageId: image, Attribute: 'launchPermission' }))), 'AuthFailure');
    assert.equal(await codeOf(ec2.B.send(new ModifyImageAttributeCommand({ ImageId: image, LaunchPermission: { Add: [{ Group: 'all' }] } }))), 'AuthFailure');
    await modify([], [{ UserId: IDS.B }]);
    assert.equal(await lists('B'), false);
    assert.equal(await byId('B'), 'InvalidAMIID.NotFound');
    assert.equal(await canLaunch('B'), 'InvalidAMIID.NotFound');
  });

  test('the receiver can cancel an explicit share', async () => {
    await modify([{ UserId: IDS.D }]);
    assert.equal(await lists('D'), true);
    await ec2.D.send(new CancelImageLaunchPermissionCommand({ ImageId: image }));
    assert.equal(await lists('D'), false);
    assert.equal(await codeOf(ec2.D.send(new CancelImageLaunchPermissionCommand({ ImageId: image }))), 'InvalidAMIID.NotFound');
  });

  test('sharing with the organization reaches every member, and only through self', async () => {
    await modify([{ OrganizationArn: ORG_ARN }]);
    assert.equal(await lists('B'), true);
    assert.equal(await lists('C'), true);
    assert.equal(await lists('D'), false);
    assert.equal(await lists('C', { ExecutableUsers: ['self'] }), true);
    assert.equal(await lists('C', { ExecutableUsers: [IDS.C] }), false, 'an account id matches explicit shares only');
    assert.equal(await canLaunch('C'), 'launched');
    assert.equal(await canLaunch('D'), 'InvalidAMIID.NotFound');
    await modify([], [{ OrganizationArn: ORG_ARN }]);
    assert.equal(await lists('C'), false);
  });

  test('sharing with an OU reaches that OU only', async () => {
    await modify([{ OrganizationalUnitArn: OU1_ARN }]);
    assert.equal(await lists('B'), true);
    assert.equal(await lists('C'), false);
    assert.equal(await byId('C'), 'InvalidAMIID.NotFound');
    await modify([], [{ OrganizationalUnitArn: OU1_ARN }]);
    assert.equal(await lists('B'), false);
  });

  test('public: everyone sees and launches it; reset makes it private again', async () => {
    await modify([{ Group: 'all' }]);
    assert.equal(await lists('D', { ExecutableUsers: ['all'] }), true);
    assert.equal(await lists('D', { Filters: [{ Name: 'is-public', Values: ['true'] }] }), true);
    const seen = (await ec2.D.send(new DescribeImagesCommand({ ImageIds: [image] }))).Images![0];
    assert.equal(seen.OwnerId, IDS.A);
    assert.equal(seen.Public, true);
    assert.equal(await canLaunch('D'), 'launched');
    await ec2.A.send(new ResetImageAttributeCommand({ ImageId: image, Attribute: 'launchPermission' }));
    assert.equal(await lists('D'), false);
    assert.equal(await canLaunch('D'), 'InvalidAMIID.NotFound');
  });

  test('one bad item changes nothing', async () => {
    assert.equal(await codeOf(modify([{ UserId: IDS.B }, { UserId: '12345' }])), 'InvalidAMIAttributeItemValue');
    assert.equal(await codeOf(modify([{ Group: 'everyone' }])), 'InvalidAMIAttributeItemValue');
    assert.equal(await codeOf(modify([{ OrganizationArn: 'arn:aws:organizations::1:organization/x' }])), 'InvalidAMIAttributeItemValue');
    assert.equal(await lists('B'), false);
    const attr = await ec2.A.send(new DescribeImageAttributeCommand({ ImageId: image, Attribute: 'launchPermission' }));
    assert.deepEqual(attr.LaunchPermissions ?? [], []);
  });

  test('the same through aws-cli, in the structured and the legacy form', async () => {
    const A = { keys: keys('A') };
    await aws(kiln.endpoint, ['ec2', 'modify-image-attribute', '--image-id', image, '--launch-permission', `Add=[{UserId=${IDS.C}}]`], A);
    const seen = await aws(kiln.endpoint, ['ec2', 'describe-images', '--executable-users', 'self'], { keys: keys('C') });
    assert.deepEqual(seen.Images.map((i: { ImageId: string }) => i.ImageId), [image]);
    await aws(kiln.endpoint, ['ec2', 'modify-image-attribute', '--image-id', image, '--attribute', 'launchPermission',
      '--operation-type', 'remove', '--user-ids', IDS.C], A);
    const attr = await aws(kiln.endpoint, ['ec2', 'describe-image-attribute', '--image-id', image, '--attribute', 'launchPermission'], A);
    assert.deepEqual(attr.LaunchPermissions, []);
    await aws(kiln.endpoint, ['ec2', 'modify-image-attribute', '--image-id', image, '--description', 'Value=shared golden image'], A);
    const d = await aws(kiln.endpoint, ['ec2', 'describe-image-attribute', '--image-id', image, '--attribute', 'description'], A);
    assert.equal(d.Description.Value, 'shared golden image');
    await assert.rejects(aws(kiln.endpoint, ['ec2', 'describe-images', '--image-ids', image], { keys: keys('C') }), /InvalidAMIID\.NotFound/);
  });

  test('deprecated: others list it only with IncludeDeprecated and still launch it by id; the owner always lists it', async () => {
    await modify([{ Group: 'all' }]);
    // EnableImageDeprecation takes only future times; move the time into the past as if it had come.
    await kiln.app.ctx.store.images.update(image, (r) => ({ ...r, deprecationTime: new Date(Date.now() - 60_000).toISOString() }));
    assert.equal(await lists('A'), true);
    assert.equal(await lists('D'), false);
    assert.equal(await lists('D', { ExecutableUsers: ['all'] }), false);
    assert.equal(await lists('D', { IncludeDeprecated: true }), true);
    assert.equal(await byId('D'), 'none');
    assert.equal(await canLaunch('D'), 'launched');
    await ec2.A.send(new DisableImageDeprecationCommand({ ImageId: image }));
    assert.equal(await lists('D'), true);
    await ec2.A.send(new ResetImageAttributeCommand({ ImageId: image, Attribute: 'launchPermission' }));
  });

  test('disabled: gone for every receiver at once, the owner sees it with IncludeDisabled; enabling shares nothing again', async () => {
    await modify([{ UserId: IDS.D }, { OrganizationArn: ORG_ARN }]);
    assert.equal(await lists('B'), true);
    assert.equal(await lists('D'), true);
    await ec2.A.send(new DisableImageCommand({ ImageId: image }));
    for (const w of ['B', 'C', 'D'] as Who[]) {
      assert.equal(await lists(w, { IncludeDisabled: true }), false, `${w} lists it`);
      assert.equal(await byId(w), 'InvalidAMIID.NotFound', `${w} by id`);
      assert.equal(await canLaunch(w), 'InvalidAMIID.NotFound', `${w} launches`);
    }
    assert.equal(await lists('A'), false);
    assert.equal(await lists('A', { IncludeDisabled: true }), true);
    assert.equal(await canLaunch('A'), 'InvalidAMIID.Unavailable');
    await ec2.A.send(new EnableImageCommand({ ImageId: image }));
    assert.equal(await canLaunch('A'), 'launched');
    assert.equal(await lists('B'), false);
    assert.equal(await lists('D'), false);
  });
});
