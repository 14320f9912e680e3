/** The web console's form logic (console/src/logic.ts): what each form sends to the EC2 API. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOutput, encodeUserData, imageTagSpecs, permissionChanges, rootMapping, scopeQuery, tagChanges } from '../console/src/logic.js';

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
