/** The security group dialogs: Create security group, Edit inbound / outbound rules, and the rules editor they share. */
import { useEffect, useState } from 'react';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import {
  AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand, DescribeVpcsCommand, RevokeSecurityGroupEgressCommand, RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { SecurityGroup, SecurityGroupRule } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import type { Tags } from './logic';
import { tagSpecs } from './logic';
import { TagsEditor } from './AmiModals';
import { useFlash } from './flash';
import { ActionModal } from './ResourceTable';
import type { RuleDraft } from './sg-logic';
import { draftErrors, draftsValid, newDraft, PICKABLE, PRESETS, ruleSteps, toDraft, withType } from './sg-logic';

/** A group's rules (DescribeSecurityGroupRules). */
export async function rulesOf(session: Session, groupId: string): Promise<SecurityGroupRule[]> {
  return (await ec2(session).send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }))).SecurityGroupRules ?? [];
}

/** The inbound (or outbound) ones of `rules`. */
export const directed = (rules: SecurityGroupRule[], egress: boolean) => rules.filter((r) => !!r.IsEgress === egress);

/** Takes a group's rules of one direction to the edited rows (ruleSteps' calls, in order); how many calls it took. */
async function saveRules(session: Session, GroupId: string, egress: boolean, before: SecurityGroupRule[], drafts: RuleDraft[]): Promise<number> {
  const client = ec2(session);
  const steps = ruleSteps(before, drafts);
  for (const step of steps) {
    if ('revoke' in step) {
      const input = { GroupId, SecurityGroupRuleIds: step.revoke };
      await (egress ? client.send(new RevokeSecurityGroupEgressCommand(input)) : client.send(new RevokeSecurityGroupIngressCommand(input)));
    } else {
      const input = { GroupId, IpPermissions: step.authorize };
      await (egress ? client.send(new AuthorizeSecurityGroupEgressCommand(input)) : client.send(new AuthorizeSecurityGroupIngressCommand(input)));
    }
  }
  return steps.length;
}

/** The region's security groups, for the rules' Source / Destination. */
function useGroups(session: Session): SecurityGroup[] {
  const [groups, setGroups] = useState<SecurityGroup[]>([]);
  useEffect(() => {
    ec2(session).send(new DescribeSecurityGroupsCommand({})).then((r) => setGroups(r.SecurityGroups ?? []), () => setGroups([]));
  }, [session]);
  return groups;
}

const option = (value: string, label: string) => ({ value, label });
const PEER_KINDS = [option('cidr', 'CIDR block'), option('group', 'Security group')];

/** The rows of one direction's rules: Type, Protocol, Port range, Source (Destination) as a CIDR block or a group, Description. */
export function RulesEditor({ egress, drafts, onChange, groups }: { egress: boolean; drafts: RuleDraft[]; onChange: (d: RuleDraft[]) => void; groups: SecurityGroup[] }) {
  const set = (i: number, d: RuleDraft) => onChange(drafts.map((x, j) => (j === i ? d : x)));
  const peer = egress ? 'Destination' : 'Source';
  const groupOptions = groups.map((g) => ({ value: g.GroupId!, label: g.GroupId!, description: g.GroupName }));
  return (
    <AttributeEditor
      items={drafts}
      addButtonText="Add rule"
      removeButtonText="Delete"
      empty={`This security group has no ${egress ? 'outbound' : 'inbound'} rules.`}
      onAddButtonClick={() => onChange([...drafts, newDraft(egress)])}
      onRemoveButtonClick={(e) => onChange(drafts.filter((_, i) => i !== e.detail.itemIndex))}
      gridLayout={[{ breakpoint: 'm', rows: [[3, 1, 2, 2, 3, 3]], removeButton: { width: 'auto' } }, { rows: [[2, 1, 2], [2, 2, 2]] }]}
      definition={[
        {
          label: 'Type', control: (d, i) => (
            <Select ariaLabel="Type" selectedOption={option(d.type, PRESETS[d.type].label)}
              options={PICKABLE.map((t) => option(t, PRESETS[t].label))} onChange={(e) => set(i, withType(d, e.detail.selectedOption.value as RuleDraft['type']))} />
          ),
        },
        { label: 'Protocol', control: (d) => (d.protocol === '-1' ? 'All' : d.protocol.toUpperCase()) },
        {
          label: 'Port range', errorText: (d) => draftErrors(d).ports,
          control: (d, i) => <Input ariaLabel="Port range" value={d.ports} placeholder={d.type.startsWith('custom-') ? '8000-8080' : 'All'}
            disabled={!d.type.startsWith('custom-')} onChange={(e) => set(i, { ...d, ports: e.detail.value })} />,
        },
        {
          label: `${peer} type`, control: (d, i) => (
            <Select ariaLabel={`${peer} type`} selectedOption={PEER_KINDS.find((k) => k.value === d.peerKind)!} options={PEER_KINDS}
              onChange={(e) => set(i, { ...d, peerKind: e.detail.selectedOption.value as RuleDraft['peerKind'] })} />
          ),
        },
        {
          label: peer, errorText: (d) => draftErrors(d).peer,
          control: (d, i) => (d.peerKind === 'cidr'
            ? <Input ariaLabel={`${peer} CIDR block`} value={d.cidr} placeholder="0.0.0.0/0" onChange={(e) => set(i, { ...d, cidr: e.detail.value })} />
            : <Select ariaLabel={`${peer} security group`} placeholder="Choose a security group" filteringType="auto"
              selectedOption={groupOptions.find((o) => o.value === d.groupId) ?? (d.groupId ? option(d.groupId, d.groupId) : null)}
              options={groupOptions} onChange={(e) => set(i, { ...d, groupId: e.detail.selectedOption.value ?? '' })} />),
        },
        { label: 'Description', control: (d, i) => <Input ariaLabel="Rule description" value={d.description} onChange={(e) => set(i, { ...d, description: e.detail.value })} /> },
      ]}
    />
  );
}

export function CreateSecurityGroupModal({ session, onClose }: { session: Session; onClose: (changed: boolean) => void }) {
  const flash = useFlash();
  const groups = useGroups(session);
  const [vpcs, setVpcs] = useState<string[]>([]);
  const [vpc, setVpc] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [inbound, setInbound] = useState<RuleDraft[]>([]);
  const [outbound, setOutbound] = useState<RuleDraft[]>([newDraft(true)]);
  const [tags, setTags] = useState<Tags>([]);
  useEffect(() => {
    ec2(session).send(new DescribeVpcsCommand({})).then((r) => {
      const ids = (r.Vpcs ?? []).map((v) => v.VpcId!);
      setVpcs(ids);
      setVpc(r.Vpcs?.find((v) => v.IsDefault)?.VpcId ?? ids[0] ?? '');
    }, () => setVpcs([]));
  }, [session]);
  const run = async () => {
    const TagSpecifications = tagSpecs('security-group', tags);
    const { GroupId } = await ec2(session).send(new CreateSecurityGroupCommand({
      GroupName: name, Description: description, VpcId: vpc || undefined, TagSpecifications: TagSpecifications.length ? TagSpecifications : undefined,
    }));
    try {
      // A new group has EC2's own outbound rule (all traffic out): the outbound rows are a change from that.
      const made = directed(await rulesOf(session, GroupId!), true);
      await saveRules(session, GroupId!, false, [], inbound);
      await saveRules(session, GroupId!, true, made, outbound);
    } catch (err) {
      // The group exists: the dialog closes (another Create would be InvalidGroup.Duplicate), saying what failed.
      flash.error(err, `Created security group ${GroupId}, but not all of its rules`);
      return;
    }
    return `Created security group ${GroupId} (${name}).`;
  };
  return (
    <ActionModal title="Create security group" action="Create security group" run={run} onClose={onClose} size="max"
      disabled={!name || !description || !draftsValid([...inbound, ...outbound])}>
      <SpaceBetween size="l">
        <FormField label="Security group name" constraintText="Up to 255 characters; not starting with sg-.">
          <Input value={name} ariaLabel="Security group name" onChange={(e) => setName(e.detail.value)} />
        </FormField>
        <FormField label="Description"><Input value={description} ariaLabel="Security group description" onChange={(e) => setDescription(e.detail.value)} /></FormField>
        <FormField label="VPC">
          <Select ariaLabel="VPC" selectedOption={vpc ? option(vpc, vpc) : null} options={vpcs.map((v) => option(v, v))}
            onChange={(e) => setVpc(e.detail.selectedOption.value ?? '')} />
        </FormField>
        <FormField label="Inbound rules" stretch><RulesEditor egress={false} drafts={inbound} onChange={setInbound} groups={groups} /></FormField>
        <FormField label="Outbound rules" stretch><RulesEditor egress drafts={outbound} onChange={setOutbound} groups={groups} /></FormField>
        <FormField label="Tags"><TagsEditor tags={tags} onChange={setTags} /></FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

/** Edit inbound rules / Edit outbound rules: the group's rules as rows; saving revokes and authorizes the difference. */
export function EditRulesModal({ session, group, egress, rules, onClose }: {
  session: Session; group: SecurityGroup; egress: boolean; rules: SecurityGroupRule[]; onClose: (changed: boolean) => void;
}) {
  const groups = useGroups(session);
  const [drafts, setDrafts] = useState(() => rules.map(toDraft));
  const direction = egress ? 'outbound' : 'inbound';
  const run = async () => {
    const calls = await saveRules(session, group.GroupId!, egress, rules, drafts);
    return calls ? `Saved the ${direction} rules of ${group.GroupId}.` : `The ${direction} rules of ${group.GroupId} are unchanged.`;
  };
  return (
    <ActionModal title={`Edit ${direction} rules`} action="Save rules" run={run} onClose={onClose} size="max" disabled={!draftsValid(drafts)}>
      <RulesEditor egress={egress} drafts={drafts} onChange={setDrafts} groups={groups} />
    </ActionModal>
  );
}
