/** The selected instance: Details, Storage, Security, Networking and Tags tabs. */
import Box from '@cloudscape-design/components/box';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import Table from '@cloudscape-design/components/table';
import Tabs from '@cloudscape-design/components/tabs';
import type { Instance } from '@aws-sdk/client-ec2';
import { State, when } from './format';

const pairs = (items: Array<[string, React.ReactNode]>) => (
  <KeyValuePairs columns={3} items={items.map(([label, value]) => ({ label, value: value || '-' }))} />
);

export function InstanceDetail({ instance: i }: { instance: Instance }) {
  return (
    <Container header={<Header variant="h2">Instance: {i.InstanceId}</Header>}>
      <Tabs tabs={[
        {
          id: 'details', label: 'Details', content: pairs([
            ['Instance ID', i.InstanceId], ['Instance state', <State state={i.State?.Name} />], ['Instance type', i.InstanceType],
            ['AMI ID', i.ImageId], ['Private IPv4 address', i.PrivateIpAddress], ['Private IP DNS name', i.PrivateDnsName],
            ['Launch time', when(i.LaunchTime)], ['Key pair assigned at launch', i.KeyName], ['Platform details', i.PlatformDetails],
            ['Architecture', i.Architecture], ['State transition reason', i.StateTransitionReason], ['Availability Zone', i.Placement?.AvailabilityZone],
          ]),
        },
        {
          id: 'storage', label: 'Storage', content: (
            <Table variant="embedded" items={i.BlockDeviceMappings ?? []} header={<Header variant="h3" description={`Root device name: ${i.RootDeviceName ?? '-'}`}>Block devices</Header>}
              empty={<Box textAlign="center">No block devices.</Box>}
              columnDefinitions={[
                { id: 'vol', header: 'Volume ID', cell: (b) => b.Ebs?.VolumeId },
                { id: 'dev', header: 'Device name', cell: (b) => b.DeviceName },
                { id: 'status', header: 'Attachment status', cell: (b) => b.Ebs?.Status },
                { id: 'time', header: 'Attachment time', cell: (b) => when(b.Ebs?.AttachTime) },
                { id: 'dot', header: 'Delete on termination', cell: (b) => String(b.Ebs?.DeleteOnTermination ?? '-') },
              ]} />
          ),
        },
        {
          id: 'security', label: 'Security', content: (
            <Table variant="embedded" items={i.SecurityGroups ?? []} header={<Header variant="h3">Security groups</Header>}
              empty={<Box textAlign="center">No security groups.</Box>}
              columnDefinitions={[{ id: 'id', header: 'Group ID', cell: (g) => g.GroupId }, { id: 'name', header: 'Group name', cell: (g) => g.GroupName }]} />
          ),
        },
        {
          id: 'networking', label: 'Networking', content: pairs([
            ['VPC ID', i.VpcId], ['Subnet ID', i.SubnetId], ['Private IPv4 address', i.PrivateIpAddress], ['Public IPv4 address', i.PublicIpAddress],
            ['Network interfaces', i.NetworkInterfaces?.map((n) => `${n.NetworkInterfaceId} (${n.MacAddress ?? ''})`).join(', ')],
          ]),
        },
        {
          id: 'tags', label: 'Tags', content: (
            <Table variant="embedded" items={i.Tags ?? []} empty={<Box textAlign="center">No tags.</Box>}
              columnDefinitions={[{ id: 'k', header: 'Key', cell: (t) => t.Key }, { id: 'v', header: 'Value', cell: (t) => t.Value }]} />
          ),
        },
      ]} />
    </Container>
  );
}
