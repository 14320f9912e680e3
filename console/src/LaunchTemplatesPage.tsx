/**
 * Instances > Launch Templates: the table; the selected template's details and versions; Actions (Modify template
 * (Create new version), Set default version, Delete template, Launch instance from template); Create launch template.
 * /launch-templates/create and /launch-templates/modify are the form (TemplateFormPage).
 */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import { DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import type { LaunchTemplate } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import type { PageProps } from './App';
import { when } from './format';
import { navigate, useLocation } from './router';
import { ResourceTable } from './ResourceTable';
import { DeleteTemplateModal, LaunchFromTemplateModal, SetDefaultModal, useVersions } from './TemplateModals';
import { TemplateFormPage } from './TemplateFormPage';

export function LaunchTemplatesPage({ session }: PageProps) {
  const { path } = useLocation();
  if (/^\/launch-templates\/(create|modify)/.test(path)) return <TemplateFormPage session={session} />;
  return <TemplatesTable session={session} />;
}

function TemplatesTable({ session }: PageProps) {
  const [modal, setModal] = useState<string>();
  const load = useCallback(async () => (await ec2(session).send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [], [session]);
  return (
    <ResourceTable<LaunchTemplate>
      title="Launch templates" noun="launch template" trackBy="LaunchTemplateId" load={load}
      below={(t) => <TemplateDetail session={session} template={t} />}
      empty={<><b>No launch templates</b><Box variant="p" color="inherit">A launch template keeps an instance's settings, in versions, to launch from or to scale with.</Box></>}
      columns={[
        { id: 'id', header: 'Launch template ID', cell: (t) => t.LaunchTemplateId, sortingField: 'LaunchTemplateId' },
        { id: 'name', header: 'Launch template name', cell: (t) => t.LaunchTemplateName, sortingField: 'LaunchTemplateName' },
        { id: 'default', header: 'Default version', cell: (t) => t.DefaultVersionNumber, sortingField: 'DefaultVersionNumber' },
        { id: 'latest', header: 'Latest version', cell: (t) => t.LatestVersionNumber, sortingField: 'LatestVersionNumber' },
        { id: 'created', header: 'Create time', cell: (t) => when(t.CreateTime), sortingField: 'CreateTime' },
        { id: 'owner', header: 'Owner', cell: (t) => t.CreatedBy },
      ]}
      actions={(selected, reload) => {
        const close = (changed: boolean) => { setModal(undefined); if (changed) void reload(); };
        const props = selected && { session, template: selected, onClose: close };
        return (
          <>
            <ButtonDropdown disabled={!selected} onItemClick={(e) => (e.detail.id === 'modify' ? navigate(`/launch-templates/modify?id=${selected!.LaunchTemplateId}`) : setModal(e.detail.id))}
              items={[
                { id: 'launch', text: 'Launch instance from template' },
                { id: 'modify', text: 'Modify template (Create new version)' },
                { id: 'default', text: 'Set default version' },
                { id: 'delete', text: 'Delete template' },
              ]}>Actions</ButtonDropdown>
            <Button variant="primary" onClick={() => navigate('/launch-templates/create')}>Create launch template</Button>
            {props && modal === 'launch' && <LaunchFromTemplateModal {...props} />}
            {props && modal === 'default' && <SetDefaultModal {...props} />}
            {props && modal === 'delete' && <DeleteTemplateModal {...props} />}
          </>
        );
      }}
    />
  );
}

function TemplateDetail({ session, template: t }: { session: Session; template: LaunchTemplate }) {
  const versions = useVersions(session, t.LaunchTemplateId, t);
  return (
    <SpaceBetween size="l">
      <Container header={<Header variant="h2">Launch template details: {t.LaunchTemplateId} ({t.LaunchTemplateName})</Header>}>
        <KeyValuePairs columns={3} items={[
          { label: 'Launch template ID', value: t.LaunchTemplateId }, { label: 'Launch template name', value: t.LaunchTemplateName },
          { label: 'Default version', value: t.DefaultVersionNumber }, { label: 'Latest version', value: t.LatestVersionNumber },
          { label: 'Owner', value: t.CreatedBy }, { label: 'Create time', value: when(t.CreateTime) },
        ]} />
      </Container>
      <Table variant="container" items={versions} trackBy="VersionNumber" header={<Header variant="h2" counter={`(${versions.length})`}>Versions</Header>}
        empty={<Box textAlign="center">No versions.</Box>}
        columnDefinitions={[
          { id: 'n', header: 'Version', cell: (v) => `${v.VersionNumber}${v.DefaultVersion ? ' (Default)' : ''}` },
          { id: 'desc', header: 'Description', cell: (v) => v.VersionDescription ?? '-' },
          { id: 'ami', header: 'AMI ID', cell: (v) => v.LaunchTemplateData?.ImageId ?? '-' },
          { id: 'type', header: 'Instance type', cell: (v) => v.LaunchTemplateData?.InstanceType ?? '-' },
          { id: 'key', header: 'Key pair name', cell: (v) => v.LaunchTemplateData?.KeyName ?? '-' },
          { id: 'sg', header: 'Security groups', cell: (v) => (v.LaunchTemplateData?.SecurityGroupIds ?? []).join(', ') || '-' },
          { id: 'created', header: 'Create time', cell: (v) => when(v.CreateTime) },
        ]} />
    </SpaceBetween>
  );
}
