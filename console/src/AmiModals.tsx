/** The AMI actions' dialogs: Edit AMI permissions, Copy AMI, Manage tags, Deregister AMI. */
import { useEffect, useState } from 'react';
import AttributeEditor from '@cloudscape-design/components/attribute-editor';
import Box from '@cloudscape-design/components/box';
import Checkbox from '@cloudscape-design/components/checkbox';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import RadioGroup from '@cloudscape-design/components/radio-group';
import SpaceBetween from '@cloudscape-design/components/space-between';
import {
  CopyImageCommand, CreateTagsCommand, DeleteTagsCommand, DeregisterImageCommand, DescribeImageAttributeCommand,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import type { Image, LaunchPermission, Tag } from '@aws-sdk/client-ec2';
import { permissionChanges, tagChanges } from './logic';
import type { Tags } from './logic';
import type { Session } from './api';
import { ec2 } from './api';
import { RegionSelect } from './RegionSelect';
import { ActionModal } from './ResourceTable';
import { DeprecationModal, DisableModal, ProtectionModal } from './AmiLifecycleModals';

export type AmiAction = 'permissions' | 'copy' | 'tags' | 'deregister' | 'deprecation' | 'disable' | 'protection';

export interface Props { session: Session; image: Image; onClose: (changed: boolean) => void }

export function AmiModals({ action, ...props }: Props & { action: AmiAction }) {
  if (action === 'permissions') return <PermissionsModal {...props} />;
  if (action === 'copy') return <CopyModal {...props} />;
  if (action === 'tags') return <TagsModal {...props} />;
  if (action === 'deprecation') return <DeprecationModal {...props} />;
  if (action === 'disable') return <DisableModal {...props} />;
  if (action === 'protection') return <ProtectionModal {...props} />;
  return <DeregisterModal {...props} />;
}

function PermissionsModal({ session, image, onClose }: Props) {
  const [current, setCurrent] = useState<LaunchPermission[]>();
  const [isPublic, setPublic] = useState(!!image.Public);
  const [accounts, setAccounts] = useState<string[]>([]);
  const [orgs, setOrgs] = useState<string[]>([]);
  useEffect(() => {
    ec2(session).send(new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: 'launchPermission' })).then((r) => {
      const perms = r.LaunchPermissions ?? [];
      setCurrent(perms);
      setPublic(perms.some((p) => p.Group === 'all'));
      setAccounts(perms.flatMap((p) => (p.UserId ? [p.UserId] : [])));
      setOrgs(perms.flatMap((p) => p.OrganizationArn ?? p.OrganizationalUnitArn ?? []));
    }, () => setCurrent([]));
  }, []);
  const run = async () => {
    const LaunchPermission = permissionChanges(current ?? [], accounts, isPublic, orgs);
    if (!LaunchPermission) return;
    await ec2(session).send(new ModifyImageAttributeCommand({ ImageId: image.ImageId, LaunchPermission }));
    return `AMI permissions of ${image.ImageId} saved.`;
  };
  return (
    <ActionModal title="Edit AMI permissions" action="Save changes" run={run} onClose={onClose} disabled={!current}>
      <SpaceBetween size="l">
        <SharingFields what="AMI" can="launch it" isPublic={isPublic} setPublic={setPublic} accounts={accounts} setAccounts={setAccounts} />
        <FormField label="Shared organizations/OUs" description="Every account in the organization or organizational unit can launch this AMI.">
          <ListEditor items={orgs} onChange={setOrgs} add="Add organization/OU ARN" empty="Not shared with any organization or OU."
            label="Organization or OU ARN" placeholder="arn:aws:organizations::111122223333:organization/o-exampleorgid" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

/** Public or private, and the accounts it is shared with: Edit AMI permissions and a snapshot's Modify permissions. */
export function SharingFields({ what, can, isPublic, setPublic, accounts, setAccounts }: {
  what: string; can: string; isPublic: boolean; setPublic: (v: boolean) => void; accounts: string[]; setAccounts: (v: string[]) => void;
}) {
  return (
    <>
      <FormField label={`${what} availability`}>
        <RadioGroup value={isPublic ? 'public' : 'private'} onChange={(e) => setPublic(e.detail.value === 'public')}
          items={[{ value: 'public', label: 'Public', description: `Every account can ${can}.` },
            { value: 'private', label: 'Private', description: 'Only you and the accounts below.' }]} />
      </FormField>
      <FormField label="Shared accounts" description={`Accounts that can ${can}.`}>
        <ListEditor items={accounts} onChange={setAccounts} add="Add account ID" empty="Not shared with any account." label="AWS account ID" placeholder="111122223333" />
      </FormField>
    </>
  );
}

/** An editable list of strings (one input per row, Add and Remove). */
export function ListEditor({ items, onChange, add, empty, label, placeholder }: {
  items: string[]; onChange: (v: string[]) => void; add: string; empty: string; label: string; placeholder: string;
}) {
  return (
    <AttributeEditor
      items={items} addButtonText={add} removeButtonText="Remove" empty={empty}
      onAddButtonClick={() => onChange([...items, ''])}
      onRemoveButtonClick={(e) => onChange(items.filter((_, i) => i !== e.detail.itemIndex))}
      definition={[{
        label,
        control: (a, i) => <Input value={a} placeholder={placeholder} ariaLabel={label} onChange={(e) => onChange(items.map((x, j) => (j === i ? e.detail.value : x)))} />,
      }]}
    />
  );
}

function CopyModal({ session, image, onClose }: Props) {
  const [name, setName] = useState(`Copy of ${image.Name ?? image.ImageId}`);
  const [description, setDescription] = useState(image.Description ?? '');
  const [region, setRegion] = useState(session.region);
  const [copyTags, setCopyTags] = useState(true);
  // An encrypted source gives an encrypted copy whatever is asked (as on AWS); the box shows that and cannot be cleared.
  const sourceEncrypted = (image.BlockDeviceMappings ?? []).some((b) => b.Ebs?.Encrypted);
  const [encrypt, setEncrypt] = useState(sourceEncrypted);
  const [kmsKey, setKmsKey] = useState('');
  const run = async () => {
    const out = await ec2(session, region).send(new CopyImageCommand({
      SourceImageId: image.ImageId, SourceRegion: session.region, Name: name, Description: description || undefined, CopyImageTags: copyTags,
      ...(encrypt ? { Encrypted: true, KmsKeyId: kmsKey.trim() || undefined } : {}),
    }));
    return `Copying ${image.ImageId} to ${region} as ${out.ImageId}.`;
  };
  return (
    <ActionModal title="Copy AMI" action="Copy AMI" run={run} onClose={onClose} disabled={!name}>
      <SpaceBetween size="m">
        <FormField label="AMI copy name"><Input value={name} onChange={(e) => setName(e.detail.value)} /></FormField>
        <FormField label="AMI copy description"><Input value={description} onChange={(e) => setDescription(e.detail.value)} /></FormField>
        <FormField label="Destination Region"><RegionSelect session={session} value={region} onChange={setRegion} /></FormField>
        <Checkbox checked={copyTags} onChange={(e) => setCopyTags(e.detail.checked)}>Copy tags</Checkbox>
        <Checkbox checked={encrypt} disabled={sourceEncrypted} onChange={(e) => setEncrypt(e.detail.checked)}
          description={sourceEncrypted ? 'The source AMI has encrypted snapshots: its copy is encrypted too.' : undefined}>Encrypt EBS snapshots of AMI copy</Checkbox>
        {encrypt && (
          <FormField label="KMS key" description="A key ID, alias or ARN; empty for the default key (alias/aws/ebs).">
            <Input value={kmsKey} onChange={(e) => setKmsKey(e.detail.value)} placeholder="(default) aws/ebs" ariaLabel="KMS key" />
          </FormField>
        )}
      </SpaceBetween>
    </ActionModal>
  );
}

function TagsModal({ session, image, onClose }: Props) {
  return <ManageTagsModal session={session} resourceId={image.ImageId!} tags={image.Tags} onClose={onClose} />;
}

/** Manage tags of any taggable resource: DeleteTags for the keys gone, CreateTags for the rest. */
export function ManageTagsModal({ session, resourceId, tags: before = [], onClose }: {
  session: Session; resourceId: string; tags: Tag[] | undefined; onClose: (changed: boolean) => void;
}) {
  const [tags, setTags] = useState(before.map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' })));
  const run = async () => {
    const { remove, set } = tagChanges(before, tags);
    const client = ec2(session);
    if (remove.length) await client.send(new DeleteTagsCommand({ Resources: [resourceId], Tags: remove }));
    if (set.length) await client.send(new CreateTagsCommand({ Resources: [resourceId], Tags: set }));
    return `Tags of ${resourceId} saved.`;
  };
  return (
    <ActionModal title="Manage tags" action="Save" run={run} onClose={onClose}>
      <TagsEditor tags={tags} onChange={setTags} />
    </ActionModal>
  );
}

export function TagsEditor({ tags, onChange }: { tags: Tags; onChange: (t: Tags) => void }) {
  const set = (i: number, patch: Partial<{ key: string; value: string }>) => onChange(tags.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  return (
    <AttributeEditor
      items={tags}
      addButtonText="Add new tag"
      removeButtonText="Remove"
      empty="No tags."
      onAddButtonClick={() => onChange([...tags, { key: '', value: '' }])}
      onRemoveButtonClick={(e) => onChange(tags.filter((_, i) => i !== e.detail.itemIndex))}
      definition={[
        { label: 'Key', control: (t, i) => <Input value={t.key} ariaLabel="Tag key" onChange={(e) => set(i, { key: e.detail.value })} /> },
        { label: 'Value', control: (t, i) => <Input value={t.value} ariaLabel="Tag value" onChange={(e) => set(i, { value: e.detail.value })} /> },
      ]}
    />
  );
}

function DeregisterModal({ session, image, onClose }: Props) {
  const [withSnapshots, setWithSnapshots] = useState(false);
  const [typed, setTyped] = useState('');
  const run = async () => {
    await ec2(session).send(new DeregisterImageCommand({ ImageId: image.ImageId, DeleteAssociatedSnapshots: withSnapshots }));
    return `Deregistered ${image.ImageId}${withSnapshots ? ' and deleted its snapshots' : ''}.`;
  };
  return (
    <ActionModal title="Deregister AMI" action="Deregister AMI" run={run} onClose={onClose} disabled={typed !== 'delete'}>
      <SpaceBetween size="m">
        <Box>Deregister <b>{image.Name}</b> ({image.ImageId})? Instances launched from it keep running; no new ones can be launched.</Box>
        <Checkbox checked={withSnapshots} onChange={(e) => setWithSnapshots(e.detail.checked)}
          description="Snapshots that another AMI still uses are kept.">Delete associated snapshots</Checkbox>
        <FormField label={<span>To confirm, type <i>delete</i> in the field.</span>}>
          <Input value={typed} onChange={(e) => setTyped(e.detail.value)} placeholder="delete" ariaLabel="Confirm deregistration" />
        </FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

