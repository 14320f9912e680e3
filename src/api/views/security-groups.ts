/** Security groups and their rules as the EC2 API shows them, and their filter tables. */
import type { IpPermission, SecurityGroup, SecurityGroupRule } from '@aws-sdk/client-ec2';
import type { SecurityGroupRecord, SecurityGroupRuleRecord } from '../../model/extra-records.js';
import type { FilterFields } from '../filters.js';
import { toSdkTags } from '../tags.js';

const port = (n: number) => (n < 0 ? undefined : n);

/** AWS groups a group's rules into permissions: one per protocol and port range, with its ranges and groups. */
function permissions(rules: SecurityGroupRuleRecord[]): IpPermission[] {
  const byKey = new Map<string, IpPermission>();
  for (const r of rules) {
    const key = `${r.protocol}/${r.fromPort}/${r.toPort}`;
    let p = byKey.get(key);
    if (!p) {
      p = { IpProtocol: r.protocol, FromPort: port(r.fromPort), ToPort: port(r.toPort), IpRanges: [], UserIdGroupPairs: [], Ipv6Ranges: [], PrefixListIds: [] };
      byKey.set(key, p);
    }
    if (r.cidr) p.IpRanges!.push({ CidrIp: r.cidr, Description: r.description });
    if (r.groupId) p.UserIdGroupPairs!.push({ GroupId: r.groupId, UserId: r.groupOwner, Description: r.description });
  }
  return [...byKey.values()];
}

export function toSdkGroup(g: SecurityGroupRecord): SecurityGroup {
  return {
    GroupId: g.id, GroupName: g.groupName, Description: g.description, VpcId: g.vpcId, OwnerId: g.account,
    SecurityGroupArn: `arn:aws:ec2:${g.region}:${g.account}:security-group/${g.id}`,
    IpPermissions: permissions(g.rules.filter((r) => !r.egress)), IpPermissionsEgress: permissions(g.rules.filter((r) => r.egress)),
    Tags: g.tags.length ? toSdkTags(g.tags) : undefined,
  };
}

export function toSdkRule(r: SecurityGroupRuleRecord, g: SecurityGroupRecord): SecurityGroupRule {
  return {
    SecurityGroupRuleId: r.id, GroupId: g.id, GroupOwnerId: g.account, IsEgress: r.egress, IpProtocol: r.protocol,
    FromPort: r.fromPort, ToPort: r.toPort, CidrIpv4: r.cidr, Description: r.description,
    ReferencedGroupInfo: r.groupId ? { GroupId: r.groupId, UserId: r.groupOwner } : undefined,
    SecurityGroupRuleArn: `arn:aws:ec2:${g.region}:${g.account}:security-group-rule/${r.id}`, Tags: [],
  };
}

const rulesOf = (g: SecurityGroupRecord, egress: boolean) => g.rules.filter((r) => r.egress === egress);

export const GROUP_FILTERS: FilterFields<SecurityGroupRecord> = {
  'group-id': (g) => g.id,
  'group-name': (g) => g.groupName,
  'description': (g) => g.description,
  'vpc-id': (g) => g.vpcId,
  'owner-id': (g) => g.account,
  'ip-permission.cidr': (g) => rulesOf(g, false).map((r) => r.cidr).filter((c): c is string => !!c),
  'ip-permission.group-id': (g) => rulesOf(g, false).map((r) => r.groupId).filter((c): c is string => !!c),
  'ip-permission.protocol': (g) => rulesOf(g, false).map((r) => r.protocol),
  'ip-permission.from-port': (g) => rulesOf(g, false).map((r) => r.fromPort),
  'ip-permission.to-port': (g) => rulesOf(g, false).map((r) => r.toPort),
  'egress.ip-permission.cidr': (g) => rulesOf(g, true).map((r) => r.cidr).filter((c): c is string => !!c),
  'egress.ip-permission.group-id': (g) => rulesOf(g, true).map((r) => r.groupId).filter((c): c is string => !!c),
  'egress.ip-permission.protocol': (g) => rulesOf(g, true).map((r) => r.protocol),
};

export const RULE_FILTERS: FilterFields<SecurityGroupRuleRecord & { group: SecurityGroupRecord }> = {
  'group-id': (r) => r.group.id,
  'security-group-rule-id': (r) => r.id,
};
