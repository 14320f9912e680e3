/** Key pair: choose one, or create one (CreateKeyPair) whose private key is offered for download once. */
import { useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { CreateKeyPairCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import type { KeyPairInfo } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { useFlash } from './flash';

export function KeyPairField({ session, value, onChange }: { session: Session; value: string; onChange: (name: string) => void }) {
  const flash = useFlash();
  const [keys, setKeys] = useState<KeyPairInfo[]>([]);
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [download, setDownload] = useState<{ name: string; url: string }>();
  const load = () => ec2(session).send(new DescribeKeyPairsCommand({})).then((r) => setKeys(r.KeyPairs ?? []), (err: unknown) => flash.error(err));
  useEffect(() => { void load(); }, []);
  useEffect(() => () => { if (download) URL.revokeObjectURL(download.url); }, [download]);
  const create = async () => {
    try {
      const out = await ec2(session).send(new CreateKeyPairCommand({ KeyName: newName, KeyType: 'rsa', KeyFormat: 'pem' }));
      setDownload({ name: out.KeyName!, url: URL.createObjectURL(new Blob([out.KeyMaterial ?? ''], { type: 'application/x-pem-file' })) });
      await load();
      onChange(out.KeyName!);
      setCreating(false);
      setNewName('');
    } catch (err) {
      flash.error(err);
    }
  };
  const none = { value: '', label: 'Proceed without a key pair (Not recommended)' };
  return (
    <SpaceBetween size="s">
      <FormField label="Key pair name" secondaryControl={<Button onClick={() => setCreating(!creating)}>Create new key pair</Button>}>
        <Select ariaLabel="Key pair name" selectedOption={value ? { value, label: value } : none}
          options={[none, ...keys.map((k) => ({ value: k.KeyName!, label: k.KeyName!, description: k.KeyType }))]}
          onChange={(e) => onChange(e.detail.selectedOption.value ?? '')} />
      </FormField>
      {creating && (
        <FormField label="New key pair name" secondaryControl={<Button disabled={!newName} onClick={() => void create()}>Create key pair</Button>}>
          <Input value={newName} onChange={(e) => setNewName(e.detail.value)} ariaLabel="New key pair name" />
        </FormField>
      )}
      {download && (
        <Alert type="info" header={`Key pair ${download.name} created`}>
          The private key is shown only this once: <a href={download.url} download={`${download.name}.pem`}>download {download.name}.pem</a>.
        </Alert>
      )}
    </SpaceBetween>
  );
}
