/** The snapshot dialogs: Copy snapshot (to a region), Create image from snapshot (RegisterImage), Modify permissions. */
import { useEffect, useState } from 'react';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import { CopySnapshotCommand, DescribeSnapshotAttributeCommand, ModifySnapshotAttributeCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import type { CreateVolumePermission } from '@aws-sdk/client-ec2';
import { SharingFields } from './AmiModals';
import { permissionChanges } from './logic';
import type { ArchitectureValues, Snapshot, VolumeType } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { RegionSelect } from './RegionSelect';
import { ActionModal } from './ResourceTable';
import { SizeTypeZone } from './VolumeModals';

interface Props { session: Session; snapshot: Snapshot; onClose: (changed: boolean) => void }

export function CopySnapshotModal({ session, snapshot, onClose }: Props) {
  const [region, setRegion] = useState(session.region);
  const [description, setDescription] = useState(`Copy of ${snapshot.SnapshotId}`);
  const run = async () => {
    const out = await ec2(session, region).send(new CopySnapshotCommand({ SourceSnapshotId: snapshot.SnapshotId, SourceRegion: session.region, Description: description }));
    return `Copying ${snapshot.SnapshotId} to ${region} as ${out.SnapshotId}.`;
  };
  return (
    <ActionModal title="Copy snapshot" action="Copy snapshot" run={run} onClose={onClose}>
      <SpaceBetween size="m">
        <FormField label="Description"><Input value={description} onChange={(e) => setDescription(e.detail.value)} ariaLabel="Copy description" /></FormField>
        <FormField label="Destination Region"><RegionSelect session={session} value={region} onChange={setRegion} /></FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

export function ImageFromSnapshotModal({ session, snapshot, onClose }: Props) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [arch, setArch] = useState('x86_64');
  const [root, setRoot] = useState('/dev/xvda');
  const [v, setV] = useState({ size: String(snapshot.VolumeSize ?? 1), type: 'gp3' });
  const run = async () => {
    const out = await ec2(session).send(new RegisterImageCommand({
      Name: name, Description: description || undefined, Architecture: arch as ArchitectureValues, RootDeviceName: root, VirtualizationType: 'hvm',
      BlockDeviceMappings: [{ DeviceName: root, Ebs: { SnapshotId: snapshot.SnapshotId, VolumeSize: Number(v.size), VolumeType: v.type as VolumeType, DeleteOnTermination: true } }],
    }));
    return `Registered ${out.ImageId} from ${snapshot.SnapshotId}.`;
  };
  return (
    <ActionModal title="Create image from snapshot" action="Create image" run={run} onClose={onClose} disabled={!name}>
      <SpaceBetween size="m">
        <FormField label="Image name"><Input value={name} onChange={(e) => setName(e.detail.value)} ariaLabel="Image name" /></FormField>
        <FormField label="Description - optional"><Input value={description} onChange={(e) => setDescription(e.detail.value)} ariaLabel="Image description" /></FormField>
        <FormField label="Architecture">
          <Select ariaLabel="Architecture" selectedOption={{ value: arch, label: arch }} options={['x86_64', 'arm64'].map((a) => ({ value: a, label: a }))}
            onChange={(e) => setArch(e.detail.selectedOption.value ?? arch)} />
        </FormField>
        <FormField label="Root device name"><Input value={root} onChange={(e) => setRoot(e.detail.value)} ariaLabel="Root device name" /></FormField>
        <SizeTypeZone session={session} size={v.size} type={v.type} onChange={(p) => setV({ ...v, ...p } as typeof v)} />
      </SpaceBetween>
    </ActionModal>
  );
}

/** Snapshots > Actions > Modify permissions: who may create volumes from it (createVolumePermission): accounts, or everyone. */
export function SnapshotPermissionsModal({ session, snapshot, onClose }: Props) {
  const [current, setCurrent] = useState<CreateVolumePermission[]>();
  const [isPublic, setPublic] = useState(false);
  const [accounts, setAccounts] = useState<string[]>([]);
  useEffect(() => {
    ec2(session).send(new DescribeSnapshotAttributeCommand({ SnapshotId: snapshot.SnapshotId, Attribute: 'createVolumePermission' })).then((r) => {
      const perms = r.CreateVolumePermissions ?? [];
      setCurrent(perms);
      setPublic(perms.some((p) => p.Group === 'all'));
      setAccounts(perms.flatMap((p) => (p.UserId ? [p.UserId] : [])));
    }, () => setCurrent([]));
  }, []);
  const run = async () => {
    const change = permissionChanges(current ?? [], accounts, isPublic);
    if (!change) return;
    await ec2(session).send(new ModifySnapshotAttributeCommand({ SnapshotId: snapshot.SnapshotId, Attribute: 'createVolumePermission', CreateVolumePermission: change }));
    return `Permissions of ${snapshot.SnapshotId} saved.`;
  };
  return (
    <ActionModal title="Modify permissions" action="Save changes" run={run} onClose={onClose} disabled={!current}>
      <SpaceBetween size="l">
        <SharingFields what="Snapshot" can="create volumes from it" isPublic={isPublic} setPublic={setPublic} accounts={accounts} setAccounts={setAccounts} />
      </SpaceBetween>
    </ActionModal>
  );
}
