/**
 * The selected Auto Scaling group: Details, Activity (DescribeScalingActivities), Instance management
 * (DescribeAutoScalingInstances) and Instance refresh (DescribeInstanceRefreshes, Start / Cancel). Each tab reloads
 * whenever the table does (every 2 s while the group is busy) and on its own Refresh.
 */
import { useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import SpaceBetween from '@cloudscape-design/components/space-between';
import StatusIndicator from '@cloudscape-design/components/status-indicator';
import type { StatusIndicatorProps } from '@cloudscape-design/components/status-indicator';
import Table from '@cloudscape-design/components/table';
import type { TableProps } from '@cloudscape-design/components/table';
import Tabs from '@cloudscape-design/components/tabs';
import {
  CancelInstanceRefreshCommand, DescribeAutoScalingInstancesCommand, DescribeInstanceRefreshesCommand, DescribeScalingActivitiesCommand,
} from '@aws-sdk/client-auto-scaling';
import type { Activity, AutoScalingGroup, AutoScalingInstanceDetails, InstanceRefresh } from '@aws-sdk/client-auto-scaling';
import type { Session } from './api';
import { autoscaling } from './scaling-api';
import { useFlash } from './flash';
import { when } from './format';
import { StartRefreshModal } from './GroupModals';
import { membersOf, templateCell } from './scaling-logic';

const KINDS: Array<[RegExp, StatusIndicatorProps.Type]> = [
  [/^(InService|Successful|HEALTHY|Healthy)$/, 'success'], [/^(Failed|UNHEALTHY|Unhealthy|Cancelled|RollbackFailed)$/, 'error'],
  [/^(Pending|Terminating|InProgress|PreInService|WaitingFor|MidLifecycleAction|Cancelling|Rolling)/, 'in-progress'],
  [/^(Terminated|Detached|Standby)/, 'stopped'],
];

export function ScalingState({ value }: { value?: string }) {
  const s = value ?? 'unknown';
  return <StatusIndicator type={KINDS.find(([re]) => re.test(s))?.[1] ?? 'info'}>{s}</StatusIndicator>;
}

/** `fetch`'s answer, again each time `tick` changes or the tab's Refresh is pressed. */
function useLoaded<T>(fetch: () => Promise<T>, tick: unknown): [T | undefined, () => void] {
  const flash = useFlash();
  const [value, setValue] = useState<T>();
  const [again, setAgain] = useState(0);
  useEffect(() => { fetch().then(setValue, (err: unknown) => flash.error(err)); }, [tick, again]);
  return [value, () => setAgain((n) => n + 1)];
}

function TabTable<T>({ title, items, columns, empty, actions, reload }: {
  title: string; items: T[] | undefined; columns: TableProps.ColumnDefinition<T>[]; empty: string; actions?: ReactNode; reload: () => void;
}) {
  return (
    <Table variant="embedded" loading={!items} loadingText={`Loading ${title.toLowerCase()}`} items={items ?? []} columnDefinitions={columns}
      empty={<Box textAlign="center">{empty}</Box>}
      header={<Header variant="h3" counter={`(${items?.length ?? 0})`} actions={<SpaceBetween direction="horizontal" size="xs">
        <Button iconName="refresh" ariaLabel={`Refresh ${title.toLowerCase()}`} onClick={reload} />{actions}
      </SpaceBetween>}>{title}</Header>} />
  );
}

export function GroupDetail({ session, group: g }: { session: Session; group: AutoScalingGroup }) {
  const flash = useFlash();
  const client = autoscaling(session);
  const name = g.AutoScalingGroupName!;
  const [refreshing, setRefreshing] = useState(false);
  const [activities, reloadActivities] = useLoaded(async () =>
    (await client.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: name }))).Activities ?? [], g);
  const [members, reloadMembers] = useLoaded(async () =>
    membersOf((await client.send(new DescribeAutoScalingInstancesCommand({}))).AutoScalingInstances ?? [], name), g);
  const [refreshes, reloadRefreshes] = useLoaded(async () =>
    (await client.send(new DescribeInstanceRefreshesCommand({ AutoScalingGroupName: name }))).InstanceRefreshes ?? [], g);
  const running = refreshes?.find((r) => r.Status === 'Pending' || r.Status === 'InProgress');
  const cancel = async () => {
    try {
      await client.send(new CancelInstanceRefreshCommand({ AutoScalingGroupName: name }));
      flash.success(`Cancelling instance refresh ${running?.InstanceRefreshId}.`);
      reloadRefreshes();
    } catch (err) {
      flash.error(err);
    }
  };
  const details: Array<[string, ReactNode]> = [
    ['Auto Scaling group name', name], ['Desired capacity', g.DesiredCapacity], ['Min desired capacity', g.MinSize], ['Max desired capacity', g.MaxSize],
    ['Launch template', templateCell(g)], ['Availability Zones', g.AvailabilityZones?.join(', ')], ['Subnets', g.VPCZoneIdentifier?.split(',').join(', ')],
    ['Health check type', g.HealthCheckType], ['Health check grace period', g.HealthCheckGracePeriod !== undefined ? `${g.HealthCheckGracePeriod} seconds` : '-'],
    ['Default cooldown', g.DefaultCooldown], ['Date created', when(g.CreatedTime)], ['Status', g.Status ?? '-'],
    ['Suspended processes', g.SuspendedProcesses?.map((p) => p.ProcessName).join(', ')], ['Auto Scaling group ARN', g.AutoScalingGroupARN],
  ];
  return (
    <Container header={<Header variant="h2">{name}</Header>}>
      <Tabs tabs={[
        { id: 'details', label: 'Details', content: <KeyValuePairs columns={3} items={details.map(([label, value]) => ({ label, value: value === undefined || value === '' ? '-' : value }))} /> },
        {
          id: 'activity', label: 'Activity', content: (
            <TabTable<Activity> title="Activity history" items={activities} reload={reloadActivities} empty="No activities."
              columns={[
                { id: 'status', header: 'Status', cell: (a) => <ScalingState value={a.StatusCode} /> },
                { id: 'desc', header: 'Description', cell: (a) => a.Description },
                { id: 'cause', header: 'Cause', cell: (a) => <Box variant="small">{a.Cause}{a.StatusMessage ? ` ${a.StatusMessage}` : ''}</Box> },
                { id: 'start', header: 'Start time', cell: (a) => when(a.StartTime) },
                { id: 'end', header: 'End time', cell: (a) => when(a.EndTime) },
              ]} />
          ),
        },
        {
          id: 'instances', label: 'Instance management', content: (
            <TabTable<AutoScalingInstanceDetails> title="Instances" items={members} reload={reloadMembers} empty="No instances."
              columns={[
                { id: 'id', header: 'Instance ID', cell: (i) => i.InstanceId },
                { id: 'state', header: 'Lifecycle', cell: (i) => <ScalingState value={i.LifecycleState} /> },
                { id: 'type', header: 'Instance type', cell: (i) => i.InstanceType },
                { id: 'lt', header: 'Launch template/configuration', cell: (i) => `${i.LaunchTemplate?.LaunchTemplateName ?? '-'} | Version ${i.LaunchTemplate?.Version ?? '-'}` },
                { id: 'az', header: 'Availability Zone', cell: (i) => i.AvailabilityZone },
                { id: 'health', header: 'Health status', cell: (i) => <ScalingState value={i.HealthStatus} /> },
                { id: 'protected', header: 'Protected from', cell: (i) => (i.ProtectedFromScaleIn ? 'Scale in' : '-') },
              ]} />
          ),
        },
        {
          id: 'refresh', label: 'Instance refresh', content: (
            <TabTable<InstanceRefresh> title="Instance refreshes" items={refreshes} reload={reloadRefreshes} empty="No instance refreshes."
              actions={<>
                <Button disabled={!running} onClick={() => void cancel()}>Cancel instance refresh</Button>
                <Button onClick={() => setRefreshing(true)}>Start instance refresh</Button>
                {refreshing && <StartRefreshModal session={session} group={g} onClose={(changed) => { setRefreshing(false); if (changed) reloadRefreshes(); }} />}
              </>}
              columns={[
                { id: 'id', header: 'Instance refresh ID', cell: (r) => r.InstanceRefreshId },
                { id: 'status', header: 'Status', cell: (r) => <ScalingState value={r.Status} /> },
                { id: 'reason', header: 'Status reason', cell: (r) => r.StatusReason ?? '-' },
                { id: 'pct', header: 'Percentage complete', cell: (r) => `${r.PercentageComplete ?? 0}%` },
                { id: 'left', header: 'Instances to update', cell: (r) => r.InstancesToUpdate ?? '-' },
                { id: 'minh', header: 'Min healthy', cell: (r) => (r.Preferences?.MinHealthyPercentage !== undefined ? `${r.Preferences.MinHealthyPercentage}%` : '-') },
                { id: 'start', header: 'Start time', cell: (r) => when(r.StartTime) },
                { id: 'end', header: 'End time', cell: (r) => when(r.EndTime) },
              ]} />
          ),
        },
      ]} />
    </Container>
  );
}
