/** The web console's form logic (console/src/logic.ts): what each form sends to the EC2 API. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOutput, encodeUserData, imageTagSpecs, permissionChanges, rootMapping, scopeQuery, tagChanges, withTagProperties } from '../console/src/logic.js';
import { DEFAULT_ADVANCED, advancedParams, launchMappings, nextDevices, recentAmis } from '../console/src/launch-logic.js';

test('the ownership filter: DescribeImages inputs, and Private images keeps only what others shared with me', () => {
  assert.deepEqual(scopeQuery('owned', '1').input, { Owners: ['self'] });
  assert.deepEqual(scopeQuery('public', '1').input, { Filters: [{ Name: 'is-public', Values: ['true'] }] });
  assert.deepEqual(scopeQuery('disabled', '1').input, { Owners: ['self'], IncludeDisabled: true });
  const priv = scopeQuery('private', '111');
  assert.deepEqual(priv.input, { ExecutableUsers: ['self'] });
  assert.equal(priv.keep({ OwnerId: '222', Public: false }), true);
  assert.equal(priv.keep({ OwnerId: '111', Public: false }), false, 'my own');
  assert.equal(priv.keep({ OwnerId: '222', Public: true }), false, 'public');
  assert.equal(scopeQuery('disabled', '1').keep({ State: 'available' }), false);
});

test('user data is base64 of its UTF-8 bytes, and console output decodes back', () => {
  assert.equal(encodeUserData(''), undefined);
  const script = '#!/bin/sh\necho "héllo ✓"\n';
  assert.equal(encodeUserData(script), Buffer.from(script).toString('base64'));
  assert.equal(decodeOutput(Buffer.from(script).toString('base64')), script);
  assert.equal(decodeOutput(undefined), '');
});

test('Create image tags: together tags both, separately each its own, blank keys dropped', () => {
  const t = [{ key: 'team', value: 'web' }, { key: ' ', value: 'x' }];
  assert.deepEqual(imageTagSpecs(true, t, []), [
    { ResourceType: 'image', Tags: [{ Key: 'team', Value: 'web' }] }, { ResourceType: 'snapshot', Tags: [{ Key: 'team', Value: 'web' }] },
  ]);
  assert.deepEqual(imageTagSpecs(false, t, [{ key: 'backup', value: 'daily' }]), [
    { ResourceType: 'image', Tags: [{ Key: 'team', Value: 'web' }] }, { ResourceType: 'snapshot', Tags: [{ Key: 'backup', Value: 'daily' }] },
  ]);
  assert.deepEqual(imageTagSpecs(false, [], []), []);
});

test('Edit AMI permissions: adds and removes accounts and the public group, nothing when unchanged', () => {
  const current = [{ UserId: '111122223333' }, { UserId: '444455556666' }];
  assert.deepEqual(permissionChanges(current, ['111122223333', ' 777788889999 ', ''], true), {
    Add: [{ UserId: '777788889999' }, { Group: 'all' }], Remove: [{ UserId: '444455556666' }],
  });
  assert.deepEqual(permissionChanges([...current, { Group: 'all' }], ['111122223333', '444455556666'], false), { Remove: [{ Group: 'all' }] });
  assert.equal(permissionChanges(current, ['444455556666', '111122223333'], false), undefined);
});

test('Manage tags: removed keys are deleted, the rest set (a changed value overwrites)', () => {
  assert.deepEqual(tagChanges([{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }], [{ key: 'b', value: '3' }, { key: 'c', value: '' }, { key: '', value: 'x' }]), {
    remove: [{ Key: 'a' }], set: [{ Key: 'b', Value: '3' }, { Key: 'c', Value: '' }],
  });
});

test('Configure storage: a root mapping only for what differs from the image', () => {
  const image = { RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1, VolumeType: 'gp3' as const } }] };
  assert.equal(rootMapping(image, '', ''), undefined);
  assert.equal(rootMapping(image, '1', 'gp3'), undefined);
  assert.deepEqual(rootMapping(image, '4', ''), [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } }]);
  assert.deepEqual(rootMapping(image, '', 'gp2'), [{ DeviceName: '/dev/xvda', Ebs: { VolumeType: 'gp2' } }]);
  assert.equal(rootMapping(undefined, '4', ''), undefined);
});

test('Launch: recent AMIs (newest first, no repeats, at most 5, damage forgotten); added volumes on free devices; advanced details', () => {
  assert.deepEqual(recentAmis(null), []);
  assert.deepEqual(recentAmis('not json', 'ami-1'), ['ami-1']);
  assert.deepEqual(recentAmis(JSON.stringify(['ami-2', 'ami-1', 7, 'x']), 'ami-1'), ['ami-1', 'ami-2']);
  assert.deepEqual(recentAmis(JSON.stringify(['ami-a', 'ami-b', 'ami-c', 'ami-d', 'ami-e']), 'ami-f'), ['ami-f', 'ami-a', 'ami-b', 'ami-c', 'ami-d']);

  const image = { RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1, VolumeType: 'gp3' as const } }, { DeviceName: '/dev/xvdf' }] };
  assert.deepEqual(nextDevices(image, 2), ['/dev/sdg', '/dev/sdh'], 'xvdf is sdf: taken');
  assert.equal(launchMappings(image, '', '', []), undefined, 'as the image says');
  assert.deepEqual(launchMappings(image, '4', '', [{ size: '10', type: 'io1', deleteOnTermination: false }, { size: '', type: '', deleteOnTermination: true }]), [
    { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 4 } },
    { DeviceName: '/dev/sdg', Ebs: { VolumeSize: 10, VolumeType: 'io1', DeleteOnTermination: false } },
    { DeviceName: '/dev/sdh', Ebs: { VolumeSize: 8, VolumeType: 'gp3', DeleteOnTermination: true } },
  ]);

  assert.deepEqual(advancedParams(DEFAULT_ADVANCED), { MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required' } });
  assert.deepEqual(advancedParams({ shutdown: 'terminate', terminationProtection: true, metadata: 'disabled', tokens: 'optional' }), {
    InstanceInitiatedShutdownBehavior: 'terminate', DisableApiTermination: true, MetadataOptions: { HttpEndpoint: 'disabled' },
  });
});

test('the AMIs property filter: each tag a property of its own, the keys sorted and once each', () => {
  const { rows, keys } = withTagProperties([
    { ImageId: 'ami-1', Tags: [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'prod' }] },
    { ImageId: 'ami-2', Tags: [{ Key: 'team', Value: 'db' }] },
    { ImageId: 'ami-3' },
  ]);
  assert.deepEqual(keys, ['env', 'team']);
  assert.deepEqual(rows.map((r) => [r.ImageId, r['tag:team'], r['tag:env']]), [['ami-1', 'web', 'prod'], ['ami-2', 'db', undefined], ['ami-3', undefined, undefined]]);
});

test('Edit AMI permissions: organizations and OUs by ARN, added and removed beside accounts', () => {
  const org = 'arn:aws:organizations::111122223333:organization/o-abc123';
  const ou = 'arn:aws:organizations::111122223333:ou/o-abc123/ou-ab12-cdef3456';
  assert.deepEqual(permissionChanges([], [], false, [org, ` ${ou} `]), { Add: [{ OrganizationArn: org }, { OrganizationalUnitArn: ou }] });
  assert.deepEqual(permissionChanges([{ OrganizationArn: org }, { UserId: '1' }], ['1'], false, [ou]), {
    Add: [{ OrganizationalUnitArn: ou }], Remove: [{ OrganizationArn: org }],
  });
  assert.equal(permissionChanges([{ OrganizationalUnitArn: ou }], [], false, [ou]), undefined);
});
