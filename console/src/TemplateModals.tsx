/** Launch Templates' dialogs: Set default version, Delete template (typed confirmation), Launch instance from template. */
import { useEffect, useState } from 'react';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import {
  DeleteLaunchTemplateCommand, DescribeLaunchTemplateVersionsCommand, ModifyLaunchTemplateCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { LaunchTemplate, LaunchTemplateVersion } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { useFlash } from './flash';
import { ActionModal } from './ResourceTable';
import { versionChoices } from './scaling-logic';

interface ModalProps { session: Session; template: LaunchTemplate; onClose: (changed: boolean) => void }

/** The template's versions, newest first. */
export function useVersions(session: Session, id: string | undefined, tick: unknown = 0): LaunchTemplateVersion[] {
  const flash = useFlash();
  const [versions, setVersions] = useState<LaunchTemplateVersion[]>([]);
  useEffect(() => {
    if (!id) { setVersions([]); return; }
    ec2(session).send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: id }))
      .then((r) => setVersions((r.LaunchTemplateVersions ?? []).sort((a, b) => (b.VersionNumber ?? 0) - (a.VersionNumber ?? 0))),
        (err: unknown) => flash.error(err));
  }, [id, tick]);
  return versions;
}

/** A version choice: Default, Latest, or a number (`numbers` only: no aliases). */
export function VersionSelect({ template, versions, value, onChange, numbers }: {
  template: LaunchTemplate | undefined; versions: LaunchTemplateVersion[]; value: string; onChange: (v: string) => void; numbers?: boolean;
}) {
  const options = versionChoices(template, versions).filter((o) => !numbers || !o.value.startsWith('$'));
  return (
    <Select ariaLabel="Template version" selectedOption={options.find((o) => o.value === value) ?? null} placeholder="Choose a version"
      options={options} onChange={(e) => onChange(e.detail.selectedOption.value ?? '')} />
  );
}

export function SetDefaultModal({ session, template, onClose }: ModalProps) {
  const flash = useFlash();
  const versions = useVersions(session, template.LaunchTemplateId);
  const [version, setVersion] = useState(String(template.DefaultVersionNumber ?? ''));
  return (
    <ActionModal title="Set default version" action="Set as default version" onClose={onClose} disabled={!version}
      run={async () => {
        await ec2(session).send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: template.LaunchTemplateId, DefaultVersion: version }));
        flash.success(`Version ${version} is now the default of ${template.LaunchTemplateName}.`);
      }}>
      <FormField label="Template version" description={`The version launches of ${template.LaunchTemplateName} use when they name none ($Default).`}>
        <VersionSelect template={template} versions={versions} value={version} onChange={setVersion} numbers />
      </FormField>
    </ActionModal>
  );
}

export function DeleteTemplateModal({ session, template, onClose }: ModalProps) {
  const flash = useFlash();
  const [typed, setTyped] = useState('');
  return (
    <ActionModal title="Delete launch template" action="Delete" onClose={onClose} disabled={typed !== 'Delete'}
      run={async () => {
        await ec2(session).send(new DeleteLaunchTemplateCommand({ LaunchTemplateId: template.LaunchTemplateId }));
        flash.success(`Deleted launch template ${template.LaunchTemplateName} (${template.LaunchTemplateId}).`);
      }}>
      <SpaceBetween size="m">
        <span>Delete {template.LaunchTemplateName} ({template.LaunchTemplateId}) and all its versions? Instances launched from it keep running.</span>
        <FormField label="To confirm deletion, type Delete in the field.">
          <Input value={typed} onChange={(e) => setTyped(e.detail.value)} ariaLabel="Confirm deletion" placeholder="Delete" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

export function LaunchFromTemplateModal({ session, template, onClose }: ModalProps) {
  const flash = useFlash();
  const versions = useVersions(session, template.LaunchTemplateId);
  const [version, setVersion] = useState('$Default');
  const [count, setCount] = useState('1');
  const n = Math.max(1, Number.parseInt(count, 10) || 1);
  return (
    <ActionModal title="Launch instance from template" action="Launch instance" onClose={onClose}
      run={async () => {
        const out = await ec2(session).send(new RunInstancesCommand({
          MinCount: n, MaxCount: n, LaunchTemplate: { LaunchTemplateId: template.LaunchTemplateId, Version: version },
        }));
        flash.success(`Launched ${(out.Instances ?? []).map((i) => i.InstanceId).join(', ')} from ${template.LaunchTemplateName} (version ${version.replace(/^\$/, '')}).`);
      }}>
      <SpaceBetween size="m">
        <FormField label="Source template version"><VersionSelect template={template} versions={versions} value={version} onChange={setVersion} /></FormField>
        <FormField label="Number of instances"><Input type="number" value={count} onChange={(e) => setCount(e.detail.value)} ariaLabel="Number of instances" /></FormField>
      </SpaceBetween>
    </ActionModal>
  );
}
