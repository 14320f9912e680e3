/** Elastic Block Store: Volumes (create, attach, detach, modify, snapshot, delete) and Snapshots (create volume, copy, create image, delete). */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import ButtonDropdown from '@cloudscape-design/components/button-dropdown';
import { DeleteSnapshotCommand, DeleteVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, DetachVolumeCommand } from '@aws-sdk/client-ec2';
import type { Snapshot, Volume } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { State, tagValue, when } from './format';
import { ConfirmModal, ResourceTable } from './ResourceTable';
import { AttachVolumeModal, CreateSnapshotModal, CreateVolumeModal, ModifyVolumeModal } from './VolumeModals';
import { CopySnapshotModal, ImageFromSnapshotModal, SnapshotPermissionsModal } from './SnapshotModals';

export function VolumesPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<string>();
  const load = useCallback(async () => (await ec2(session).send(new DescribeVolumesCommand({}))).Volumes ?? [], [session]);
  return (
    <ResourceTable<Volume>
      title="Volumes" noun="volume" trackBy="VolumeId" load={load}
      busy={(v) => v.State === 'creating' || v.State === 'deleting' || !!v.Attachments?.some((a) => a.State === 'attaching' || a.State === 'detaching')}
      empty={<><b>No volumes</b><Box variant="p" color="inherit">Create one, or launch an instance: its root volume is listed here.</Box></>}
      columns={[
        { id: 'name', header: 'Name', cell: (v) => tagValue(v.Tags, 'Name') ?? '-' },
        { id: 'id', header: 'Volume ID', cell: (v) => v.VolumeId, sortingField: 'VolumeId' },
        { id: 'type', header: 'Type', cell: (v) => v.VolumeType },
        { id: 'size', header: 'Size', cell: (v) => `${v.Size} GiB`, sortingField: 'Size' },
        { id: 'snap', header: 'Snapshot', cell: (v) => v.SnapshotId || '-' },
        { id: 'created', header: 'Created', cell: (v) => when(v.CreateTime), sortingField: 'CreateTime' },
        { id: 'az', header: 'Availability Zone', cell: (v) => v.AvailabilityZone },
        { id: 'state', header: 'Volume state', cell: (v) => <State state={v.State} /> },
        { id: 'attached', header: 'Attached resources', cell: (v) => v.Attachments?.map((a) => `${a.InstanceId} (${a.Device}): ${a.State}`).join(', ') || '-' },
      ]}
      actions={(selected, reload) => {
        const close = (changed: boolean) => { setModal(undefined); if (changed) void reload(); };
        const attached = !!selected?.Attachments?.length;
        return (
          <>
            <ButtonDropdown disabled={!selected} onItemClick={(e) => setModal(e.detail.id)} items={[
              { id: 'modify', text: 'Modify volume' },
              { id: 'snapshot', text: 'Create snapshot' },
              { id: 'attach', text: 'Attach volume', disabled: attached || selected?.State !== 'available' },
              { id: 'detach', text: 'Detach volume', disabled: !attached },
              { id: 'delete', text: 'Delete volume', disabled: selected?.State !== 'available' },
            ]}>Actions</ButtonDropdown>
            <Button variant="primary" onClick={() => setModal('create')}>Create volume</Button>
            {modal === 'create' && <CreateVolumeModal session={session} onClose={close} />}
            {modal === 'modify' && selected && <ModifyVolumeModal session={session} volume={selected} onClose={close} />}
            {modal === 'snapshot' && selected && <CreateSnapshotModal session={session} volume={selected} onClose={close} />}
            {modal === 'attach' && selected && <AttachVolumeModal session={session} volume={selected} onClose={close} />}
            {modal === 'detach' && selected && (
              <ConfirmModal title={`Detach ${selected.VolumeId}?`} action="Detach" onClose={() => close(true)}
                onConfirm={async () => { await ec2(session).send(new DetachVolumeCommand({ VolumeId: selected.VolumeId })); flash.success(`Detaching ${selected.VolumeId}.`); }}>
                Unmount it inside the instance first, or data not yet written may be lost.
              </ConfirmModal>
            )}
            {modal === 'delete' && selected && (
              <ConfirmModal title={`Delete ${selected.VolumeId}?`} action="Delete" onClose={() => close(true)}
                onConfirm={async () => { await ec2(session).send(new DeleteVolumeCommand({ VolumeId: selected.VolumeId })); flash.success(`Deleted ${selected.VolumeId}.`); }}>
                Its data is gone once deleted; its snapshots are kept.
              </ConfirmModal>
            )}
          </>
        );
      }}
    />
  );
}

const gib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1024 ** 3).toFixed(2)} GiB`);

export function SnapshotsPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<string>();
  const load = useCallback(async () => (await ec2(session).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? [], [session]);
  return (
    <ResourceTable<Snapshot>
      title="Snapshots" noun="snapshot" trackBy="SnapshotId" load={load} busy={(s) => s.State === 'pending'}
      empty={<><b>No snapshots</b><Box variant="p" color="inherit">Create one from a volume, or create an image from an instance: its volumes are snapshotted.</Box></>}
      columns={[
        { id: 'id', header: 'Snapshot ID', cell: (s) => s.SnapshotId, sortingField: 'SnapshotId' },
        { id: 'size', header: 'Volume size', cell: (s) => `${s.VolumeSize} GiB`, sortingField: 'VolumeSize' },
        { id: 'full', header: 'Full snapshot size', cell: (s) => gib(s.FullSnapshotSizeInBytes) },
        { id: 'desc', header: 'Description', cell: (s) => s.Description || '-' },
        { id: 'state', header: 'Snapshot status', cell: (s) => <State state={s.State} reason={s.Progress} /> },
        { id: 'started', header: 'Started', cell: (s) => when(s.StartTime), sortingField: 'StartTime' },
        { id: 'volume', header: 'Volume', cell: (s) => s.VolumeId || '-' },
      ]}
      actions={(selected, reload) => {
        const close = (changed: boolean) => { setModal(undefined); if (changed) void reload(); };
        return (
          <>
            <ButtonDropdown disabled={!selected || selected.State !== 'completed'} onItemClick={(e) => setModal(e.detail.id)} items={[
              { id: 'volume', text: 'Create volume from snapshot' },
              { id: 'image', text: 'Create image from snapshot' },
              { id: 'copy', text: 'Copy snapshot' },
              { id: 'permissions', text: 'Modify permissions' },
              { id: 'delete', text: 'Delete snapshot' },
            ]}>Actions</ButtonDropdown>
            <Button variant="primary" onClick={() => setModal('create')}>Create snapshot</Button>
            {modal === 'create' && <CreateSnapshotModal session={session} onClose={close} />}
            {modal === 'volume' && selected && <CreateVolumeModal session={session} snapshotId={selected.SnapshotId} minSize={selected.VolumeSize} onClose={close} />}
            {modal === 'image' && selected && <ImageFromSnapshotModal session={session} snapshot={selected} onClose={close} />}
            {modal === 'copy' && selected && <CopySnapshotModal session={session} snapshot={selected} onClose={close} />}
            {modal === 'permissions' && selected && <SnapshotPermissionsModal session={session} snapshot={selected} onClose={close} />}
            {modal === 'delete' && selected && (
              <ConfirmModal title={`Delete ${selected.SnapshotId}?`} action="Delete" onClose={() => close(true)}
                onConfirm={async () => { await ec2(session).send(new DeleteSnapshotCommand({ SnapshotId: selected.SnapshotId })); flash.success(`Deleted ${selected.SnapshotId}.`); }}>
                A snapshot that an AMI uses cannot be deleted until the AMI is deregistered.
              </ConfirmModal>
            )}
          </>
        );
      }}
    />
  );
}
