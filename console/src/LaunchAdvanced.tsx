/** Launch instance's Configure storage "Add new volume" rows and the Advanced details fields (shutdown, protection, metadata). */
import Button from '@cloudscape-design/components/button';
import Checkbox from '@cloudscape-design/components/checkbox';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import type { Image } from '@aws-sdk/client-ec2';
import type { Advanced, ExtraVolume } from './launch-logic';
import { nextDevices } from './launch-logic';

export const VOLUME_TYPES = ['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'];
const opt = (value: string, label = value) => ({ value, label });

export function ExtraVolumes({ image, value, onChange }: { image: Image | undefined; value: ExtraVolume[]; onChange: (v: ExtraVolume[]) => void }) {
  const devices = nextDevices(image, value.length);
  const set = (k: number, patch: Partial<ExtraVolume>) => onChange(value.map((v, i) => (i === k ? { ...v, ...patch } : v)));
  return (
    <SpaceBetween size="s">
      {value.map((v, k) => (
        <SpaceBetween key={k} direction="horizontal" size="s">
          <FormField label={`EBS volume ${devices[k] ?? ''}, GiB`}>
            <Input type="number" value={v.size} onChange={(e) => set(k, { size: e.detail.value })} ariaLabel={`Volume ${k + 2} size`} />
          </FormField>
          <FormField label="Volume type">
            <Select ariaLabel={`Volume ${k + 2} type`} selectedOption={opt(v.type)} options={VOLUME_TYPES.map((t) => opt(t))}
              onChange={(e) => set(k, { type: e.detail.selectedOption.value ?? 'gp3' })} />
          </FormField>
          <FormField label="Delete on termination">
            <Checkbox checked={v.deleteOnTermination} onChange={(e) => set(k, { deleteOnTermination: e.detail.checked })} ariaLabel={`Volume ${k + 2} delete on termination`}>Yes</Checkbox>
          </FormField>
          <FormField label=" "><Button onClick={() => onChange(value.filter((_, i) => i !== k))} ariaLabel={`Remove volume ${k + 2}`}>Remove</Button></FormField>
        </SpaceBetween>
      ))}
      <Button iconName="add-plus" onClick={() => onChange([...value, { size: '8', type: 'gp3', deleteOnTermination: true }])}>Add new volume</Button>
    </SpaceBetween>
  );
}

export function AdvancedFields({ value, onChange }: { value: Advanced; onChange: (v: Advanced) => void }) {
  const pick = <K extends keyof Advanced>(key: K, label: string, options: Array<[Advanced[K], string]>) => (
    <FormField label={label}>
      <Select ariaLabel={label} selectedOption={opt(String(value[key]), options.find(([v]) => v === value[key])?.[1])}
        options={options.map(([v, l]) => opt(String(v), l))}
        onChange={(e) => onChange({ ...value, [key]: options.find(([v]) => String(v) === e.detail.selectedOption.value)![0] })} />
    </FormField>
  );
  return (
    <SpaceBetween size="m">
      {pick('shutdown', 'Shutdown behavior', [['stop', 'Stop'], ['terminate', 'Terminate']])}
      {pick('terminationProtection', 'Termination protection', [[false, 'Disable'], [true, 'Enable']])}
      {pick('metadata', 'Metadata accessible', [['enabled', 'Enabled'], ['disabled', 'Disabled']])}
      {value.metadata === 'enabled' && pick('tokens', 'Metadata version', [['optional', 'V1 and V2 (token optional)'], ['required', 'V2 only (token required)']])}
    </SpaceBetween>
  );
}
