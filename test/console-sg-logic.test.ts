/** The security group pages' logic (console/src/sg-logic.ts): rule types, how rules read, and Edit rules' Authorize/Revoke calls. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SecurityGroupRule } from '@aws-sdk/client-ec2';
import { describeRule, draftErrors, newDraft, ruleCount, ruleSteps, toDraft, toPermission, withType } from '../console/src/sg-logic.js';
import type { RuleDraft } from '../console/src/sg-logic.js';

const rule = (id: string, protocol: string, from: number, to: number, peer: string, more: Partial<SecurityGroupRule> = {}): SecurityGroupRule => ({
  SecurityGroupRuleId: id, IsEgress: false, IpProtocol: protocol, FromPort: from, ToPort: to,
  ...(peer.startsWith('sg-') ? { ReferencedGroupInfo: { GroupId: peer, UserId: '000000000000' } } : { CidrIpv4: peer }), ...more,
});
const http = rule('sgr-1', 'tcp', 80, 80, '0.0.0.0/0');
const ssh = rule('sgr-2', 'tcp', 22, 22, 'sg-0admins');
const draft = (type: RuleDraft['type'], peer: string, patch: Partial<RuleDraft> = {}): RuleDraft => ({
  ...withType(newDraft(false), type), ...(peer.startsWith('sg-') ? { peerKind: 'group', groupId: peer } : { cidr: peer }), ...patch,
});

test('existing rules read as the presets (and a custom range, all ICMP, an ICMP type) and turn back into the same permission', () => {
  assert.deepEqual(describeRule(http), { type: 'HTTP', protocol: 'TCP', ports: '80', peer: '0.0.0.0/0' });
  assert.deepEqual(describeRule(ssh), { type: 'SSH', protocol: 'TCP', ports: '22', peer: 'sg-0admins' });
  assert.deepEqual(describeRule(rule('r', '-1', -1, -1, '0.0.0.0/0')), { type: 'All traffic', protocol: 'All', ports: 'All', peer: '0.0.0.0/0' });
  assert.deepEqual(describeRule(rule('r', 'udp', 8000, 8080, '10.0.0.0/8')), { type: 'Custom UDP', protocol: 'UDP', ports: '8000-8080', peer: '10.0.0.0/8' });
  assert.equal(describeRule(rule('r', 'icmp', -1, -1, '10.0.0.0/8')).type, 'All ICMP - IPv4');
  const echo = rule('r', 'icmp', 8, 0, '10.0.0.0/8');
  assert.equal(toDraft(echo).type, 'other');
  assert.deepEqual(toPermission(toDraft(echo)), { IpProtocol: 'icmp', FromPort: 8, ToPort: 0, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: undefined }] });
  assert.deepEqual(toPermission(toDraft({ ...ssh, Description: 'admins' })), {
    IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [{ GroupId: 'sg-0admins', Description: 'admins' }],
  });
  assert.deepEqual(toPermission(draft('all', '0.0.0.0/0')), { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0', Description: undefined }] });
});

test('a new row: SSH in, all traffic out to anywhere; a preset sets the ports, a custom type keeps what was typed', () => {
  assert.deepEqual([newDraft(false).type, newDraft(false).ports, newDraft(true).type, newDraft(true).cidr], ['ssh', '22', 'all', '0.0.0.0/0']);
  const custom = { ...withType(newDraft(false), 'custom-tcp'), ports: '8000-8080' };
  assert.equal(custom.ports, '8000-8080');
  assert.equal(withType(custom, 'custom-udp').ports, '8000-8080');
  assert.equal(withType(custom, 'https').ports, '443');
  assert.equal(withType(custom, 'all').ports, '');
});

test('rows are checked: port ranges of custom types, CIDR blocks, a chosen group', () => {
  assert.deepEqual(draftErrors(draft('http', '0.0.0.0/0')), {});
  assert.ok(draftErrors(draft('custom-tcp', '0.0.0.0/0', { ports: '' })).ports);
  assert.ok(draftErrors(draft('custom-tcp', '0.0.0.0/0', { ports: '90-80' })).ports);
  assert.ok(draftErrors(draft('custom-udp', '0.0.0.0/0', { ports: '70000' })).ports);
  assert.deepEqual(draftErrors(draft('custom-udp', '0.0.0.0/0', { ports: '53' })), {});
  assert.ok(draftErrors(draft('ssh', '10.0.0.300/8')).peer);
  assert.ok(draftErrors(draft('ssh', '10.0.0.0')).peer);
  assert.ok(draftErrors(draft('ssh', '', { peerKind: 'group' })).peer);
});

test('rule counts are permission entries: every range and group of every permission', () => {
  assert.equal(ruleCount(undefined), 0);
  assert.equal(ruleCount([{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: 'a' }, { CidrIp: 'b' }], UserIdGroupPairs: [{ GroupId: 'sg-1' }] }, { IpProtocol: '-1', IpRanges: [{ CidrIp: 'c' }] }]), 4);
});

test('Edit rules: unchanged rows keep their rules; deleted ones are revoked by id; new ones authorized first', () => {
  assert.deepEqual(ruleSteps([http, ssh], [toDraft(http), toDraft(ssh)]), [], 'nothing changed');
  assert.deepEqual(ruleSteps([http, ssh], [toDraft(ssh), draft('https', '10.0.0.0/8')]), [
    { authorize: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: undefined }] }] },
    { revoke: ['sgr-1'] },
  ]);
  assert.deepEqual(ruleSteps([http], []), [{ revoke: ['sgr-1'] }]);
  assert.deepEqual(ruleSteps([], [draft('ssh', 'sg-0admins')]), [{ authorize: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [{ GroupId: 'sg-0admins', Description: undefined }] }] }]);
});

test('Edit rules: a row edited back into an existing rule, a re-added deleted rule and a repeated row change nothing', () => {
  // The HTTP row deleted and an identical one added: the rule stays.
  assert.deepEqual(ruleSteps([http], [draft('http', '0.0.0.0/0')]), []);
  // The HTTP row changed to HTTPS: revoke the one, authorize the other.
  assert.deepEqual(ruleSteps([http], [{ ...toDraft(http), ...withType(toDraft(http), 'https') }]).map((s) => Object.keys(s)[0]), ['authorize', 'revoke']);
  // Two equal new rows are one rule (EC2 would refuse the second as InvalidPermission.Duplicate).
  assert.equal((ruleSteps([], [draft('ssh', '1.2.3.4/32'), draft('ssh', '1.2.3.4/32')])[0] as { authorize: unknown[] }).authorize.length, 1);
  assert.deepEqual(ruleSteps([http], [toDraft(http), draft('http', '0.0.0.0/0', { description: 'again' })]), []);
});

test('Edit rules: a changed description revokes the rule before authorizing it again (EC2 would refuse it as a duplicate)', () => {
  const steps = ruleSteps([http, ssh], [{ ...toDraft(http), description: 'web' }, toDraft(ssh), draft('https', '0.0.0.0/0')]);
  assert.deepEqual(steps, [
    { authorize: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: undefined }] }] },
    { revoke: ['sgr-1'] },
    { authorize: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'web' }] }] },
  ]);
});
