/** Network & Security > Key pairs: the table, Create key pair (the private key downloaded once), Import key pair, Delete. */
import { useCallback, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Modal from '@cloudscape-design/components/modal';
import RadioGroup from '@cloudscape-design/components/radio-group';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Box from '@cloudscape-design/components/box';
import FileUpload from '@cloudscape-design/components/file-upload';
import Textarea from '@cloudscape-design/components/textarea';
import { CreateKeyPairCommand, DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand } from '@aws-sdk/client-ec2';
import type { KeyPairInfo, KeyType } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { Session } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { when } from './format';
import { ActionModal, ConfirmModal, ResourceTable } from './ResourceTable';

/** A link that downloads `text` as `file` (a Blob URL: the private key never leaves the browser again). */
export function downloadUrl(text: string): string {
  return URL.createObjectURL(new Blob([text], { type: 'application/x-pem-file' }));
}

export function KeyPairsPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<'create' | 'import' | 'delete'>();
  const [made, setMade] = useState<{ name: string; url: string }>();
  const load = useCallback(async () => (await ec2(session).send(new DescribeKeyPairsCommand({}))).KeyPairs ?? [], [session]);
  return (
    <SpaceBetween size="l">
      {made && (
        <Alert type="success" dismissible onDismiss={() => setMade(undefined)} header={`Key pair ${made.name} created`}>
          Download the private key now, it is shown only once: <a href={made.url} download={`${made.name}.pem`}>{made.name}.pem</a>
        </Alert>
      )}
      <ResourceTable<KeyPairInfo>
        title="Key pairs" noun="key pair" trackBy="KeyName" load={load}
        empty={<><b>No key pairs</b><Box variant="p" color="inherit">Create one to log in to instances with SSH.</Box></>}
        columns={[
          { id: 'name', header: 'Name', cell: (k) => k.KeyName, sortingField: 'KeyName' },
          { id: 'type', header: 'Type', cell: (k) => k.KeyType, sortingField: 'KeyType' },
          { id: 'created', header: 'Created', cell: (k) => when(k.CreateTime), sortingField: 'CreateTime' },
          { id: 'fp', header: 'Fingerprint', cell: (k) => k.KeyFingerprint },
          { id: 'id', header: 'ID', cell: (k) => k.KeyPairId },
        ]}
        actions={(selected, reload) => (
          <>
            <Button disabled={!selected} onClick={() => setModal('delete')}>Delete</Button>
            <Button onClick={() => setModal('import')}>Import key pair</Button>
            <Button variant="primary" onClick={() => setModal('create')}>Create key pair</Button>
            {modal === 'import' && <ImportKeyPairModal session={session} onClose={(changed) => { setModal(undefined); if (changed) void reload(); }} />}
            {modal === 'delete' && selected && (
              <ConfirmModal title={`Delete ${selected.KeyName}?`} action="Delete" onClose={() => setModal(undefined)}
                onConfirm={async () => { await ec2(session).send(new DeleteKeyPairCommand({ KeyName: selected.KeyName })); flash.success(`Deleted key pair ${selected.KeyName}.`); await reload(); }}>
                Instances launched with this key keep it; new launches cannot use it.
              </ConfirmModal>
            )}
            {modal === 'create' && (
              <CreateKeyPairModal onClose={() => setModal(undefined)} onCreate={async (name, type) => {
                const out = await ec2(session).send(new CreateKeyPairCommand({ KeyName: name, KeyType: type, KeyFormat: 'pem' }));
                setMade({ name: out.KeyName!, url: downloadUrl(out.KeyMaterial ?? '') });
                await reload();
              }} />
            )}
          </>
        )}
      />
    </SpaceBetween>
  );
}

function CreateKeyPairModal({ onClose, onCreate }: { onClose: () => void; onCreate: (name: string, type: KeyType) => Promise<void> }) {
  const flash = useFlash();
  const [name, setName] = useState('');
  const [type, setType] = useState<KeyType>('rsa');
  return (
    <Modal visible header="Create key pair" onDismiss={onClose}
      footer={<Box float="right"><SpaceBetween direction="horizontal" size="xs">
        <Button variant="link" onClick={onClose}>Cancel</Button>
        <Button variant="primary" disabled={!name} onClick={() => onCreate(name, type).then(onClose, (e: unknown) => flash.error(e))}>Create key pair</Button>
      </SpaceBetween></Box>}>
      <SpaceBetween size="m">
        <FormField label="Name"><Input value={name} onChange={(e) => setName(e.detail.value)} ariaLabel="Key pair name" /></FormField>
        <FormField label="Key pair type">
          <RadioGroup value={type} onChange={(e) => setType(e.detail.value as KeyType)} items={[{ value: 'rsa', label: 'RSA' }, { value: 'ed25519', label: 'ED25519' }]} />
        </FormField>
      </SpaceBetween>
    </Modal>
  );
}

/** Import key pair: a name and a public key (OpenSSH, RFC 4716 or PEM), pasted or read from a chosen file. */
function ImportKeyPairModal({ session, onClose }: { session: Session; onClose: (changed: boolean) => void }) {
  const [name, setName] = useState('');
  const [material, setMaterial] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const choose = async (chosen: File[]) => {
    setFiles(chosen);
    if (chosen[0]) setMaterial((await chosen[0].text()).trim());
  };
  const run = async () => {
    const out = await ec2(session).send(new ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: new TextEncoder().encode(material) }));
    return `Imported key pair ${out.KeyName} (fingerprint ${out.KeyFingerprint}).`;
  };
  return (
    <ActionModal title="Import key pair" action="Import key pair" run={run} onClose={onClose} disabled={!name || !material.trim()}>
      <SpaceBetween size="m">
        <FormField label="Name"><Input value={name} onChange={(e) => setName(e.detail.value)} ariaLabel="Key pair name" /></FormField>
        <FormField label="Public key file" description="An OpenSSH public key (id_ed25519.pub, id_rsa.pub), or RFC 4716 / PEM.">
          <FileUpload value={files} onChange={(e) => void choose(e.detail.value)} i18nStrings={{ uploadButtonText: () => 'Browse' }} />
        </FormField>
        <FormField label="Public key contents">
          <Textarea value={material} onChange={(e) => setMaterial(e.detail.value)} ariaLabel="Public key contents" rows={4} placeholder="ssh-ed25519 AAAA... user@host" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}
