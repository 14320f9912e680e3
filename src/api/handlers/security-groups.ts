/**
 * CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
 * Authorize/RevokeSecurityGroupIngress/Egress and DescribeSecurityGroupRules,
 * through services/network/security-groups.ts (which also enforces them).
 */
import type {
  AuthorizeSecurityGroupEgressRequest, AuthorizeSecurityGroupEgressResult, AuthorizeSecurityGroupIngressRequest,
  AuthorizeSecurityGroupIngressResult, CreateSecurityGroupRequest, CreateSecurityGroupResult, DeleteSecurityGroupRequest,
  DescribeSecurityGroupRulesRequest, DescribeSecurityGroupRulesResult, DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult,
  IpPermission, RevokeSecurityGroupEgressRequest, RevokeSecurityGroupEgressResult, RevokeSecurityGroupIngressRequest,
  RevokeSecurityGroupIngressResult,
} from '@aws-sdk/client-ec2';
import type { Permission } from '../../services/network/security-groups.js';
import {
  authorize, createSecurityGroup, deleteSecurityGroup, describeSecurityGroups, revoke, securityGroupRules,
} from '../../services/network/security-groups.js';
import { ApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs } from '../tags.js';
import { GROUP_FILTERS, RULE_FILTERS, toSdkGroup, toSdkRule } from '../views/security-groups.js';

/** The request's permissions: IpPermissions, or the older flat form (IpProtocol, FromPort, ToPort, CidrIp, SourceSecurityGroupName). */
function permissionsOf(input: {
  IpPermissions?: IpPermission[]; IpProtocol?: string; FromPort?: number; ToPort?: number; CidrIp?: string;
  SourceSecurityGroupName?: string; SourceSecurityGroupOwnerId?: string;
}): Permission[] {
  const perms: Permission[] = (input.IpPermissions ?? []).map((p) => ({
    protocol: p.IpProtocol, fromPort: p.FromPort, toPort: p.ToPort,
    cidrs: (p.IpRanges ?? []).map((r) => ({ cidr: r.CidrIp ?? '', description: r.Description })),
    groups: (p.UserIdGroupPairs ?? []).map((g) => ({ groupId: g.GroupId, groupName: g.GroupName, userId: g.UserId, description: g.Description })),
  }));
  if (input.CidrIp || input.SourceSecurityGroupName) {
    perms.push({
      protocol: input.IpProtocol ?? '-1', fromPort: input.FromPort, toPort: input.ToPort,
      cidrs: input.CidrIp ? [{ cidr: input.CidrIp }] : [], groups: input.SourceSecurityGroupName ? [{ groupName: input.SourceSecurityGroupName }] : [],
    });
  }
  return perms;
}

const ref = (input: { GroupId?: string; GroupName?: string }) => ({ groupId: input.GroupId, groupName: input.GroupName });

export const create: Handler<CreateSecurityGroupRequest, CreateSecurityGroupResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['security-group']);
  const g = await createSecurityGroup(ctx, caller, { groupName: input.GroupName, description: input.Description, vpcId: input.VpcId, tags: tags['security-group'] });
  return { GroupId: g.id, SecurityGroupArn: toSdkGroup(g).SecurityGroupArn };
};

export const describe: Handler<DescribeSecurityGroupsRequest, DescribeSecurityGroupsResult> = async (ctx, caller, input) => {
  const groups = applyFilters(await describeSecurityGroups(ctx, caller, input.GroupIds, input.GroupNames), input.Filters, GROUP_FILTERS, (g) => g.tags);
  const page = paginate(groups, 'security-groups', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { SecurityGroups: page.items.map(toSdkGroup), NextToken: page.nextToken };
};

export const remove: Handler<DeleteSecurityGroupRequest, object> = async (ctx, caller, input) => {
  await deleteSecurityGroup(ctx, caller, ref(input));
  return {};
};

type Added = { SecurityGroupRules: AuthorizeSecurityGroupIngressResult['SecurityGroupRules'] };
const added = (rules: Awaited<ReturnType<typeof authorize>>, groupId: string | undefined, owner: string): Added => ({
  SecurityGroupRules: rules.map((r) => ({
    SecurityGroupRuleId: r.id, GroupOwnerId: owner, IsEgress: r.egress, IpProtocol: r.protocol, FromPort: r.fromPort, ToPort: r.toPort,
    CidrIpv4: r.cidr, Description: r.description, ReferencedGroupInfo: r.groupId ? { GroupId: r.groupId, UserId: r.groupOwner } : undefined,
    GroupId: groupId,
  })),
});

export const authorizeIngress: Handler<AuthorizeSecurityGroupIngressRequest, AuthorizeSecurityGroupIngressResult> = async (ctx, caller, input) =>
  ({ Return: true, ...added(await authorize(ctx, caller, ref(input), false, permissionsOf(input)), input.GroupId, caller.account) });

export const authorizeEgress: Handler<AuthorizeSecurityGroupEgressRequest, AuthorizeSecurityGroupEgressResult> = async (ctx, caller, input) => {
  if (!input.GroupId) throw new ApiError('MissingParameter', 'The request must contain the parameter groupId');
  return { Return: true, ...added(await authorize(ctx, caller, ref(input), true, permissionsOf(input)), input.GroupId, caller.account) };
};

export const revokeIngress: Handler<RevokeSecurityGroupIngressRequest, RevokeSecurityGroupIngressResult> = async (ctx, caller, input) => {
  await revoke(ctx, caller, ref(input), false, permissionsOf(input), input.SecurityGroupRuleIds);
  return { Return: true };
};

export const revokeEgress: Handler<RevokeSecurityGroupEgressRequest, RevokeSecurityGroupEgressResult> = async (ctx, caller, input) => {
  if (!input.GroupId) throw new ApiError('MissingParameter', 'The request must contain the parameter groupId');
  await revoke(ctx, caller, ref(input), true, permissionsOf(input), input.SecurityGroupRuleIds);
  return { Return: true };
};

export const describeRules: Handler<DescribeSecurityGroupRulesRequest, DescribeSecurityGroupRulesResult> = async (ctx, caller, input) => {
  let rules = await securityGroupRules(ctx, caller);
  if (input.SecurityGroupRuleIds?.length) rules = rules.filter((r) => input.SecurityGroupRuleIds!.includes(r.id));
  const page = paginate(applyFilters(rules, input.Filters, RULE_FILTERS), 'security-group-rules', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { SecurityGroupRules: page.items.map((r) => toSdkRule(r, r.group)), NextToken: page.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  CreateSecurityGroup: create,
  DescribeSecurityGroups: describe,
  DeleteSecurityGroup: remove,
  AuthorizeSecurityGroupIngress: authorizeIngress,
  AuthorizeSecurityGroupEgress: authorizeEgress,
  RevokeSecurityGroupIngress: revokeIngress,
  RevokeSecurityGroupEgress: revokeEgress,
  DescribeSecurityGroupRules: describeRules,
};
