/**
 * Auto Scaling > Auto Scaling Groups: the table (live while a group is scaling or deleting), the selected group's
 * tabs (GroupDetail), Edit, Delete and Create Auto Scaling group (/auto-scaling-groups/create: CreateGroupPage).
 */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { autoscaling } from './scaling-api';
import type { PageProps } from './App';
import { CreateGroupPage } from './CreateGroupPage';
import { GroupDetail } from './GroupDetail';
import { DeleteGroupModal, EditGroupModal } from './GroupModals';
import { navigate, useLocation } from './router';
import { ResourceTable } from './ResourceTable';
import { groupBusy, templateCell } from './scaling-logic';

export function AutoScalingGroupsPage({ session }: PageProps) {
  const { path } = useLocation();
  if (path.startsWith('/auto-scaling-groups/create')) return <CreateGroupPage session={session} />;
  return <GroupsTable session={session} />;
}

function GroupsTable({ session }: PageProps) {
  const [modal, setModal] = useState<'edit' | 'delete'>();
  const load = useCallback(async () => (await autoscaling(session).send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [], [session]);
  return (
    <ResourceTable<AutoScalingGroup>
      title="Auto Scaling groups" noun="Auto Scaling group" trackBy="AutoScalingGroupName" load={load} busy={groupBusy}
      below={(g) => <GroupDetail session={session} group={g} />}
      empty={<><b>No Auto Scaling groups</b><Box variant="p" color="inherit">A group keeps a number of instances running from a launch template.</Box></>}
      columns={[
        { id: 'name', header: 'Name', cell: (g) => g.AutoScalingGroupName, sortingField: 'AutoScalingGroupName' },
        { id: 'lt', header: 'Launch template/configuration', cell: templateCell },
        { id: 'instances', header: 'Instances', cell: (g) => g.Instances?.length ?? 0 },
        { id: 'status', header: 'Status', cell: (g) => g.Status ?? '-' },
        { id: 'desired', header: 'Desired capacity', cell: (g) => g.DesiredCapacity, sortingField: 'DesiredCapacity' },
        { id: 'min', header: 'Min', cell: (g) => g.MinSize, sortingField: 'MinSize' },
        { id: 'max', header: 'Max', cell: (g) => g.MaxSize, sortingField: 'MaxSize' },
        { id: 'azs', header: 'Availability Zones', cell: (g) => g.AvailabilityZones?.join(', ') ?? '-' },
        { id: 'subnets', header: 'Subnets', cell: (g) => g.VPCZoneIdentifier?.split(',').join(', ') || '-' },
      ]}
      actions={(selected, reload) => {
        const close = (changed: boolean) => { setModal(undefined); if (changed) void reload(); };
        return (
          <>
            <Button disabled={!selected || !!selected.Status} onClick={() => setModal('edit')}>Edit</Button>
            <Button disabled={!selected || !!selected.Status} onClick={() => setModal('delete')}>Delete</Button>
            <Button variant="primary" onClick={() => navigate('/auto-scaling-groups/create')}>Create Auto Scaling group</Button>
            {selected && modal === 'edit' && <EditGroupModal session={session} group={selected} onClose={close} />}
            {selected && modal === 'delete' && <DeleteGroupModal session={session} group={selected} onClose={close} />}
          </>
        );
      }}
    />
  );
}
