/** Launch's Network settings: the VPC and subnet, and an existing security group or a new one that allows SSH from a chosen range. */
import { useEffect, useState } from 'react';
import Checkbox from '@cloudscape-design/components/checkbox';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import RadioGroup from '@cloudscape-design/components/radio-group';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import type { EC2Client, SecurityGroup, Subnet, Vpc } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { useFlash } from './flash';

export type Firewall = { mode: 'existing'; groupId: string; name: string } | { mode: 'create'; ssh: boolean; cidr: string };

export const firewallLabel = (f: Firewall) => (f.mode === 'existing' ? f.name || '-' : `New security group${f.ssh ? `, SSH from ${f.cidr}` : ''}`);

/** The security group ids RunInstances gets: the chosen one, or a new launch-wizard group (with its SSH rule). */
export async function firewallGroups(client: EC2Client, f: Firewall): Promise<string[] | undefined> {
  if (f.mode === 'existing') return f.groupId ? [f.groupId] : undefined;
  const GroupName = `launch-wizard-${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}`;
  const { GroupId } = await client.send(new CreateSecurityGroupCommand({ GroupName, Description: `${GroupName} created by the Kiln console` }));
  if (f.ssh) {
    await client.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: f.cidr, Description: 'SSH' }] }],
    }));
  }
  return [GroupId!];
}

/** The VPC (the account's default one, as EC2 launches into by default) and its subnets: "No preference" lets EC2 choose. */
export function SubnetField({ session, value, onChange }: { session: Session; value: string; onChange: (subnetId: string) => void }) {
  const flash = useFlash();
  const [vpcs, setVpcs] = useState<Vpc[]>([]);
  const [subnets, setSubnets] = useState<Subnet[]>([]);
  useEffect(() => {
    const client = ec2(session);
    Promise.all([client.send(new DescribeVpcsCommand({})), client.send(new DescribeSubnetsCommand({}))]).then(([v, sn]) => {
      setVpcs(v.Vpcs ?? []);
      setSubnets((sn.Subnets ?? []).sort((a, b) => (a.AvailabilityZone ?? '').localeCompare(b.AvailabilityZone ?? '')));
    }, (err: unknown) => flash.error(err));
  }, []);
  const vpc = vpcs.find((v) => v.IsDefault) ?? vpcs[0];
  const label = (sn: Subnet) => ({ value: sn.SubnetId!, label: sn.SubnetId!, description: `${sn.AvailabilityZone} · ${sn.CidrBlock} · ${sn.AvailableIpAddressCount ?? '?'} addresses free` });
  const chosen = subnets.find((sn) => sn.SubnetId === value);
  return (
    <SpaceBetween direction="horizontal" size="s">
      <FormField label="VPC"><Input readOnly value={vpc ? `${vpc.VpcId} (${vpc.CidrBlock}${vpc.IsDefault ? ', default' : ''})` : ''} ariaLabel="VPC" /></FormField>
      <FormField label="Subnet">
        <Select ariaLabel="Subnet" selectedOption={chosen ? label(chosen) : { value: '', label: 'No preference' }}
          options={[{ value: '', label: 'No preference', description: 'Default subnet in any Availability Zone' }, ...subnets.map(label)]}
          onChange={(e) => onChange(e.detail.selectedOption.value ?? '')} />
      </FormField>
    </SpaceBetween>
  );
}

export function NetworkField({ session, value, onChange }: { session: Session; value: Firewall; onChange: (f: Firewall) => void }) {
  const flash = useFlash();
  const [groups, setGroups] = useState<SecurityGroup[]>([]);
  useEffect(() => {
    ec2(session).send(new DescribeSecurityGroupsCommand({})).then((r) => {
      const list = r.SecurityGroups ?? [];
      setGroups(list);
      const def = list.find((g) => g.GroupName === 'default') ?? list[0];
      if (def && value.mode === 'existing' && !value.groupId) onChange({ mode: 'existing', groupId: def.GroupId!, name: def.GroupName ?? '' });
    }, (err: unknown) => flash.error(err));
  }, []);
  const existing = value.mode === 'existing' ? value : undefined;
  const creating = value.mode === 'create' ? value : undefined;
  return (
    <SpaceBetween size="m">
      <FormField label="Firewall (security groups)" description="A security group is a set of firewall rules that control the traffic for your instance.">
        <RadioGroup value={value.mode} ariaLabel="Firewall"
          onChange={(e) => onChange(e.detail.value === 'create' ? { mode: 'create', ssh: true, cidr: '0.0.0.0/0' } : { mode: 'existing', groupId: '', name: '' })}
          items={[{ value: 'create', label: 'Create security group' }, { value: 'existing', label: 'Select existing security group' }]} />
      </FormField>
      {existing && (
        <FormField label="Common security groups">
          <Select ariaLabel="Security group"
            selectedOption={existing.groupId ? { value: existing.groupId, label: existing.name, description: existing.groupId } : null}
            options={groups.map((g) => ({ value: g.GroupId!, label: g.GroupName ?? g.GroupId!, description: `${g.GroupId} · ${g.VpcId ?? ''}` }))}
            onChange={(e) => onChange({ mode: 'existing', groupId: e.detail.selectedOption.value ?? '', name: e.detail.selectedOption.label ?? '' })} />
        </FormField>
      )}
      {creating && (
        <SpaceBetween size="xs">
          <Checkbox checked={creating.ssh} onChange={(e) => onChange({ ...creating, ssh: e.detail.checked })}
            description="Helps you connect to your instance">Allow SSH traffic from</Checkbox>
          {creating.ssh && (
            <Input value={creating.cidr} onChange={(e) => onChange({ ...creating, cidr: e.detail.value })} ariaLabel="Allow SSH traffic from CIDR" />
          )}
        </SpaceBetween>
      )}
    </SpaceBetween>
  );
}
