/**
 * Launch templates through the real AWS CLI and the SDK against an in-process
 * Kiln: create a template, add versions (partial data over a source version),
 * describe them with $Latest/$Default, version ranges and filters, move the
 * default, delete versions (per-version results), launch instances from the
 * template (its image, type, key and tags; the request's parameters win), and
 * a template made from GetLaunchTemplateData of that instance launches its
 * like. Instances boot on a recording runtime: only what the API answers
 * matters here (test/story-cli.test.ts boots real ones).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, DeleteLaunchTemplateCommand, DescribeInstanceAttributeCommand,
  DescribeInstancesCommand, DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, DescribeVolumesCommand,
  GetLaunchTemplateDataCommand, ModifyLaunchTemplateCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { AWS_CLI, aws, awsErrorCode, startKiln, until } from './harness.js';
import { skipOrFail } from './skips.js';
import { RecordingRuntime } from '../src/runtime/recording-runtime.js';

const skip = skipOrFail(existsSync(AWS_CLI) ? false : `${AWS_CLI} is absent (Debian package awscli)`);

let kiln: Kiln;
let ec2: EC2Client;
let amiId = '';

const cli = (args: string[], region = 'us-east-1') => aws(kiln.endpoint, ['ec2', ...args], { region });
const cliError = (args: string[], region = 'us-east-1') => awsErrorCode(cli(args, region));
const json = (v: unknown) => JSON.stringify(v);

async function describeInstance(id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

before(async () => {
  kiln = await startKiln({ runtime: new RecordingRuntime(), regions: ['us-east-1', 'us-west-2'] });
  ec2 = kiln.client('us-east-1');
  amiId = (await kiln.app.ctx.store.images.list({ region: 'us-east-1' })).find((i) => i.name.startsWith('kiln-minimal-'))!.id;
});
after(async () => { await kiln?.close(); });

test('aws-cli: create, versions from a source, describe $Latest/$Default, ranges, filters, modify, delete versions', { skip }, async () => {
  await cli(['create-key-pair', '--key-name', 'lt-key', '--key-type', 'ed25519']);
  const data = { ImageId: amiId, InstanceType: 't3.micro', KeyName: 'lt-key', MetadataOptions: { HttpTokens: 'required' },
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Role', Value: 'web' }] }] };
  const created = (await cli(['create-launch-template', '--launch-template-name', 'web', '--version-description', 'first',
    '--launch-template-data', json(data), '--tag-specifications', 'ResourceType=launch-template,Tags=[{Key=team,Value=platform}]'])).LaunchTemplate;
  assert.match(created.LaunchTemplateId, /^lt-[0-9a-f]{17}$/);
  assert.deepEqual([created.LaunchTemplateName, created.DefaultVersionNumber, created.LatestVersionNumber, created.CreatedBy],
    ['web', 1, 1, 'arn:aws:iam::000000000000:root']);
  assert.deepEqual(created.Tags, [{ Key: 'team', Value: 'platform' }]);
  const id = created.LaunchTemplateId as string;

  // A second version from version 1: only the instance type changes; a third from nothing holds only what it says.
  const v2 = (await cli(['create-launch-template-version', '--launch-template-id', id, '--source-version', '1',
    '--version-description', 'bigger', '--launch-template-data', json({ InstanceType: 't3.small' })])).LaunchTemplateVersion;
  assert.deepEqual([v2.VersionNumber, v2.DefaultVersion, v2.LaunchTemplateData.InstanceType, v2.LaunchTemplateData.ImageId, v2.LaunchTemplateData.KeyName],
    [2, false, 't3.small', amiId, 'lt-key']);
  assert.equal(v2.LaunchTemplateData.MetadataOptions.HttpTokens, 'required');
  const v3 = (await cli(['create-launch-template-version', '--launch-template-name', 'web', '--launch-template-data', json({ InstanceType: 't3.large' })]))
    .LaunchTemplateVersion;
  assert.deepEqual([v3.VersionNumber, v3.LaunchTemplateData.ImageId], [3, undefined]);

  const versionsOf = async (...args: string[]) => (await cli(['describe-launch-template-versions', ...args])).LaunchTemplateVersions
    .map((v: { VersionNumber: number }) => v.VersionNumber);
  assert.deepEqual(await versionsOf('--launch-template-id', id), [3, 2, 1]);
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--versions', '$Latest', '$Default'), [3, 1]);
  assert.deepEqual(await versionsOf('--launch-template-name', 'web', '--min-version', '2', '--max-version', '3'), [3, 2]);
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--filters', 'Name=instance-type,Values=t3.small,t3.micro'), [2, 1]);
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--filters', 'Name=is-default-version,Values=true'), [1]);
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--filters', `Name=image-id,Values=${amiId}`), [2, 1]);
  assert.deepEqual(await versionsOf('--versions', '$Latest'), [3], 'every template\'s latest version, without naming one');
  // The CLI pages through them itself, one at a time.
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--page-size', '1'), [3, 2, 1]);

  const described = (await cli(['describe-launch-templates', '--launch-template-names', 'web'])).LaunchTemplates;
  assert.deepEqual(described.map((t: { LatestVersionNumber: number }) => t.LatestVersionNumber), [3]);
  await cli(['create-launch-template', '--launch-template-name', 'dbs', '--launch-template-data', json({ InstanceType: 't3.micro' })]);
  const names = async (...args: string[]) => (await cli(['describe-launch-templates', ...args])).LaunchTemplates
    .map((t: { LaunchTemplateName: string }) => t.LaunchTemplateName);
  assert.deepEqual(await names(), ['web', 'dbs']);
  assert.deepEqual(await names('--filters', 'Name=launch-template-name,Values=w*'), ['web']);
  assert.deepEqual(await names('--filters', 'Name=tag:team,Values=platform'), ['web']);
  assert.deepEqual(await names('--filters', 'Name=tag-key,Values=team'), ['web']);
  assert.deepEqual(await names('--filters', `Name=create-time,Values=${created.CreateTime.slice(0, 4)}*`), ['web', 'dbs']);
  assert.deepEqual(await names('--page-size', '1'), ['web', 'dbs']);
  assert.deepEqual(await names('--launch-template-names', 'dbs'), ['dbs']);
  assert.deepEqual((await cli(['describe-launch-templates'], 'us-west-2')).LaunchTemplates, [], 'templates are per region');

  // ModifyLaunchTemplate moves the default; $Default follows it.
  const modified = (await cli(['modify-launch-template', '--launch-template-id', id, '--default-version', '2'])).LaunchTemplate;
  assert.equal(modified.DefaultVersionNumber, 2);
  assert.deepEqual(await versionsOf('--launch-template-id', id, '--versions', '$Default'), [2]);

  // Delete versions: each one answered; the default is refused, a missing one reported.
  const del = await cli(['delete-launch-template-versions', '--launch-template-id', id, '--versions', '1', '2', '9']);
  assert.deepEqual(del.SuccessfullyDeletedLaunchTemplateVersions.map((v: { VersionNumber: number }) => v.VersionNumber), [1]);
  assert.deepEqual(del.UnsuccessfullyDeletedLaunchTemplateVersions.map((v: { VersionNumber: number; ResponseError: { Code: string } }) =>
    [v.VersionNumber, v.ResponseError.Code]), [[2, 'unexpectedError'], [9, 'launchTemplateVersionDoesNotExist']]);
  assert.deepEqual(await versionsOf('--launch-template-id', id), [3, 2]);
  const missing = await cli(['delete-launch-template-versions', '--launch-template-name', 'nope', '--versions', '1']);
  assert.equal(missing.UnsuccessfullyDeletedLaunchTemplateVersions[0].ResponseError.Code, 'launchTemplateNameDoesNotExist');
  // Version numbers are not reused after a delete.
  const v4 = (await cli(['create-launch-template-version', '--launch-template-id', id, '--launch-template-data', json({ KeyName: 'lt-key' })])).LaunchTemplateVersion;
  assert.equal(v4.VersionNumber, 4);

  await cli(['delete-launch-template', '--launch-template-name', 'dbs']);
  assert.deepEqual(await names(), ['web']);
});

test('errors by code', { skip }, async () => {
  const data = json({ InstanceType: 't3.micro' });
  await cli(['create-launch-template', '--launch-template-name', 'errs', '--launch-template-data', data]);
  assert.equal(await cliError(['create-launch-template', '--launch-template-name', 'errs', '--launch-template-data', data]),
    'InvalidLaunchTemplateName.AlreadyExistsException');
  assert.equal(await cliError(['create-launch-template', '--launch-template-name', 'a b!', '--launch-template-data', data]),
    'InvalidLaunchTemplateName.MalformedException');
  assert.equal(await cliError(['describe-launch-templates', '--launch-template-ids', 'lt-0123456789abcdef0']), 'InvalidLaunchTemplateId.NotFound');
  assert.equal(await cliError(['describe-launch-templates', '--launch-template-ids', 'lt-nope']), 'InvalidLaunchTemplateId.Malformed');
  assert.equal(await cliError(['describe-launch-templates', '--launch-template-names', 'nope']), 'InvalidLaunchTemplateName.NotFoundException');
  assert.equal(await cliError(['describe-launch-template-versions', '--launch-template-name', 'errs', '--versions', '7']),
    'InvalidLaunchTemplateId.VersionNotFound');
  assert.equal(await cliError(['describe-launch-template-versions', '--launch-template-name', 'errs', '--versions', 'seven']), 'InvalidParameterValue');
  assert.equal(await cliError(['create-launch-template-version', '--launch-template-name', 'errs', '--source-version', '5', '--launch-template-data', data]),
    'InvalidLaunchTemplateId.VersionNotFound');
  assert.equal(await cliError(['modify-launch-template', '--launch-template-name', 'errs', '--default-version', '5']), 'InvalidLaunchTemplateId.VersionNotFound');
  assert.equal(await cliError(['delete-launch-template', '--launch-template-id', 'lt-0123456789abcdef0']), 'InvalidLaunchTemplateId.NotFound');
  assert.equal(await cliError(['delete-launch-template', '--launch-template-name', 'nope']), 'InvalidLaunchTemplateName.NotFoundException');
  assert.equal(await cliError(['create-launch-template', '--launch-template-name', 'bad-meta', '--launch-template-data',
    json({ MetadataOptions: { HttpTokens: 'sometimes' } })]), 'InvalidParameterValue');
  assert.equal(await cliError(['create-launch-template', '--launch-template-name', 'bad-tags', '--launch-template-data',
    json({ TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'a', Value: 'b' }] }] })]), 'InvalidParameterValue');
  assert.equal(await cliError(['run-instances', '--launch-template', 'LaunchTemplateName=nope']), 'InvalidLaunchTemplateName.NotFoundException');
  assert.equal(await cliError(['run-instances', '--launch-template', 'LaunchTemplateName=errs,Version=9']), 'InvalidLaunchTemplateId.VersionNotFound');
  assert.equal(await cliError(['run-instances', '--launch-template', 'LaunchTemplateName=errs']), 'MissingParameter', 'no image in the template or the request');
  assert.equal(await cliError(['run-instances', '--launch-template', 'LaunchTemplateId=lt-0123456789abcdef0', '--image-id', amiId]),
    'InvalidLaunchTemplateId.NotFound');
});

test('SDK: a template that names a missing image is stored, with a warning; ClientToken makes create idempotent', async () => {
  const req = { LaunchTemplateName: 'warned', ClientToken: 'lt-token-1', LaunchTemplateData: { ImageId: 'ami-0123456789abcdef0', InstanceType: 't3.micro' as const } };
  const first = await ec2.send(new CreateLaunchTemplateCommand(req));
  assert.deepEqual(first.Warning?.Errors?.map((e) => e.Code), ['InvalidAMIID.NotFound']);
  const again = await ec2.send(new CreateLaunchTemplateCommand(req));
  assert.equal(again.LaunchTemplate?.LaunchTemplateId, first.LaunchTemplate?.LaunchTemplateId);
  await assert.rejects(ec2.send(new CreateLaunchTemplateCommand({ ...req, VersionDescription: 'other' })), { name: 'IdempotentParameterMismatch' });
  const vreq = { LaunchTemplateName: 'warned', ClientToken: 'lt-token-2', LaunchTemplateData: { InstanceType: 't3.small' as const } };
  const v = await ec2.send(new CreateLaunchTemplateVersionCommand(vreq));
  assert.equal((await ec2.send(new CreateLaunchTemplateVersionCommand(vreq))).LaunchTemplateVersion?.VersionNumber, v.LaunchTemplateVersion?.VersionNumber);
  await ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: 'warned' }));
  await assert.rejects(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['warned'] })), { name: 'InvalidLaunchTemplateName.NotFoundException' });
});

test('SDK: RunInstances from a template: its data under the request, the template tags; GetLaunchTemplateData round-trips', async () => {
  const { LaunchTemplate: lt } = await ec2.send(new CreateLaunchTemplateCommand({
    LaunchTemplateName: 'app',
    LaunchTemplateData: {
      ImageId: amiId, InstanceType: 't3.micro', UserData: Buffer.from('#!/bin/sh\necho hi\n').toString('base64'),
      InstanceInitiatedShutdownBehavior: 'terminate', DisableApiTermination: true, MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 2, VolumeType: 'gp3' } }],
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Role', Value: 'app' }, { Key: 'Tier', Value: 'back' }] },
        { ResourceType: 'volume', Tags: [{ Key: 'Backup', Value: 'daily' }] }],
    },
  }));
  await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: lt!.LaunchTemplateId, SourceVersion: '1', LaunchTemplateData: { InstanceType: 't3.small' } }));

  // $Default is version 1; the request's type and one tag win, the rest comes from the template.
  const r = await ec2.send(new RunInstancesCommand({
    MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: 'app' }, InstanceType: 't3.medium',
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Tier', Value: 'front' }] }],
  }));
  const id = r.Instances![0]!.InstanceId!;
  await until(`${id} running`, async () => (await describeInstance(id)).State?.Name === 'running');
  const inst = await describeInstance(id);
  assert.deepEqual([inst.ImageId, inst.InstanceType, inst.MetadataOptions?.HttpTokens, inst.MetadataOptions?.HttpPutResponseHopLimit],
    [amiId, 't3.medium', 'required', 2]);
  const tags = Object.fromEntries(inst.Tags!.map((t) => [t.Key, t.Value]));
  assert.deepEqual(tags, { Role: 'app', Tier: 'front', 'aws:ec2launchtemplate:id': lt!.LaunchTemplateId, 'aws:ec2launchtemplate:version': '1' });
  const shutdown = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceInitiatedShutdownBehavior' }));
  assert.equal(shutdown.InstanceInitiatedShutdownBehavior?.Value, 'terminate');
  const { Volumes = [] } = await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }));
  const sdf = Volumes.find((v) => v.Attachments?.[0]?.Device === '/dev/sdf');
  assert.deepEqual([sdf?.Size, sdf?.VolumeType, sdf?.Tags], [2, 'gp3', [{ Key: 'Backup', Value: 'daily' }]]);

  // $Latest by id: version 2's type.
  const latest = await ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateId: lt!.LaunchTemplateId, Version: '$Latest' } }));
  const li = latest.Instances![0]!;
  assert.equal(li.InstanceType, 't3.small');
  assert.equal(li.Tags?.find((t) => t.Key === 'aws:ec2launchtemplate:version')?.Value, '2');

  // GetLaunchTemplateData: the instance's launch parameters as template data, which make a template that launches its like.
  const { LaunchTemplateData: got } = await ec2.send(new GetLaunchTemplateDataCommand({ InstanceId: id }));
  assert.deepEqual([got?.ImageId, got?.InstanceType, got?.UserData, got?.InstanceInitiatedShutdownBehavior, got?.DisableApiTermination],
    [amiId, 't3.medium', Buffer.from('#!/bin/sh\necho hi\n').toString('base64'), 'terminate', true]);
  assert.equal(got?.MetadataOptions?.HttpTokens, 'required');
  assert.deepEqual(got?.TagSpecifications, [{ ResourceType: 'instance', Tags: [{ Key: 'Role', Value: 'app' }, { Key: 'Tier', Value: 'front' }] }]);
  assert.deepEqual(got?.BlockDeviceMappings?.map((m) => m.DeviceName).sort(), ['/dev/sdf', '/dev/xvda']);
  assert.equal(got?.NetworkInterfaces?.[0]?.Groups?.length, 1);
  const copy = await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'app-copy', LaunchTemplateData: got as never }));
  assert.equal(copy.Warning, undefined);
  const twin = (await ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: 'app-copy' } }))).Instances![0]!;
  assert.deepEqual([twin.ImageId, twin.InstanceType, twin.SubnetId], [amiId, 't3.medium', inst.SubnetId]);

  // The CLI's answer is a valid request as it stands (the CLI validates it against the request shape).
  if (!skip) {
    const cliData = (await cli(['get-launch-template-data', '--instance-id', id])).LaunchTemplateData;
    const cliCopy = (await cli(['create-launch-template', '--launch-template-name', 'app-cli-copy', '--launch-template-data', json(cliData)])).LaunchTemplate;
    assert.equal(cliCopy.LatestVersionNumber, 1);
  }

  // Network interfaces in the template and groups in the request conflict, as on EC2.
  await assert.rejects(ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, LaunchTemplate: { LaunchTemplateName: 'app-copy' }, SecurityGroupIds: got!.NetworkInterfaces![0]!.Groups })),
    { name: 'InvalidParameterCombination' });

  await ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateName: 'app', DefaultVersion: '2' }));
  const { LaunchTemplateVersions: [dflt] = [] } = await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: 'app', Versions: ['$Default'] }));
  assert.deepEqual([dflt?.VersionNumber, dflt?.DefaultVersion, dflt?.LaunchTemplateData?.InstanceType], [2, true, 't3.small']);
});
