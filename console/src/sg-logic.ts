/**
 * The security group pages' logic, free of React so that Node's test runner checks it (test/console-sg-logic.test.ts):
 * the rule types of the rules editor, how a rule reads in the tables, and the Authorize/Revoke calls that take a
 * group from its rules to the edited ones.
 */
import type { IpPermission, SecurityGroupRule } from '@aws-sdk/client-ec2';

/** The rules editor's Type choices (AWS's presets); 'other' keeps a rule no preset describes (say, one ICMP type) as it is. */
export type RuleType = 'ssh' | 'http' | 'https' | 'all' | 'custom-tcp' | 'custom-udp' | 'all-icmp' | 'other';

interface Preset { label: string; protocol: string; ports?: string }
export const PRESETS: Record<RuleType, Preset> = {
  ssh: { label: 'SSH', protocol: 'tcp', ports: '22' },
  http: { label: 'HTTP', protocol: 'tcp', ports: '80' },
  https: { label: 'HTTPS', protocol: 'tcp', ports: '443' },
  all: { label: 'All traffic', protocol: '-1', ports: '' },
  'custom-tcp': { label: 'Custom TCP', protocol: 'tcp' },
  'custom-udp': { label: 'Custom UDP', protocol: 'udp' },
  'all-icmp': { label: 'All ICMP - IPv4', protocol: 'icmp', ports: '' },
  other: { label: 'Custom', protocol: '' },
};
/** The types a user picks from ('other' only comes from an existing rule). */
export const PICKABLE = (Object.keys(PRESETS) as RuleType[]).filter((t) => t !== 'other');

/** One row of the rules editor. `id` is the rule it was loaded from (undefined for a new row). */
export interface RuleDraft {
  id?: string;
  type: RuleType;
  /** The protocol, for 'other' (the presets have theirs). */
  protocol: string;
  /** "22", "8000-8080", or '' for all ports. */
  ports: string;
  peerKind: 'cidr' | 'group';
  cidr: string;
  groupId: string;
  description: string;
}

export const newDraft = (egress: boolean, type: RuleType = egress ? 'all' : 'ssh'): RuleDraft => ({
  type, protocol: PRESETS[type].protocol, ports: PRESETS[type].ports ?? '', peerKind: 'cidr', cidr: egress ? '0.0.0.0/0' : '', groupId: '', description: '',
});

/** A draft switched to another type: the preset's protocol and ports (custom types keep what was typed). */
export function withType(d: RuleDraft, type: RuleType): RuleDraft {
  const p = PRESETS[type];
  return { ...d, type, protocol: p.protocol, ports: p.ports ?? (d.type.startsWith('custom-') ? d.ports : '') };
}

const portText = (from?: number, to?: number) => (from === undefined || from < 0 ? '' : from === to ? String(from) : `${from}-${to}`);

/** The editor row an existing rule is. */
export function toDraft(r: SecurityGroupRule): RuleDraft {
  const protocol = r.IpProtocol ?? '-1';
  const ports = protocol === '-1' ? '' : portText(r.FromPort, r.ToPort);
  const preset = (Object.keys(PRESETS) as RuleType[]).find((t) => t !== 'other' && PRESETS[t].protocol === protocol && (PRESETS[t].ports ?? ports) === ports);
  return {
    id: r.SecurityGroupRuleId, type: preset ?? 'other', protocol, ports,
    peerKind: r.ReferencedGroupInfo?.GroupId ? 'group' : 'cidr', cidr: r.CidrIpv4 ?? '', groupId: r.ReferencedGroupInfo?.GroupId ?? '',
    description: r.Description ?? '',
  };
}

/** How a rule reads in the tables: Type, Protocol, Port range, Source (or Destination). */
export function describeRule(r: SecurityGroupRule): { type: string; protocol: string; ports: string; peer: string } {
  const d = toDraft(r);
  const protocol = d.protocol === '-1' ? 'All' : d.protocol.toUpperCase();
  return { type: PRESETS[d.type].label, protocol, ports: d.ports || 'All', peer: (d.peerKind === 'group' ? d.groupId : d.cidr) || '-' };
}

/** The number of rules (permission entries) in DescribeSecurityGroups' IpPermissions or IpPermissionsEgress. */
export const ruleCount = (perms: IpPermission[] | undefined) => (perms ?? []).reduce((n, p) =>
  n + (p.IpRanges?.length ?? 0) + (p.Ipv6Ranges?.length ?? 0) + (p.UserIdGroupPairs?.length ?? 0) + (p.PrefixListIds?.length ?? 0), 0);

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** What is wrong with a row, per field (empty when it can be sent). */
export function draftErrors(d: RuleDraft): { ports?: string; peer?: string } {
  const out: { ports?: string; peer?: string } = {};
  if (d.type === 'custom-tcp' || d.type === 'custom-udp') {
    const m = /^(\d+)(?:-(\d+))?$/.exec(d.ports.trim());
    const [from, to] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [NaN, NaN];
    if (!m || from > to || to > 65535) out.ports = 'A port (0-65535) or a range such as 8000-8080.';
  }
  if (d.peerKind === 'group' && !d.groupId) out.peer = 'Choose a security group.';
  if (d.peerKind === 'cidr') {
    const m = CIDR.exec(d.cidr.trim());
    if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) out.peer = 'A CIDR block such as 203.0.113.0/24.';
  }
  return out;
}

export const draftsValid = (drafts: RuleDraft[]) => drafts.every((d) => !Object.keys(draftErrors(d)).length);

/** The IpPermission that authorizes a row. */
export function toPermission(d: RuleDraft): IpPermission {
  const protocol = d.type === 'other' ? d.protocol : PRESETS[d.type].protocol;
  const [from, to] = d.ports.trim() ? d.ports.trim().split('-').map(Number) : [-1, -1];
  const Description = d.description.trim() || undefined;
  return {
    IpProtocol: protocol,
    ...(protocol === '-1' ? {} : { FromPort: from, ToPort: to ?? from }),
    ...(d.peerKind === 'group'
      ? { UserIdGroupPairs: [{ GroupId: d.groupId, Description }] }
      : { IpRanges: [{ CidrIp: d.cidr.trim(), Description }] }),
  };
}

/** What makes two rules the same rule to EC2 (a second one is InvalidPermission.Duplicate); the description is not part of it. */
const identity = (p: IpPermission) => JSON.stringify([p.IpProtocol, p.FromPort ?? -1, p.ToPort ?? -1, p.IpRanges?.[0]?.CidrIp, p.UserIdGroupPairs?.[0]?.GroupId]);
const sameRule = (p: IpPermission) => `${identity(p)}${p.IpRanges?.[0]?.Description ?? p.UserIdGroupPairs?.[0]?.Description ?? ''}`;

export type RuleStep = { authorize: IpPermission[] } | { revoke: string[] };

/**
 * Edit inbound (or outbound) rules: the calls, in order, that take the group from `before` (its rules of that
 * direction, as DescribeSecurityGroupRules gives them) to the edited rows. Rows equal to a rule (description
 * included) keep it (a second row of a rule's identity is dropped: EC2 holds one); the rest of the old rules are revoked by id and the rest of the rows authorized. New rules
 * are authorized before old ones are revoked, so traffic both allow is never cut, except those that replace a
 * revoked rule of the same identity (a changed description): those come after the revoke, or EC2 would refuse
 * them as duplicates. No steps: nothing changed.
 */
export function ruleSteps(before: SecurityGroupRule[], drafts: RuleDraft[]): RuleStep[] {
  const old = before.map((r) => ({ id: r.SecurityGroupRuleId!, key: sameRule(toPermission(toDraft(r))), identity: identity(toPermission(toDraft(r))) }));
  const added: IpPermission[] = [];
  const kept = new Set<string>();
  for (const d of drafts) {
    const p = toPermission(d);
    const i = old.findIndex((o) => o.key === sameRule(p));
    if (i >= 0) kept.add(old.splice(i, 1)[0]!.identity);
    else if (!kept.has(identity(p)) && !added.some((a) => identity(a) === identity(p))) added.push(p);
  }
  const replaces = (p: IpPermission) => old.some((o) => o.identity === identity(p));
  const first = added.filter((p) => !replaces(p));
  const after = added.filter(replaces);
  const steps: RuleStep[] = [];
  if (first.length) steps.push({ authorize: first });
  if (old.length) steps.push({ revoke: old.map((o) => o.id) });
  if (after.length) steps.push({ authorize: after });
  return steps;
}
