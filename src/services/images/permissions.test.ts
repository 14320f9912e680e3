import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageRecord } from '../../model/records.js';
import { noGrants } from '../../model/records.js';
import { applyItems, hasLaunchPermission, permissionItems, sharedWith, validateItems } from './permissions.js';

const ORG = 'arn:aws:organizations::111100000000:organization/o-abcdefghij';
const OU = 'arn:aws:organizations::111100000000:ou/o-abcdefghij/ou-abcd-12345678';

function image(over: Partial<ImageRecord> = {}): ImageRecord {
  return {
    id: 'ami-00000000000000001', account: '111111111111', region: 'us-east-1', name: 'x', state: 'available', architecture: 'x86_64',
    rootDeviceName: '/dev/xvda', blockDeviceMappings: [], creationDate: '2026-01-01T00:00:00.000Z', isPublic: false, enaSupport: true,
    tags: [], ...over,
  };
}

const caller = (account: string, org?: string, ou?: string) => ({ account, region: 'us-east-1', org, ou });

test('owner, public, explicit, organization and OU grants; never across regions', () => {
  const img = image({ launchPermission: { userIds: ['222222222222'], organizationArns: [ORG], organizationalUnitArns: [OU] } });
  assert.equal(hasLaunchPermission(img, caller('111111111111')), true);
  assert.equal(sharedWith(img, caller('222222222222')), 'user');
  assert.equal(sharedWith(img, caller('333333333333', 'o-abcdefghij')), 'org');
  assert.equal(sharedWith(image({ launchPermission: { ...noGrants(), organizationalUnitArns: [OU] } }), caller('3', 'o-abcdefghij', 'ou-abcd-12345678')), 'ou');
  assert.equal(hasLaunchPermission(img, caller('444444444444', 'o-otherorgxx')), false);
  assert.equal(hasLaunchPermission(image({ isPublic: true }), caller('444444444444')), true);
  assert.equal(hasLaunchPermission(image({ isPublic: true }), { account: '111111111111', region: 'eu-west-1' }), false);
});

test('validation names the first bad item by its type', () => {
  assert.throws(() => validateItems([{ UserId: '222222222222' }, { UserId: 'abc' }]), { code: 'InvalidAMIAttributeItemValue' });
  assert.throws(() => validateItems([{ Group: 'users' }]), { code: 'InvalidAMIAttributeItemValue' });
  assert.throws(() => validateItems([{ OrganizationalUnitArn: ORG }]), { code: 'InvalidAMIAttributeItemValue' });
  assert.throws(() => validateItems([{ UserId: '222222222222', Group: 'all' }]), { code: 'InvalidParameterCombination' });
  assert.doesNotThrow(() => validateItems([{ UserId: '222222222222' }, { Group: 'all' }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }]));
});

test('add is idempotent, remove of an absent item is harmless, and items list back in AWS form', () => {
  let p = applyItems({ isPublic: false, grants: noGrants() }, [{ UserId: '222222222222' }, { UserId: '222222222222' }, { Group: 'all' }], []);
  assert.deepEqual(p.grants.userIds, ['222222222222']);
  assert.equal(p.isPublic, true);
  p = applyItems(p, [{ OrganizationArn: ORG }], [{ Group: 'all' }, { UserId: '999999999999' }]);
  assert.equal(p.isPublic, false);
  assert.deepEqual(permissionItems(image({ isPublic: p.isPublic, launchPermission: p.grants })), [{ UserId: '222222222222' }, { OrganizationArn: ORG }]);
});
