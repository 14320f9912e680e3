/**
 * Security groups of each account's default VPC: CreateSecurityGroup,
 * DescribeSecurityGroups, DeleteSecurityGroup, Authorize/Revoke ingress and
 * egress, DescribeSecurityGroupRules, and what an instance's groups allow,
 * resolved to addresses (firewallOf) for the runtime to enforce. The
 * `default` group (all traffic from its members in, all traffic out) is made
 * on first use; a new group allows all traffic out and nothing in, as on AWS.
 */
import type { InstanceAttributesRecord, SecurityGroupRecord, SecurityGroupRuleRecord } from '../../model/extra-records.js';
import type { Tag } from '../../model/records.js';
import type { Firewall, FirewallRule } from '../../runtime/runtime.js';
import { DuplicateError } from '../../store/store.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, Invalid } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { defaultSecurityGroup, defaultVpc, derivedId } from './network.js';

const groups = (ctx: Context) => ctx.store.collection<SecurityGroupRecord>('security-group');
const attrsOf = (ctx: Context) => ctx.store.collection<InstanceAttributesRecord>('instance-attributes');
const ruleId = () => newId('security-group-rule');
const ALL_OUT = (): SecurityGroupRuleRecord => ({ id: ruleId(), egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidr: '0.0.0.0/0' });

/** The owner's default group, made (with AWS's default rules) if this is its first use. */
export async function ensureDefaultGroup(ctx: Context, owner: Caller): Promise<SecurityGroupRecord> {
  const d = defaultSecurityGroup(owner);
  const found = await groups(ctx).get(d.groupId);
  if (found) return found;
  const rec: SecurityGroupRecord = {
    id: d.groupId, account: owner.account, region: owner.region, groupName: d.groupName, description: d.description, vpcId: d.vpcId, tags: [],
    rules: [
      { id: derivedId('sgr', d.groupId, 'self'), egress: false, protocol: '-1', fromPort: -1, toPort: -1, groupId: d.groupId, groupOwner: owner.account },
      { id: derivedId('sgr', d.groupId, 'out'), egress: true, protocol: '-1', fromPort: -1, toPort: -1, cidr: '0.0.0.0/0' },
    ],
  };
  await groups(ctx).insert(rec).catch((err) => { if (!(err instanceof DuplicateError)) throw err; });
  return (await groups(ctx).get(d.groupId))!;
}

/** The owner's groups in its region, the default one included. */
export async function securityGroups(ctx: Context, owner: Caller): Promise<SecurityGroupRecord[]> {
  await ensureDefaultGroup(ctx, owner);
  return groups(ctx).list({ account: owner.account, region: owner.region });
}

/** DescribeSecurityGroups: all, or exactly the named ids and names (InvalidGroup.NotFound naming the missing). */
export async function describeSecurityGroups(ctx: Context, caller: Caller, ids: string[] = [], names: string[] = []): Promise<SecurityGroupRecord[]> {
  const all = await securityGroups(ctx, caller);
  const missingId = ids.find((id) => !all.some((g) => g.id === id));
  if (missingId) throw new Invalid('InvalidGroup.NotFound', `The security group '${missingId}' does not exist`);
  const missingName = names.find((n) => !all.some((g) => g.groupName === n));
  if (missingName) throw new Invalid('InvalidGroup.NotFound', `The security group '${missingName}' does not exist in default VPC '${defaultVpc(caller).vpcId}'`);
  if (!ids.length && !names.length) return all;
  return all.filter((g) => ids.includes(g.id) || names.includes(g.groupName));
}

/** The groups RunInstances or ModifyInstanceAttribute name, by id or by name (the default group when none). */
export async function resolveGroupIds(ctx: Context, caller: Caller, ids: string[] = [], names: string[] = []): Promise<string[]> {
  if (!ids.length && !names.length) return [(await ensureDefaultGroup(ctx, caller)).id];
  return [...new Set((await describeSecurityGroups(ctx, caller, ids, names)).map((g) => g.id))];
}

export async function createSecurityGroup(
  ctx: Context, caller: Caller, req: { groupName?: string; description?: string; vpcId?: string; tags?: Tag[] },
): Promise<SecurityGroupRecord> {
  const name = req.groupName ?? '';
  if (!name) throw new Invalid('MissingParameter', 'The request must contain the parameter groupName');
  if (!req.description) throw new Invalid('MissingParameter', 'The request must contain the parameter groupDescription');
  if (name.length > 255 || req.description.length > 255) throw new Invalid('InvalidParameterValue', 'Group name and description are at most 255 characters');
  if (name.toLowerCase().startsWith('sg-')) throw new Invalid('InvalidParameterValue', "Group names may not be in the format sg-*");
  const vpc = defaultVpc(caller);
  // An empty VpcId is no VpcId (the default VPC), as on AWS: Packer's amazon builders send `VpcId=` when no VPC is configured.
  if (req.vpcId && req.vpcId !== vpc.vpcId) throw new Invalid('InvalidVpcID.NotFound', `The vpc ID '${req.vpcId}' does not exist`);
  await ensureDefaultGroup(ctx, caller);
  beforeChange(caller);
  const rec: SecurityGroupRecord = {
    id: newId('security-group'), account: caller.account, region: caller.region, groupName: name,
    description: req.description, vpcId: vpc.vpcId, rules: [ALL_OUT()], tags: req.tags ?? [],
  };
  try {
    await groups(ctx).insert(rec);
  } catch (err) {
    if (err instanceof DuplicateError) throw new Invalid('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc.vpcId}'`);
    throw err;
  }
  return rec;
}

/** Instances (not terminated) of the owner's region that are members of `groupId`. */
async function members(ctx: Context, owner: Caller, groupId: string): Promise<InstanceAttributesRecord[]> {
  const live = new Set((await ctx.store.instances.list(owner)).filter((i) => i.state !== 'terminated').map((i) => i.id));
  return (await attrsOf(ctx).list(owner)).filter((a) => live.has(a.id) && a.securityGroupIds.includes(groupId));
}

/** A group as requests name it: by id, or (default VPC) by name. */
export interface GroupRef { groupId?: string; groupName?: string }

async function groupByRef(ctx: Context, caller: Caller, ref: GroupRef): Promise<SecurityGroupRecord> {
  if (!ref.groupId && !ref.groupName) throw new Invalid('MissingParameter', 'The request must contain the parameter groupId or groupName');
  const [g] = await describeSecurityGroups(ctx, caller, ref.groupId ? [ref.groupId] : [], ref.groupId ? [] : [ref.groupName!]);
  return g!;
}

/** DeleteSecurityGroup by id or name: not the default group, not while instances or other groups' rules use it. */
export async function deleteSecurityGroup(ctx: Context, caller: Caller, ref: GroupRef): Promise<void> {
  const g = await groupByRef(ctx, caller, ref);
  if (g!.groupName === 'default') throw new Invalid('CannotDelete', `the specified group: "${g!.id}" name: "default" cannot be deleted by a user`);
  await ctx.store.transaction(async () => {
    if ((await members(ctx, caller, g!.id)).length) throw new Invalid('DependencyViolation', `resource ${g!.id} has a dependent object`);
    const referrer = (await groups(ctx).list(caller)).find((o) => o.id !== g!.id && o.rules.some((r) => r.groupId === g!.id));
    if (referrer) throw new Invalid('DependencyViolation', `resource ${g!.id} has a dependent object`);
    beforeChange(caller);
    await groups(ctx).delete(g!.id);
  });
}

/** A permission as a request gives it (one IpPermission), before it is split into rules. */
export interface Permission {
  protocol?: string;
  fromPort?: number;
  toPort?: number;
  cidrs: Array<{ cidr: string; description?: string }>;
  groups: Array<{ groupId?: string; groupName?: string; userId?: string; description?: string }>;
}

const PROTOCOLS: Record<string, string> = { '-1': '-1', all: '-1', tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp' };
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** The rules a permission stands for, validated as EC2 validates them. */
async function rulesOf(ctx: Context, caller: Caller, egress: boolean, p: Permission): Promise<SecurityGroupRuleRecord[]> {
  const protocol = PROTOCOLS[(p.protocol ?? '').toLowerCase()];
  if (!protocol) throw new Invalid('InvalidParameterValue', `Invalid value '${p.protocol}' for IP protocol. Unknown protocol.`);
  let [from, to] = [p.fromPort ?? -1, p.toPort ?? -1];
  if (protocol === '-1') [from, to] = [-1, -1];
  else if (protocol !== 'icmp') {
    if (p.fromPort === undefined || p.toPort === undefined) throw new Invalid('InvalidParameterValue', 'Invalid value: FromPort and ToPort are required for tcp and udp');
    if (from < 0 || to > 65535 || from > to) throw new Invalid('InvalidParameterValue', `Invalid value: port range ${from}-${to}`);
  }
  if (!p.cidrs.length && !p.groups.length) throw new Invalid('InvalidParameterValue', 'A permission needs a CIDR range or a security group');
  const out: SecurityGroupRuleRecord[] = [];
  for (const c of p.cidrs) {
    const m = CIDR.exec(c.cidr);
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
      throw new Invalid('InvalidParameterValue', `CIDR block ${c.cidr} is malformed`);
    }
    out.push({ id: ruleId(), egress, protocol, fromPort: from, toPort: to, cidr: c.cidr, description: c.description });
  }
  for (const g of p.groups) {
    const [ref] = await describeSecurityGroups(ctx, caller, g.groupId ? [g.groupId] : [], g.groupName && !g.groupId ? [g.groupName] : []);
    if (!ref || (!g.groupId && !g.groupName)) throw new Invalid('InvalidGroup.NotFound', 'The referenced security group does not exist');
    out.push({ id: ruleId(), egress, protocol, fromPort: from, toPort: to, groupId: ref.id, groupOwner: caller.account, description: g.description });
  }
  return out;
}

const sameRule = (a: SecurityGroupRuleRecord, b: SecurityGroupRuleRecord) => a.egress === b.egress && a.protocol === b.protocol
  && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidr === b.cidr && a.groupId === b.groupId;

/** AuthorizeSecurityGroupIngress/Egress: adds the rules (InvalidPermission.Duplicate when one exists), then enforces them. */
export async function authorize(ctx: Context, caller: Caller, ref: GroupRef, egress: boolean, perms: Permission[]): Promise<SecurityGroupRuleRecord[]> {
  const g = await groupByRef(ctx, caller, ref);
  const added = (await Promise.all(perms.map((p) => rulesOf(ctx, caller, egress, p)))).flat();
  if (!added.length) throw new Invalid('MissingParameter', 'The request must contain the parameter ipPermissions');
  const dup = added.find((r) => g!.rules.some((x) => sameRule(x, r)));
  if (dup) throw new Invalid('InvalidPermission.Duplicate', `the specified rule "peer: ${dup.cidr ?? dup.groupId}, ${dup.protocol.toUpperCase()}, ALLOW" already exists`);
  beforeChange(caller);
  await groups(ctx).update(g!.id, (r) => ({ ...r, rules: [...r.rules, ...added] }));
  await enforce(ctx, caller);
  return added;
}

/** RevokeSecurityGroupIngress/Egress, by permission or by rule id (InvalidPermission.NotFound when one is not there). */
export async function revoke(
  ctx: Context, caller: Caller, ref: GroupRef, egress: boolean, perms: Permission[], ruleIds: string[] = [],
): Promise<void> {
  const g = await groupByRef(ctx, caller, ref);
  const wanted = (await Promise.all(perms.map((p) => rulesOf(ctx, caller, egress, p)))).flat();
  const byId = ruleIds.map((id) => g!.rules.find((r) => r.id === id && r.egress === egress));
  if (byId.some((r) => !r)) throw new Invalid('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID does not exist`);
  const gone = [...byId as SecurityGroupRuleRecord[], ...wanted.map((w) => g!.rules.find((r) => sameRule(r, w)))];
  if (gone.some((r) => !r) || !gone.length) throw new Invalid('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
  beforeChange(caller);
  const ids = new Set(gone.map((r) => r!.id));
  await groups(ctx).update(g!.id, (r) => ({ ...r, rules: r.rules.filter((x) => !ids.has(x.id)) }));
  await enforce(ctx, caller);
}

/** DescribeSecurityGroupRules: every rule of the caller's groups in its region. */
export async function securityGroupRules(ctx: Context, caller: Caller): Promise<Array<SecurityGroupRuleRecord & { group: SecurityGroupRecord }>> {
  return (await securityGroups(ctx, caller)).flatMap((group) => group.rules.map((r) => ({ ...r, group })));
}

const toFirewall = (r: SecurityGroupRuleRecord, peers: string[]): FirewallRule => ({
  protocol: r.protocol === '-1' ? 'all' : r.protocol as FirewallRule['protocol'],
  fromPort: r.fromPort < 0 ? undefined : r.fromPort, toPort: r.toPort < 0 ? undefined : r.toPort, peers,
});

/** What an instance's groups allow, with each referenced group resolved to its members' addresses. */
export async function firewallOf(ctx: Context, attrs: InstanceAttributesRecord): Promise<Firewall> {
  const owner = { account: attrs.account, region: attrs.region };
  const all = await securityGroups(ctx, owner);
  const mine = all.filter((g) => attrs.securityGroupIds.includes(g.id));
  const fw: Firewall = { ingress: [], egress: [] };
  if (ctx.metadataEndpoint && attrs.metadataOptions.httpEndpoint === 'enabled') fw.metadata = ctx.metadataEndpoint;
  for (const r of mine.flatMap((g) => g.rules)) {
    const peers = r.cidr ? [r.cidr] : (await members(ctx, owner, r.groupId!)).map((m) => m.privateIp);
    (r.egress ? fw.egress : fw.ingress).push(toFirewall(r, peers));
  }
  return fw;
}

/**
 * Re-applies the firewall of every running instance of the owner's region
 * (rules or membership changed). One pass at a time per owner and region, each
 * reading the store when it runs: a slower pass never applies older rules
 * over a newer one's.
 */
export async function enforce(ctx: Context, owner: Caller): Promise<void> {
  const firewall = ctx.runtime.firewall?.bind(ctx.runtime);
  if (!firewall) return;
  await ctx.locks.run(`firewalls ${owner.account} ${owner.region}`, async () => {
    const running = (await ctx.store.instances.list({ account: owner.account, region: owner.region })).filter((i) => i.state === 'running');
    for (const inst of running) {
      const attrs = await attrsOf(ctx).get(inst.id);
      if (attrs) await firewall(inst.id, await firewallOf(ctx, attrs)).catch((err: Error) => ctx.log(`kiln: firewall of ${inst.id}: ${err.message}`));
    }
  });
}
