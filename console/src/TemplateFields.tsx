/** The launch template form's AMI and instance type fields (the key pair and security group ones are Launch's own). */
import { useEffect, useState } from 'react';
import FormField from '@cloudscape-design/components/form-field';
import Select from '@cloudscape-design/components/select';
import type { SelectProps } from '@cloudscape-design/components/select';
import { DescribeImagesCommand, DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import type { DescribeImagesCommandInput, Image, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { useFlash } from './flash';
import { typeLabel } from './LaunchPage';

const imageOption = (i: Image): SelectProps.Option => ({ value: i.ImageId!, label: i.Name ?? i.ImageId!, description: `${i.ImageId} · ${i.Architecture ?? ''} · ${i.Description ?? ''}` });

/** The AMI, from the Quick Start images (owned by amazon) and mine (owned or launchable), in two option groups. */
export function ImageField({ session, value, onChange }: { session: Session; value: string; onChange: (id: string) => void }) {
  const flash = useFlash();
  const [groups, setGroups] = useState<Array<{ label: string; images: Image[] }>>([]);
  useEffect(() => {
    const client = ec2(session);
    const list = (input: DescribeImagesCommandInput) => client.send(new DescribeImagesCommand(input))
      .then((r) => (r.Images ?? []).filter((i) => i.State === 'available'));
    Promise.all([list({ Owners: ['amazon'] }), list({ Owners: ['self'] }), list({ ExecutableUsers: ['self'] })]).then(([quick, owned, shared]) => {
      const mine = [...new Map([...owned, ...shared].map((i) => [i.ImageId, i])).values()];
      setGroups([{ label: 'Quick Start', images: quick }, { label: 'My AMIs', images: mine }]);
    }, (err: unknown) => flash.error(err));
  }, []);
  const all = groups.flatMap((g) => g.images);
  const chosen = all.find((i) => i.ImageId === value);
  return (
    <FormField label="Amazon Machine Image (AMI)">
      <Select ariaLabel="Amazon Machine Image (AMI)" filteringType="auto" empty="No available AMIs here." placeholder="Choose an AMI"
        selectedOption={chosen ? imageOption(chosen) : value ? { value, label: value } : null}
        options={groups.filter((g) => g.images.length).map((g) => ({ label: g.label, options: g.images.map(imageOption) }))}
        onChange={(e) => onChange(e.detail.selectedOption.value ?? '')} />
    </FormField>
  );
}

/** The instance type, with vCPUs and memory, smallest first. */
export function InstanceTypeField({ session, value, onChange }: { session: Session; value: string; onChange: (type: string) => void }) {
  const flash = useFlash();
  const [types, setTypes] = useState<InstanceTypeInfo[]>([]);
  useEffect(() => {
    ec2(session).send(new DescribeInstanceTypesCommand({})).then(
      (r) => setTypes((r.InstanceTypes ?? []).sort((a, b) => (a.MemoryInfo?.SizeInMiB ?? 0) - (b.MemoryInfo?.SizeInMiB ?? 0))),
      (err: unknown) => flash.error(err));
  }, []);
  const known = types.find((t) => t.InstanceType === value);
  return (
    <FormField label="Instance type">
      <Select ariaLabel="Instance type" filteringType="auto"
        selectedOption={{ value, label: known ? typeLabel(known) : value }}
        options={types.map((t) => ({ value: t.InstanceType!, label: typeLabel(t) }))} onChange={(e) => onChange(e.detail.selectedOption.value ?? value)} />
    </FormField>
  );
}
