/** Monitor and troubleshoot > Get system log (GetConsoleOutput). */
import { useEffect, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import Modal from '@cloudscape-design/components/modal';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Spinner from '@cloudscape-design/components/spinner';
import { GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { describeError, ec2 } from './api';
import { decodeOutput } from './logic';

export function SystemLogModal({ session, id, onClose }: { session: Session; id: string; onClose: () => void }) {
  const [text, setText] = useState<string>();
  const [when, setWhen] = useState<Date>();
  const load = () => {
    setText(undefined);
    ec2(session).send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }))
      .then((r) => { setText(decodeOutput(r.Output) || '(no output yet)'); setWhen(r.Timestamp); },
        (err: unknown) => { const e = describeError(err); setText(`${e.code}: ${e.message}`); });
  };
  useEffect(load, [id]);
  return (
    <Modal visible size="large" header={`Get system log: ${id}`} onDismiss={onClose}
      footer={<Box float="right"><SpaceBetween direction="horizontal" size="xs">
        <Button iconName="refresh" onClick={load}>Refresh</Button>
        <Button variant="primary" onClick={onClose}>Close</Button>
      </SpaceBetween></Box>}>
      {when && <Box color="text-body-secondary" variant="small">As of {when.toLocaleString()}</Box>}
      {text === undefined ? <Spinner /> : (
        <pre data-testid="system-log" style={{ maxHeight: 480, overflow: 'auto', whiteSpace: 'pre-wrap', fontSize: 12 }}>{text}</pre>
      )}
    </Modal>
  );
}
