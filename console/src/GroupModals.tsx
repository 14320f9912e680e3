/** Auto Scaling groups' dialogs: Edit (group size), Delete (ForceDelete, typed confirmation), Start instance refresh. */
import { useState } from 'react';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { DeleteAutoScalingGroupCommand, StartInstanceRefreshCommand, UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { Session } from './api';
import { autoscaling } from './scaling-api';
import { useFlash } from './flash';
import { ActionModal } from './ResourceTable';
import { capacityChanges, capacityErrors, refreshInput } from './scaling-logic';
import type { Capacity } from './scaling-logic';

interface ModalProps { session: Session; group: AutoScalingGroup; onClose: (changed: boolean) => void }

/** Desired, minimum and maximum capacity, with their errors. */
export function CapacityFields({ value, onChange, show }: { value: Capacity; onChange: (c: Capacity) => void; show: boolean }) {
  const errors = show ? capacityErrors(value) : {};
  const field = (key: keyof Capacity, label: string) => (
    <FormField label={label} errorText={errors[key]}>
      <Input type="number" value={value[key]} onChange={(e) => onChange({ ...value, [key]: e.detail.value })} ariaLabel={label} />
    </FormField>
  );
  return (
    <SpaceBetween direction="horizontal" size="m">
      {field('desired', 'Desired capacity')}{field('min', 'Min desired capacity')}{field('max', 'Max desired capacity')}
    </SpaceBetween>
  );
}

export function EditGroupModal({ session, group: g, onClose }: ModalProps) {
  const flash = useFlash();
  const [size, setSize] = useState<Capacity>({ desired: String(g.DesiredCapacity ?? 0), min: String(g.MinSize ?? 0), max: String(g.MaxSize ?? 0) });
  const invalid = Object.keys(capacityErrors(size)).length > 0;
  return (
    <ActionModal title={`Edit ${g.AutoScalingGroupName}`} action="Update" onClose={onClose} disabled={invalid}
      run={async () => {
        await autoscaling(session).send(new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: g.AutoScalingGroupName, ...capacityChanges(g, size) }));
        flash.success(`Updated ${g.AutoScalingGroupName}: desired ${size.desired}, min ${size.min}, max ${size.max}.`);
      }}>
      <FormField label="Group size" description="The group launches or terminates instances to keep the desired capacity, between the minimum and the maximum.">
        <CapacityFields value={size} onChange={setSize} show />
      </FormField>
    </ActionModal>
  );
}

export function DeleteGroupModal({ session, group: g, onClose }: ModalProps) {
  const flash = useFlash();
  const [typed, setTyped] = useState('');
  return (
    <ActionModal title={`Delete Auto Scaling group ${g.AutoScalingGroupName}?`} action="Delete" onClose={onClose} disabled={typed !== 'delete'}
      run={async () => {
        await autoscaling(session).send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: g.AutoScalingGroupName, ForceDelete: true }));
        flash.success(`Deleting ${g.AutoScalingGroupName} and terminating its instances.`);
      }}>
      <SpaceBetween size="m">
        <span>Deleting the group terminates its {g.Instances?.length ?? 0} instance(s) too.</span>
        <FormField label="To confirm deletion, type delete in the field.">
          <Input value={typed} onChange={(e) => setTyped(e.detail.value)} ariaLabel="Confirm deletion" placeholder="delete" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

export function StartRefreshModal({ session, group: g, onClose }: ModalProps) {
  const flash = useFlash();
  const [minHealthy, setMinHealthy] = useState('90');
  const [warmup, setWarmup] = useState('');
  const { input, error } = refreshInput(g.AutoScalingGroupName!, minHealthy, warmup);
  return (
    <ActionModal title="Start instance refresh" action="Start instance refresh" onClose={onClose} disabled={!input}
      run={async () => {
        const out = await autoscaling(session).send(new StartInstanceRefreshCommand(input!));
        flash.success(`Started instance refresh ${out.InstanceRefreshId} of ${g.AutoScalingGroupName}.`);
      }}>
      <SpaceBetween size="m">
        <FormField label="Minimum healthy percentage" errorText={error} description="The share of the desired capacity that stays InService while instances are replaced.">
          <Input type="number" value={minHealthy} onChange={(e) => setMinHealthy(e.detail.value)} ariaLabel="Minimum healthy percentage" />
        </FormField>
        <FormField label="Instance warmup - optional" description="Seconds a new instance gets before it counts as healthy.">
          <Input type="number" value={warmup} onChange={(e) => setWarmup(e.detail.value)} ariaLabel="Instance warmup" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}
