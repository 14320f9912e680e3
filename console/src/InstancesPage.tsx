/** Instances: the table (live while anything is pending or stopping), Instance state, Actions (Create image, Get system log). */
import { useCallback, useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import Pagination from '@cloudscape-design/components/pagination';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import TextFilter from '@cloudscape-design/components/text-filter';
import { useCollection } from '@cloudscape-design/collection-hooks';
import {
  DescribeInstancesCommand, RebootInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { follow, navigate } from './router';
import { BUSY_STATES, State, tagValue, when } from './format';
import { SystemLogModal, TerminateModal } from './InstanceModals';

export function InstancesPage({ session }: PageProps) {
  const flash = useFlash();
  const [instances, setInstances] = useState<Instance[]>([]);
  const [loading, setLoading] = useState(true);
  const [modal, setModal] = useState<'terminate' | 'log'>();
  const load = useCallback(async () => {
    try {
      const out = await ec2(session).send(new DescribeInstancesCommand({}));
      setInstances((out.Reservations ?? []).flatMap((r) => r.Instances ?? []));
    } catch (err) {
      flash.error(err);
    } finally {
      setLoading(false);
    }
  }, [session]);
  useEffect(() => void load(), [load]);
  const busy = instances.some((i) => BUSY_STATES.has(i.State?.Name ?? ''));
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(() => void load(), 2000);
    return () => clearInterval(t);
  }, [busy, load]);
  const { items, collectionProps, filterProps, paginationProps } = useCollection(instances, {
    filtering: {
      empty: <Box textAlign="center"><b>No instances</b><Box variant="p">Launch one: <Link href="/launch" onFollow={follow}>Launch instance</Link>.</Box></Box>,
      noMatch: <Box textAlign="center">No instances match.</Box>,
    },
    sorting: { defaultState: { sortingColumn: { sortingField: 'LaunchTime' }, isDescending: true } },
    pagination: { pageSize: 20 },
    selection: { trackBy: 'InstanceId' },
  });
  const selected = collectionProps.selectedItems?.[0];
  const ids = selected ? [selected.InstanceId!] : [];
  const stateAction = async (id: string) => {
    if (id === 'terminate') return setModal('terminate');
    const client = ec2(session);
    try {
      if (id === 'stop') await client.send(new StopInstancesCommand({ InstanceIds: ids }));
      if (id === 'start') await client.send(new StartInstancesCommand({ InstanceIds: ids }));
      if (id === 'reboot') await client.send(new RebootInstancesCommand({ InstanceIds: ids }));
      flash.success(`${id[0]!.toUpperCase()}${id.slice(1)} of ${ids.join(', ')} requested.`);
      await load();
    } catch (err) {
      flash.error(err);
    }
  };
  const state = selected?.State?.Name;
  return (
    <>
      <Table
        {...collectionProps}
        selectionType="single"
        loading={loading}
        loadingText="Loading instances"
        items={items}
        trackBy="InstanceId"
        ariaLabels={{ itemSelectionLabel: (_, i) => i.InstanceId ?? '', selectionGroupLabel: 'Instances' }}
        header={
          <Header counter={`(${instances.length})`} actions={
            <SpaceBetween direction="horizontal" size="xs">
              <Button iconName="refresh" ariaLabel="Refresh" onClick={() => void load()} />
              <ButtonDropdown disabled={!selected} onItemClick={(e) => void stateAction(e.detail.id)} items={[
                { id: 'stop', text: 'Stop instance', disabled: state !== 'running' },
                { id: 'start', text: 'Start instance', disabled: state !== 'stopped' },
                { id: 'reboot', text: 'Reboot instance', disabled: state !== 'running' },
                { id: 'terminate', text: 'Terminate (delete) instance', disabled: state === 'terminated' || state === 'shutting-down' },
              ]}>Instance state</ButtonDropdown>
              <ButtonDropdown disabled={!selected} expandableGroups
                onItemClick={(e) => (e.detail.id === 'create-image' ? navigate(`/create-image?instance=${ids[0]}`) : setModal('log'))}
                items={[
                  { id: 'image', text: 'Image and templates', items: [{ id: 'create-image', text: 'Create image', disabled: state !== 'running' && state !== 'stopped' }] },
                  { id: 'monitor', text: 'Monitor and troubleshoot', items: [{ id: 'system-log', text: 'Get system log' }] },
                ]}>Actions</ButtonDropdown>
              <Button variant="primary" onClick={() => navigate('/launch')}>Launch instances</Button>
            </SpaceBetween>
          }>Instances</Header>
        }
        filter={<TextFilter {...filterProps} filteringPlaceholder="Find instance by attribute" />}
        pagination={<Pagination {...paginationProps} />}
        columnDefinitions={[
          { id: 'name', header: 'Name', cell: (i) => tagValue(i.Tags, 'Name') ?? '-' },
          { id: 'id', header: 'Instance ID', cell: (i) => i.InstanceId, sortingField: 'InstanceId' },
          { id: 'state', header: 'Instance state', cell: (i) => <State state={i.State?.Name} /> },
          { id: 'type', header: 'Instance type', cell: (i) => i.InstanceType, sortingField: 'InstanceType' },
          { id: 'ami', header: 'AMI ID', cell: (i) => i.ImageId, sortingField: 'ImageId' },
          { id: 'ip', header: 'Private IPv4 address', cell: (i) => i.PrivateIpAddress ?? '-' },
          { id: 'key', header: 'Key name', cell: (i) => i.KeyName ?? '-' },
          { id: 'launch', header: 'Launch time', cell: (i) => when(i.LaunchTime), sortingField: 'LaunchTime' },
        ]}
      />
      {modal === 'terminate' && selected && <TerminateModal ids={ids} onClose={() => setModal(undefined)}
        onConfirm={async () => {
          await ec2(session).send(new TerminateInstancesCommand({ InstanceIds: ids }));
          flash.success(`Terminating ${ids.join(', ')}.`);
          setModal(undefined);
          await load();
        }} />}
      {modal === 'log' && selected && <SystemLogModal session={session} id={ids[0]!} onClose={() => setModal(undefined)} />}
    </>
  );
}
