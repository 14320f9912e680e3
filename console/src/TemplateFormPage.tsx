/**
 * Create launch template (also from an instance's GetLaunchTemplateData, ?instance=) and Modify template (Create new
 * version, ?id=, from a chosen source version): name and version description, AMI, instance type, key pair,
 * security group and user data, with Launch's own key pair and network fields.
 */
import { useEffect, useState } from 'react';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Form from '@cloudscape-design/components/form';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Textarea from '@cloudscape-design/components/textarea';
import {
  CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand,
  GetLaunchTemplateDataCommand,
} from '@aws-sdk/client-ec2';
import type { LaunchTemplate, LaunchTemplateVersion, ResponseLaunchTemplateData, ValidationWarning } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { KeyPairField } from './KeyPairField';
import { NetworkField, firewallGroups } from './NetworkField';
import type { Firewall } from './NetworkField';
import { navigate, useLocation } from './router';
import { templateData, templateForm, templateNameError } from './scaling-logic';
import type { TemplateForm } from './scaling-logic';
import { ImageField, InstanceTypeField } from './TemplateFields';

const warningText = (w: ValidationWarning | undefined) => (w?.Errors?.length ? ` Warning: ${w.Errors.map((e) => e.Code).join(', ')}.` : '');

export function TemplateFormPage({ session }: PageProps) {
  const flash = useFlash();
  const { query } = useLocation();
  const templateId = query.get('id');
  const instanceId = query.get('instance');
  const [template, setTemplate] = useState<LaunchTemplate>();
  const [versions, setVersions] = useState<LaunchTemplateVersion[]>([]);
  const [source, setSource] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [base, setBase] = useState<ResponseLaunchTemplateData>();
  const [form, setForm] = useState<TemplateForm>(templateForm(undefined));
  const [firewall, setFirewall] = useState<Firewall>({ mode: 'existing', groupId: '', name: '' });
  const [ready, setReady] = useState(!templateId && !instanceId);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);
  const client = ec2(session);
  // The network field mounts once the data is in: it picks the default group only when it starts with none.
  const fill = (d: ResponseLaunchTemplateData | undefined) => {
    const f = templateForm(d);
    setBase(d);
    setForm(f);
    setFirewall({ mode: 'existing', groupId: f.securityGroupIds[0] ?? '', name: f.securityGroupIds[0] ?? '' });
    setReady(true);
  };
  useEffect(() => {
    if (instanceId) {
      client.send(new GetLaunchTemplateDataCommand({ InstanceId: instanceId })).then((r) => fill(r.LaunchTemplateData), (err: unknown) => flash.error(err));
    }
    if (templateId) {
      Promise.all([
        client.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [templateId] })),
        client.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templateId })),
      ]).then(([t, v]) => {
        const list = v.LaunchTemplateVersions ?? [];
        setTemplate(t.LaunchTemplates?.[0]);
        setVersions(list);
        const def = list.find((x) => x.DefaultVersion) ?? list[0];
        setSource(String(def?.VersionNumber ?? ''));
        fill(def?.LaunchTemplateData);
      }, (err: unknown) => flash.error(err));
    }
  }, [templateId, instanceId]);
  const chooseSource = (n: string) => {
    setSource(n);
    fill(versions.find((v) => String(v.VersionNumber) === n)?.LaunchTemplateData);
  };
  const nameError = templateId ? undefined : templateNameError(name);
  const submit = async () => {
    setTried(true);
    if (nameError || !form.imageId) return;
    setBusy(true);
    try {
      const data = templateData({ ...form, securityGroupIds: (await firewallGroups(client, firewall)) ?? [] }, base);
      const VersionDescription = description || undefined;
      if (templateId) {
        const out = await client.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: templateId, VersionDescription, LaunchTemplateData: data }));
        flash.success(`Created version ${out.LaunchTemplateVersion?.VersionNumber} of ${template?.LaunchTemplateName ?? templateId}.${warningText(out.Warning)}`);
      } else {
        const out = await client.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, VersionDescription, LaunchTemplateData: data }));
        flash.success(`Created launch template ${out.LaunchTemplate?.LaunchTemplateName} (${out.LaunchTemplate?.LaunchTemplateId}).${warningText(out.Warning)}`);
      }
      navigate('/launch-templates');
    } catch (err) {
      flash.error(err);
      setBusy(false);
    }
  };
  const set = <K extends keyof TemplateForm>(key: K) => (value: TemplateForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const title = templateId ? `Modify template (Create new version): ${template?.LaunchTemplateName ?? templateId}` : 'Create launch template';
  const sourceOption = (v: LaunchTemplateVersion | undefined) => v && ({ value: String(v.VersionNumber), label: `${v.VersionNumber}${v.DefaultVersion ? ' (Default)' : ''}`, description: v.VersionDescription });
  return (
    <Form header={<Header variant="h1" description="Creating a launch template allows you to create a saved instance configuration that can be reused, shared and launched at a later time.">{title}</Header>}
      actions={<SpaceBetween direction="horizontal" size="xs">
        <Button variant="link" onClick={() => navigate('/launch-templates')}>Cancel</Button>
        <Button variant="primary" loading={busy} onClick={() => void submit()}>{templateId ? 'Create template version' : 'Create launch template'}</Button>
      </SpaceBetween>}>
      <SpaceBetween size="l">
        <Container header={<Header variant="h2">Launch template name and description</Header>}>
          <SpaceBetween size="m">
            {templateId ? (
              <FormField label="Source template version" description="The new version starts from this one's settings.">
                <Select ariaLabel="Source template version" selectedOption={sourceOption(versions.find((v) => String(v.VersionNumber) === source)) ?? null}
                  options={versions.map((v) => sourceOption(v)!)} onChange={(e) => chooseSource(e.detail.selectedOption.value ?? '')} />
              </FormField>
            ) : (
              <FormField label="Launch template name" errorText={tried ? nameError : undefined} constraintText="3 to 128 characters: letters, digits and ( ) . - / _">
                <Input value={name} onChange={(e) => setName(e.detail.value)} ariaLabel="Launch template name" placeholder="MyTemplate" />
              </FormField>
            )}
            <FormField label="Template version description">
              <Input value={description} onChange={(e) => setDescription(e.detail.value)} ariaLabel="Template version description" placeholder="A prod webserver for MyApp" />
            </FormField>
          </SpaceBetween>
        </Container>
        {ready && (
          <>
            <Container header={<Header variant="h2">Application and OS Images (Amazon Machine Image)</Header>}>
              <SpaceBetween size="xs">
                <ImageField session={session} value={form.imageId} onChange={set('imageId')} />
                {tried && !form.imageId && <FormField errorText="Choose an AMI." />}
              </SpaceBetween>
            </Container>
            <Container header={<Header variant="h2">Instance type</Header>}>
              <InstanceTypeField session={session} value={form.instanceType} onChange={set('instanceType')} />
            </Container>
            <Container header={<Header variant="h2">Key pair (login)</Header>}>
              <KeyPairField session={session} value={form.keyName} onChange={set('keyName')} />
            </Container>
            <Container header={<Header variant="h2">Network settings</Header>}>
              <NetworkField session={session} value={firewall} onChange={setFirewall} />
            </Container>
            <Container header={<Header variant="h2">Advanced details</Header>}>
              <FormField label="User data - optional" description="A shell script or cloud-config; the console base64-encodes it.">
                <Textarea value={form.userData} onChange={(e) => set('userData')(e.detail.value)} rows={6} ariaLabel="User data" />
              </FormField>
            </Container>
          </>
        )}
      </SpaceBetween>
    </Form>
  );
}
