/** The selected AMI: Details, Permissions, Storage (block device mappings) and Tags tabs. */
import { useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import Table from '@cloudscape-design/components/table';
import Tabs from '@cloudscape-design/components/tabs';
import { DescribeImageAttributeCommand } from '@aws-sdk/client-ec2';
import type { Image, LaunchPermission } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { State, when } from './format';

export function AmiDetail({ session, image }: { session: Session; image: Image }) {
  const [perms, setPerms] = useState<LaunchPermission[]>();
  useEffect(() => {
    if (image.OwnerId !== session.account) return;
    ec2(session).send(new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: 'launchPermission' }))
      .then((r) => setPerms(r.LaunchPermissions ?? []), () => setPerms(undefined));
  }, [image.ImageId]);
  const details = [
    ['AMI ID', image.ImageId], ['AMI name', image.Name], ['Description', image.Description], ['Owner account ID', image.OwnerId],
    ['Owner alias', image.ImageOwnerAlias], ['Status', <State state={image.State} reason={image.StateReason?.Message} />],
    ['Creation date', when(image.CreationDate)], ['Architecture', image.Architecture], ['Platform details', image.PlatformDetails],
    ['Root device name', image.RootDeviceName], ['Root device type', image.RootDeviceType], ['Virtualization type', image.VirtualizationType],
    ['Boot mode', image.BootMode], ['IMDS support', image.ImdsSupport], ['Deprecation time', image.DeprecationTime],
    ['Source instance', image.SourceInstanceId], ['Deregistration protection', image.DeregistrationProtection],
  ] as const;
  return (
    <Container header={<Header variant="h2">AMI ID: {image.ImageId}</Header>}>
      <Tabs tabs={[
        {
          id: 'details', label: 'Details', content: (
            <KeyValuePairs columns={3} items={details.map(([label, value]) => ({ label, value: value || '-' }))} />
          ),
        },
        {
          id: 'permissions', label: 'Permissions', content: image.OwnerId !== session.account
            ? <Box>Only the owner of an AMI sees its launch permissions.</Box>
            : (
              <Table
                variant="embedded"
                header={<Header variant="h3" description={image.Public ? 'This AMI is public: every account can launch it.' : 'This AMI is private.'}>Shared accounts and groups</Header>}
                items={perms ?? []}
                loading={!perms}
                empty={<Box textAlign="center">Not shared with any account. Actions &gt; Edit AMI permissions shares it.</Box>}
                columnDefinitions={[
                  { id: 'who', header: 'Shared with', cell: (p) => p.UserId ?? (p.Group === 'all' ? 'Public (all accounts)' : p.OrganizationArn ?? p.OrganizationalUnitArn ?? '-') },
                  { id: 'kind', header: 'Type', cell: (p) => (p.UserId ? 'Account' : p.Group ? 'Group' : p.OrganizationArn ? 'Organization' : 'Organizational unit') },
                ]}
              />
            ),
        },
        {
          id: 'storage', label: 'Storage', content: (
            <Table
              variant="embedded"
              items={image.BlockDeviceMappings ?? []}
              empty={<Box textAlign="center">No block device mappings.</Box>}
              columnDefinitions={[
                { id: 'dev', header: 'Device name', cell: (b) => b.DeviceName },
                { id: 'snap', header: 'Snapshot', cell: (b) => b.Ebs?.SnapshotId ?? b.VirtualName ?? '-' },
                { id: 'size', header: 'Size (GiB)', cell: (b) => b.Ebs?.VolumeSize ?? '-' },
                { id: 'type', header: 'Volume type', cell: (b) => b.Ebs?.VolumeType ?? '-' },
                { id: 'dot', header: 'Delete on termination', cell: (b) => String(b.Ebs?.DeleteOnTermination ?? '-') },
                { id: 'enc', header: 'Encrypted', cell: (b) => String(b.Ebs?.Encrypted ?? false) },
              ]}
            />
          ),
        },
        {
          id: 'tags', label: 'Tags', content: (
            <Table
              variant="embedded"
              items={image.Tags ?? []}
              empty={<Box textAlign="center">No tags. Actions &gt; Manage tags adds them.</Box>}
              columnDefinitions={[{ id: 'k', header: 'Key', cell: (t) => t.Key }, { id: 'v', header: 'Value', cell: (t) => t.Value }]}
            />
          ),
        },
      ]} />
    </Container>
  );
}
