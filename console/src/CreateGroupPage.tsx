/** Create Auto Scaling group: name, launch template and version, subnets (their zones), group size. */
import { useEffect, useState } from 'react';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import Form from '@cloudscape-design/components/form';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import Multiselect from '@cloudscape-design/components/multiselect';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { CreateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeLaunchTemplatesCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import type { LaunchTemplate, Subnet } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import { autoscaling } from './scaling-api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { CapacityFields } from './GroupModals';
import { navigate, useLocation } from './router';
import { groupInput } from './scaling-logic';
import type { GroupForm } from './scaling-logic';
import { useVersions, VersionSelect } from './TemplateModals';

const subnetOption = (s: Subnet) => ({ value: s.SubnetId!, label: `${s.AvailabilityZone} | ${s.SubnetId}`, description: `${s.CidrBlock} · ${s.VpcId}${s.DefaultForAz ? ' · Default' : ''}` });

export function CreateGroupPage({ session }: PageProps) {
  const flash = useFlash();
  const preselected = useLocation().query.get('template') ?? '';
  const [templates, setTemplates] = useState<LaunchTemplate[]>([]);
  const [subnets, setSubnets] = useState<Subnet[]>([]);
  const [form, setForm] = useState<GroupForm>({ name: '', templateId: preselected, version: '$Default', subnetIds: [], desired: '1', min: '1', max: '1' });
  const [tried, setTried] = useState(false);
  const [busy, setBusy] = useState(false);
  const versions = useVersions(session, form.templateId || undefined);
  useEffect(() => {
    ec2(session).send(new DescribeLaunchTemplatesCommand({})).then((r) => setTemplates(r.LaunchTemplates ?? []), (err: unknown) => flash.error(err));
    ec2(session).send(new DescribeSubnetsCommand({})).then(
      (r) => setSubnets((r.Subnets ?? []).sort((a, b) => (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? ''))), (err: unknown) => flash.error(err));
  }, []);
  const { input, errors } = groupInput(form);
  const shown = tried ? errors : {};
  const template = templates.find((t) => t.LaunchTemplateId === form.templateId);
  const create = async () => {
    setTried(true);
    if (!input) return;
    setBusy(true);
    try {
      await autoscaling(session).send(new CreateAutoScalingGroupCommand(input));
      flash.success(`Created Auto Scaling group ${input.AutoScalingGroupName}.`);
      navigate('/auto-scaling-groups');
    } catch (err) {
      flash.error(err);
      setBusy(false);
    }
  };
  return (
    <Form header={<Header variant="h1" description="An Auto Scaling group keeps a number of instances from a launch template running across the subnets you choose.">Create Auto Scaling group</Header>}
      actions={<SpaceBetween direction="horizontal" size="xs">
        <Button variant="link" onClick={() => navigate('/auto-scaling-groups')}>Cancel</Button>
        <Button variant="primary" loading={busy} onClick={() => void create()}>Create Auto Scaling group</Button>
      </SpaceBetween>}>
      <SpaceBetween size="l">
        <Container header={<Header variant="h2">Name</Header>}>
          <FormField label="Auto Scaling group name" errorText={shown.name} constraintText="Unique in this account and Region; up to 255 characters.">
            <Input value={form.name} onChange={(e) => setForm({ ...form, name: e.detail.value })} ariaLabel="Auto Scaling group name" />
          </FormField>
        </Container>
        <Container header={<Header variant="h2">Launch template</Header>}>
          <SpaceBetween size="m">
            <FormField label="Launch template" errorText={shown.templateId}>
              <Select ariaLabel="Launch template" placeholder="Select a launch template" filteringType="auto" empty="No launch templates: create one first."
                selectedOption={template ? { value: template.LaunchTemplateId!, label: template.LaunchTemplateName } : null}
                options={templates.map((t) => ({ value: t.LaunchTemplateId!, label: t.LaunchTemplateName, description: t.LaunchTemplateId }))}
                onChange={(e) => setForm({ ...form, templateId: e.detail.selectedOption.value ?? '', version: '$Default' })} />
            </FormField>
            <FormField label="Version">
              <VersionSelect template={template} versions={versions} value={form.version} onChange={(version) => setForm({ ...form, version })} />
            </FormField>
          </SpaceBetween>
        </Container>
        <Container header={<Header variant="h2">Network</Header>}>
          <FormField label="Availability Zones and subnets" errorText={shown.subnetIds} description="The group spreads its instances over the zones of these subnets.">
            <Multiselect ariaLabel="Availability Zones and subnets" placeholder="Select subnets" filteringType="auto"
              selectedOptions={subnets.filter((s) => form.subnetIds.includes(s.SubnetId!)).map(subnetOption)} options={subnets.map(subnetOption)}
              onChange={(e) => setForm({ ...form, subnetIds: e.detail.selectedOptions.map((o) => o.value!) })} />
          </FormField>
        </Container>
        <Container header={<Header variant="h2">Group size</Header>}>
          <CapacityFields value={form} onChange={(c) => setForm({ ...form, ...c })} show={tried} />
        </Container>
      </SpaceBetween>
    </Form>
  );
}
