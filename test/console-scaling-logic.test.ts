/** The Launch Templates and Auto Scaling Groups pages' form logic (console/src/scaling-logic.ts): what they send. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  capacityChanges, capacityErrors, groupBusy, groupInput, membersOf, refreshInput, templateCell, templateData, templateForm, templateNameError,
  versionChoices,
} from '../console/src/scaling-logic.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('a version\'s data fills the form (groups from the first interface when it has no instance-level ones)', () => {
  assert.deepEqual(templateForm({ ImageId: 'ami-1', InstanceType: 't3.small', KeyName: 'k', SecurityGroupIds: ['sg-1'], UserData: b64('#!/bin/sh\n') }), {
    imageId: 'ami-1', instanceType: 't3.small', keyName: 'k', securityGroupIds: ['sg-1'], userData: '#!/bin/sh\n',
  });
  assert.deepEqual(templateForm({ ImageId: 'ami-1', NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-1', Groups: ['sg-2'] }] }).securityGroupIds, ['sg-2']);
  assert.deepEqual(templateForm(undefined), { imageId: '', instanceType: 't3.micro', keyName: '', securityGroupIds: [], userData: '' });
});

test('template data: the form over the base, blanks dropped, the rest of the base kept, groups on the interface when there is one', () => {
  const form = { imageId: ' ami-2 ', instanceType: 't3.micro', keyName: '', securityGroupIds: ['sg-9'], userData: 'echo hi' };
  assert.deepEqual(templateData(form), { ImageId: 'ami-2', InstanceType: 't3.micro', UserData: b64('echo hi'), SecurityGroupIds: ['sg-9'] });
  const base = {
    ImageId: 'ami-1', KeyName: 'old', UserData: b64('old'), SecurityGroups: ['default'], MetadataOptions: { HttpTokens: 'required' as const },
    TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'Role', Value: 'web' }] }],
  };
  assert.deepEqual(templateData({ ...form, userData: '', securityGroupIds: [] }, base), {
    ImageId: 'ami-2', InstanceType: 't3.micro', MetadataOptions: { HttpTokens: 'required' }, TagSpecifications: base.TagSpecifications,
  });
  const fromInstance = { ImageId: 'ami-1', NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-1', Groups: ['sg-1'] }, { DeviceIndex: 1 }] };
  assert.deepEqual(templateData(form, fromInstance).NetworkInterfaces, [{ DeviceIndex: 0, SubnetId: 'subnet-1', Groups: ['sg-9'] }, { DeviceIndex: 1 }]);
  assert.equal(templateData(form, fromInstance).SecurityGroupIds, undefined);
});

test('launch template names as EC2 takes them', () => {
  assert.equal(templateNameError('web-1.(prod)/a_b'), undefined);
  assert.ok(templateNameError('ab'));
  assert.ok(templateNameError('has space'));
  assert.ok(templateNameError('x'.repeat(129)));
});

test('version choices: Default and Latest with their numbers, then each version newest first', () => {
  const t = { DefaultVersionNumber: 1, LatestVersionNumber: 2 };
  assert.deepEqual(versionChoices(t, [{ VersionNumber: 1, VersionDescription: 'first' }, { VersionNumber: 2 }]), [
    { value: '$Default', label: 'Default (1)' }, { value: '$Latest', label: 'Latest (2)' }, { value: '2', label: '2' }, { value: '1', label: '1 (first)' },
  ]);
});

test('group size: whole numbers, min <= desired <= max; Edit sends only what changed', () => {
  assert.deepEqual(capacityErrors({ desired: '2', min: '1', max: '3' }), {});
  assert.deepEqual(Object.keys(capacityErrors({ desired: '4', min: '1', max: '3' })), ['desired']);
  assert.deepEqual(Object.keys(capacityErrors({ desired: '0', min: '1', max: '3' })), ['desired']);
  assert.deepEqual(Object.keys(capacityErrors({ desired: '1', min: '2', max: '1' })).sort(), ['desired', 'max']);
  assert.deepEqual(Object.keys(capacityErrors({ desired: '1.5', min: '-1', max: '' })).sort(), ['desired', 'max', 'min']);
  const g = { DesiredCapacity: 2, MinSize: 1, MaxSize: 4 };
  assert.deepEqual(capacityChanges(g, { desired: '1', min: '1', max: '4' }), { DesiredCapacity: 1 });
  assert.deepEqual(capacityChanges(g, { desired: '2', min: '0', max: '5' }), { MinSize: 0, MaxSize: 5 });
});

test('Create Auto Scaling group: the request, or every field that is wrong', () => {
  const form = { name: ' web ', templateId: 'lt-1', version: '$Latest', subnetIds: ['subnet-a', 'subnet-b'], desired: '2', min: '1', max: '3' };
  assert.deepEqual(groupInput(form), {
    errors: {},
    input: {
      AutoScalingGroupName: 'web', LaunchTemplate: { LaunchTemplateId: 'lt-1', Version: '$Latest' }, DesiredCapacity: 2, MinSize: 1, MaxSize: 3,
      VPCZoneIdentifier: 'subnet-a,subnet-b',
    },
  });
  assert.equal(groupInput({ ...form, version: '' }).input?.LaunchTemplate?.Version, '$Default');
  const bad = groupInput({ ...form, name: '', templateId: '', subnetIds: [], desired: '9' });
  assert.equal(bad.input, undefined);
  assert.deepEqual(Object.keys(bad.errors).sort(), ['desired', 'name', 'subnetIds', 'templateId']);
});

test('the group table: its template cell, its members, and when it polls', () => {
  assert.equal(templateCell({ LaunchTemplate: { LaunchTemplateName: 'web', Version: '$Default' } }), 'web | Version Default');
  assert.equal(templateCell({ MixedInstancesPolicy: { LaunchTemplate: { LaunchTemplateSpecification: { LaunchTemplateId: 'lt-1', Version: '2' } } } }), 'lt-1 | Version 2');
  assert.equal(templateCell({}), '-');
  assert.deepEqual(membersOf([{ InstanceId: 'i-1', AutoScalingGroupName: 'a' }, { InstanceId: 'i-2', AutoScalingGroupName: 'b' }], 'b').map((i) => i.InstanceId), ['i-2']);
  const inService = { LifecycleState: 'InService' as const };
  assert.equal(groupBusy({ DesiredCapacity: 2, Instances: [inService, inService] }), false);
  assert.equal(groupBusy({ DesiredCapacity: 2, Instances: [inService] }), true);
  assert.equal(groupBusy({ DesiredCapacity: 1, Instances: [{ LifecycleState: 'Pending' }] }), true);
  assert.equal(groupBusy({ DesiredCapacity: 0, Instances: [], Status: 'Delete in progress' }), true);
});

test('Start instance refresh: the preferences, or the error', () => {
  assert.deepEqual(refreshInput('web', '90', ''), { input: { AutoScalingGroupName: 'web', Preferences: { MinHealthyPercentage: 90 } } });
  assert.deepEqual(refreshInput('web', '50', '30').input?.Preferences, { MinHealthyPercentage: 50, InstanceWarmup: 30 });
  assert.ok(refreshInput('web', '101', '').error);
  assert.ok(refreshInput('web', 'x', '').error);
  assert.ok(refreshInput('web', '90', '1.5').error);
});
