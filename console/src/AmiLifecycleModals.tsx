/** The AMI's lifecycle dialogs: Manage AMI deprecation, Disable / Re-enable AMI, Manage deregistration protection. */
import { useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Checkbox from '@cloudscape-design/components/checkbox';
import DatePicker from '@cloudscape-design/components/date-picker';
import FormField from '@cloudscape-design/components/form-field';
import RadioGroup from '@cloudscape-design/components/radio-group';
import SpaceBetween from '@cloudscape-design/components/space-between';
import {
  DisableImageCommand, DisableImageDeprecationCommand, DisableImageDeregistrationProtectionCommand, EnableImageCommand,
  EnableImageDeprecationCommand, EnableImageDeregistrationProtectionCommand,
} from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import { ActionModal } from './ResourceTable';
import type { Props } from './AmiModals';

export function DeprecationModal({ session, image, onClose }: Props) {
  const [enabled, setEnabled] = useState(!!image.DeprecationTime);
  const [date, setDate] = useState(image.DeprecationTime?.slice(0, 10) ?? '');
  const run = async () => {
    if (enabled) await ec2(session).send(new EnableImageDeprecationCommand({ ImageId: image.ImageId, DeprecateAt: new Date(`${date}T00:00:00Z`) }));
    else await ec2(session).send(new DisableImageDeprecationCommand({ ImageId: image.ImageId }));
    return enabled ? `${image.ImageId} is deprecated from ${date}.` : `Deprecation of ${image.ImageId} cancelled.`;
  };
  return (
    <ActionModal title="Manage AMI deprecation" action="Save" run={run} onClose={onClose} disabled={enabled && !date}>
      <SpaceBetween size="m">
        <Checkbox checked={enabled} onChange={(e) => setEnabled(e.detail.checked)}
          description="A deprecated AMI is hidden from DescribeImages of other accounts; it can still be launched.">Enable deprecation</Checkbox>
        {enabled && (
          <FormField label="Deprecation date (UTC)">
            <DatePicker value={date} onChange={(e) => setDate(e.detail.value)} placeholder="YYYY/MM/DD" ariaLabel="Deprecation date" />
          </FormField>
        )}
      </SpaceBetween>
    </ActionModal>
  );
}

export function DisableModal({ session, image, onClose }: Props) {
  const disabled = image.State === 'disabled';
  const run = async () => {
    if (disabled) await ec2(session).send(new EnableImageCommand({ ImageId: image.ImageId }));
    else await ec2(session).send(new DisableImageCommand({ ImageId: image.ImageId }));
    return disabled ? `${image.ImageId} is enabled again.` : `${image.ImageId} is disabled.`;
  };
  return (
    <ActionModal title={disabled ? 'Re-enable AMI' : 'Disable AMI'} action={disabled ? 'Re-enable AMI' : 'Disable AMI'} run={run} onClose={onClose}>
      <Box>
        {disabled
          ? `Re-enable ${image.ImageId}: it can be launched again (it comes back private).`
          : `Disable ${image.ImageId}? A disabled AMI cannot be launched, is no longer shared or public, and is listed only under Disabled images.`}
      </Box>
    </ActionModal>
  );
}

export function ProtectionModal({ session, image, onClose }: Props) {
  const [choice, setChoice] = useState(image.DeregistrationProtection?.startsWith('enabled') ? 'enabled' : 'disabled');
  const run = async () => {
    if (choice === 'disabled') await ec2(session).send(new DisableImageDeregistrationProtectionCommand({ ImageId: image.ImageId }));
    else await ec2(session).send(new EnableImageDeregistrationProtectionCommand({ ImageId: image.ImageId, WithCooldown: choice === 'cooldown' }));
    return `Deregistration protection of ${image.ImageId} ${choice === 'disabled' ? 'disabled' : 'enabled'}.`;
  };
  return (
    <ActionModal title="Manage deregistration protection" action="Save" run={run} onClose={onClose}>
      <FormField label="Deregistration protection" description={`Now: ${image.DeregistrationProtection ?? 'disabled'}`}>
        <RadioGroup value={choice} onChange={(e) => setChoice(e.detail.value)} items={[
          { value: 'enabled', label: 'Enable', description: 'The AMI cannot be deregistered until protection is disabled.' },
          { value: 'cooldown', label: 'Enable with 24-hour cooldown', description: 'Once disabled, it stays protected for 24 more hours.' },
          { value: 'disabled', label: 'Disable' },
        ]} />
      </FormField>
    </ActionModal>
  );
}
