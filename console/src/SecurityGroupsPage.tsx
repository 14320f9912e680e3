/**
 * Network & Security > Security groups: the table, Create security group, Delete security group, and under the
 * selected group its Details, Inbound rules, Outbound rules and Tags (Edit inbound / outbound rules, Manage tags).
 */
import { useCallback, useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import Table from '@cloudscape-design/components/table';
import Tabs from '@cloudscape-design/components/tabs';
import { DeleteSecurityGroupCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { SecurityGroup, SecurityGroupRule } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import type { PageProps } from './App';
import { ManageTagsModal } from './AmiModals';
import { useFlash } from './flash';
import { tagValue } from './format';
import { ConfirmModal, ResourceTable } from './ResourceTable';
import { CreateSecurityGroupModal, directed, EditRulesModal, rulesOf } from './SecurityGroupModals';
import { describeRule, ruleCount } from './sg-logic';

export function SecurityGroupsPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<'create' | 'delete'>();
  const load = useCallback(async () => (await ec2(session).send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [], [session]);
  return (
    <ResourceTable<SecurityGroup>
      title="Security groups" noun="security group" trackBy="GroupId" load={load}
      below={(g, reload) => <SecurityGroupDetail key={g.GroupId} session={session} group={g} reload={reload} />}
      empty={<b>No security groups</b>}
      columns={[
        { id: 'name', header: 'Name', cell: (g) => tagValue(g.Tags, 'Name') ?? '-' },
        { id: 'id', header: 'Security group ID', cell: (g) => g.GroupId, sortingField: 'GroupId' },
        { id: 'group-name', header: 'Security group name', cell: (g) => g.GroupName, sortingField: 'GroupName' },
        { id: 'vpc', header: 'VPC ID', cell: (g) => g.VpcId, sortingField: 'VpcId' },
        { id: 'description', header: 'Description', cell: (g) => g.Description, sortingField: 'Description' },
        { id: 'owner', header: 'Owner', cell: (g) => g.OwnerId },
        { id: 'in', header: 'Inbound rules count', cell: (g) => `${ruleCount(g.IpPermissions)} Permission entries` },
        { id: 'out', header: 'Outbound rules count', cell: (g) => `${ruleCount(g.IpPermissionsEgress)} Permission entries` },
      ]}
      actions={(selected, reload) => (
        <>
          <Button disabled={!selected} onClick={() => setModal('delete')}>Delete security group</Button>
          <Button variant="primary" onClick={() => setModal('create')}>Create security group</Button>
          {modal === 'create' && <CreateSecurityGroupModal session={session} onClose={(changed) => { setModal(undefined); if (changed) void reload(); }} />}
          {modal === 'delete' && selected && (
            <ConfirmModal title="Delete security group" action="Delete" onClose={() => setModal(undefined)}
              onConfirm={async () => {
                await ec2(session).send(new DeleteSecurityGroupCommand({ GroupId: selected.GroupId }));
                flash.success(`Deleted security group ${selected.GroupId} (${selected.GroupName}).`);
                await reload();
              }}>
              Delete <b>{selected.GroupName}</b> ({selected.GroupId})? A group that instances use, or that another group&apos;s rules name, cannot be deleted.
            </ConfirmModal>
          )}
        </>
      )}
    />
  );
}

type Editing = 'inbound' | 'outbound' | 'tags';

function SecurityGroupDetail({ session, group: g, reload }: { session: Session; group: SecurityGroup; reload: () => Promise<void> }) {
  const flash = useFlash();
  const [rules, setRules] = useState<SecurityGroupRule[]>();
  const [editing, setEditing] = useState<Editing>();
  // The table's reload gives a new row object: the rules are read again with it.
  useEffect(() => {
    let live = true;
    rulesOf(session, g.GroupId!).then((r) => live && setRules(r), (err: unknown) => { if (live) { setRules([]); flash.error(err); } });
    return () => { live = false; };
  }, [g]);
  const close = (changed: boolean) => { setEditing(undefined); if (changed) void reload(); };
  const rulesTab = (egress: boolean) => {
    const direction = egress ? 'outbound' : 'inbound';
    const mine = directed(rules ?? [], egress);
    return {
      id: direction, label: `${egress ? 'Outbound' : 'Inbound'} rules`, content: (
        <Table variant="embedded" items={mine} loading={!rules} loadingText="Loading rules"
          header={<Header variant="h3" counter={`(${mine.length})`}
            actions={<Button disabled={!rules} onClick={() => setEditing(direction)}>Edit {direction} rules</Button>}>{egress ? 'Outbound' : 'Inbound'} rules</Header>}
          empty={<Box textAlign="center">No {direction} rules.</Box>}
          columnDefinitions={[
            { id: 'id', header: 'Security group rule ID', cell: (r) => r.SecurityGroupRuleId },
            { id: 'type', header: 'Type', cell: (r) => describeRule(r).type },
            { id: 'protocol', header: 'Protocol', cell: (r) => describeRule(r).protocol },
            { id: 'ports', header: 'Port range', cell: (r) => describeRule(r).ports },
            { id: 'peer', header: egress ? 'Destination' : 'Source', cell: (r) => describeRule(r).peer },
            { id: 'description', header: 'Description', cell: (r) => r.Description || '-' },
          ]} />
      ),
    };
  };
  const details: Array<[string, string | undefined]> = [
    ['Security group name', g.GroupName], ['Security group ID', g.GroupId], ['Description', g.Description], ['VPC ID', g.VpcId],
    ['Owner', g.OwnerId], ['Inbound rules count', `${ruleCount(g.IpPermissions)} Permission entries`],
    ['Outbound rules count', `${ruleCount(g.IpPermissionsEgress)} Permission entries`],
  ];
  return (
    <Container header={<Header variant="h2">{g.GroupId} - {g.GroupName}</Header>}>
      <Tabs tabs={[
        { id: 'details', label: 'Details', content: <KeyValuePairs columns={3} items={details.map(([label, value]) => ({ label, value: value || '-' }))} /> },
        rulesTab(false),
        rulesTab(true),
        {
          id: 'tags', label: 'Tags', content: (
            <Table variant="embedded" items={g.Tags ?? []}
              header={<Header variant="h3" actions={<Button onClick={() => setEditing('tags')}>Manage tags</Button>}>Tags</Header>}
              empty={<Box textAlign="center">No tags.</Box>}
              columnDefinitions={[{ id: 'k', header: 'Key', cell: (t) => t.Key }, { id: 'v', header: 'Value', cell: (t) => t.Value }]} />
          ),
        },
      ]} />
      {(editing === 'inbound' || editing === 'outbound') && rules && (
        <EditRulesModal session={session} group={g} egress={editing === 'outbound'} rules={directed(rules, editing === 'outbound')} onClose={close} />
      )}
      {editing === 'tags' && <ManageTagsModal session={session} resourceId={g.GroupId!} tags={g.Tags} onClose={close} />}
    </Container>
  );
}
