/** Instances: the table (live while anything is pending or stopping), Connect, Instance state, Actions (Create image, Get system log). */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Link from '@cloudscape-design/components/link';
import {
  DescribeInstancesCommand, RebootInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Instance } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { follow, navigate } from './router';
import { BUSY_STATES, State, tagValue, when } from './format';
import { SystemLogModal } from './InstanceModals';
import { InstanceDetail } from './InstanceDetail';
import { ConfirmModal, ResourceTable } from './ResourceTable';

export function InstancesPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<'terminate' | 'log'>();
  const load = useCallback(async () => {
    const out = await ec2(session).send(new DescribeInstancesCommand({}));
    return (out.Reservations ?? []).flatMap((r) => r.Instances ?? []);
  }, [session]);
  const stateAction = async (id: string, ids: string[], reload: () => Promise<void>) => {
    if (id === 'terminate') return setModal('terminate');
    try {
      const client = ec2(session);
      if (id === 'stop') await client.send(new StopInstancesCommand({ InstanceIds: ids }));
      if (id === 'start') await client.send(new StartInstancesCommand({ InstanceIds: ids }));
      if (id === 'reboot') await client.send(new RebootInstancesCommand({ InstanceIds: ids }));
      flash.success(`${id[0]!.toUpperCase()}${id.slice(1)} of ${ids.join(', ')} requested.`);
      await reload();
    } catch (err) {
      flash.error(err);
    }
  };
  return (
    <ResourceTable<Instance>
      title="Instances" noun="instance" trackBy="InstanceId" load={load} busy={(i) => BUSY_STATES.has(i.State?.Name ?? '')}
      below={(i) => <InstanceDetail instance={i} />}
      empty={<><b>No instances</b><Box variant="p" color="inherit">Launch one: <Link href="/launch" onFollow={follow}>Launch instance</Link>.</Box></>}
      columns={[
        { id: 'name', header: 'Name', cell: (i) => tagValue(i.Tags, 'Name') ?? '-' },
        { id: 'id', header: 'Instance ID', cell: (i) => i.InstanceId, sortingField: 'InstanceId' },
        { id: 'state', header: 'Instance state', cell: (i) => <State state={i.State?.Name} /> },
        { id: 'type', header: 'Instance type', cell: (i) => i.InstanceType, sortingField: 'InstanceType' },
        { id: 'ami', header: 'AMI ID', cell: (i) => i.ImageId, sortingField: 'ImageId' },
        { id: 'ip', header: 'Private IPv4 address', cell: (i) => i.PrivateIpAddress ?? '-' },
        { id: 'key', header: 'Key name', cell: (i) => i.KeyName ?? '-' },
        { id: 'launch', header: 'Launch time', cell: (i) => when(i.LaunchTime), sortingField: 'LaunchTime' },
      ]}
      actions={(selected, reload) => {
        const ids = selected ? [selected.InstanceId!] : [];
        const state = selected?.State?.Name;
        return (
          <>
            <Button disabled={state !== 'running'} onClick={() => navigate(`/connect/${ids[0]}`)}>Connect</Button>
            <ButtonDropdown disabled={!selected} onItemClick={(e) => void stateAction(e.detail.id, ids, reload)} items={[
              { id: 'stop', text: 'Stop instance', disabled: state !== 'running' },
              { id: 'start', text: 'Start instance', disabled: state !== 'stopped' },
              { id: 'reboot', text: 'Reboot instance', disabled: state !== 'running' },
              { id: 'terminate', text: 'Terminate (delete) instance', disabled: state === 'terminated' || state === 'shutting-down' },
            ]}>Instance state</ButtonDropdown>
            <ButtonDropdown disabled={!selected} expandableGroups
              onItemClick={(e) => (e.detail.id === 'create-image' ? navigate(`/create-image?instance=${ids[0]}`)
                : e.detail.id === 'create-template' ? navigate(`/launch-templates/create?instance=${ids[0]}`) : setModal('log'))}
              items={[
                { id: 'image', text: 'Image and templates', items: [
                  { id: 'create-image', text: 'Create image', disabled: state !== 'running' && state !== 'stopped' },
                  { id: 'create-template', text: 'Create template from instance', disabled: state === 'terminated' },
                ] },
                { id: 'monitor', text: 'Monitor and troubleshoot', items: [{ id: 'system-log', text: 'Get system log' }] },
              ]}>Actions</ButtonDropdown>
            <Button variant="primary" onClick={() => navigate('/launch')}>Launch instances</Button>
            {modal === 'terminate' && selected && (
              <ConfirmModal title="Terminate (delete) instance?" action="Terminate (delete)" onClose={() => setModal(undefined)}
                onConfirm={async () => {
                  await ec2(session).send(new TerminateInstancesCommand({ InstanceIds: ids }));
                  flash.success(`Terminating ${ids.join(', ')}.`);
                  await reload();
                }}>
                On an EBS-backed instance, the root volume is deleted on termination unless its DeleteOnTermination is false. Terminate {ids.join(', ')}?
              </ConfirmModal>
            )}
            {modal === 'log' && selected && <SystemLogModal session={session} id={ids[0]!} onClose={() => setModal(undefined)} />}
          </>
        );
      }}
    />
  );
}
