/** Elastic Block Store: Volumes (delete, create snapshot) and Snapshots (delete), with sizes and states. */
import { useCallback, useState } from 'react';
import Box from '@cloudscape-design/components/box';
import Button from '@cloudscape-design/components/button';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import { CreateSnapshotCommand, DeleteSnapshotCommand, DeleteVolumeCommand, DescribeSnapshotsCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import type { Snapshot, Volume } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { State, tagValue, when } from './format';
import { ConfirmModal, ResourceTable } from './ResourceTable';

export function VolumesPage({ session }: PageProps) {
  const flash = useFlash();
  const [modal, setModal] = useState<'delete' | 'snapshot'>();
  const [description, setDescription] = useState('');
  const load = useCallback(async () => (await ec2(session).send(new DescribeVolumesCommand({}))).Volumes ?? [], [session]);
  return (
    <ResourceTable<Volume>
      title="Volumes" noun="volume" trackBy="VolumeId" load={load} busy={(v) => v.State === 'creating'}
      empty={<><b>No volumes</b><Box variant="p" color="inherit">Each instance's root volume is listed here; launch one from Instances.</Box></>}
      columns={[
        { id: 'name', header: 'Name', cell: (v) => tagValue(v.Tags, 'Name') ?? '-' },
        { id: 'id', header: 'Volume ID', cell: (v) => v.VolumeId, sortingField: 'VolumeId' },
        { id: 'type', header: 'Type', cell: (v) => v.VolumeType },
        { id: 'size', header: 'Size', cell: (v) => `${v.Size} GiB`, sortingField: 'Size' },
        { id: 'snap', header: 'Snapshot', cell: (v) => v.SnapshotId || '-' },
        { id: 'created', header: 'Created', cell: (v) => when(v.CreateTime), sortingField: 'CreateTime' },
        { id: 'az', header: 'Availability Zone', cell: (v) => v.AvailabilityZone },
        { id: 'state', header: 'Volume state', cell: (v) => <State state={v.State} /> },
        { id: 'attached', header: 'Attached resources', cell: (v) => v.Attachments?.map((a) => `${a.InstanceId} (${a.Device})`).join(', ') || '-' },
      ]}
      actions={(selected, reload) => (
        <>
          <Button disabled={!selected} onClick={() => setModal('snapshot')}>Create snapshot</Button>
          <Button disabled={!selected || selected.State !== 'available'} onClick={() => setModal('delete')}>Delete volume</Button>
          {modal === 'delete' && selected && (
            <ConfirmModal title={`Delete ${selected.VolumeId}?`} action="Delete" onClose={() => setModal(undefined)}
              onConfirm={async () => { await ec2(session).send(new DeleteVolumeCommand({ VolumeId: selected.VolumeId })); flash.success(`Deleted ${selected.VolumeId}.`); await reload(); }}>
              Its data is gone once deleted; its snapshots are kept.
            </ConfirmModal>
          )}
          {modal === 'snapshot' && selected && (
            <ConfirmModal title={`Create snapshot of ${selected.VolumeId}`} action="Create snapshot" onClose={() => setModal(undefined)}
              onConfirm={async () => {
                const out = await ec2(session).send(new CreateSnapshotCommand({ VolumeId: selected.VolumeId, Description: description || undefined }));
                flash.success(`Creating snapshot ${out.SnapshotId}.`);
              }}>
              <FormField label="Description - optional"><Input value={description} onChange={(e) => setDescription(e.detail.value)} /></FormField>
            </ConfirmModal>
          )}
        </>
      )}
    />
  );
}

const gib = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1024 ** 3).toFixed(2)} GiB`);

export function SnapshotsPage({ session }: PageProps) {
  const flash = useFlash();
  const [deleting, setDeleting] = useState(false);
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
      actions={(selected, reload) => (
        <>
          <Button disabled={!selected} onClick={() => setDeleting(true)}>Delete snapshot</Button>
          {deleting && selected && (
            <ConfirmModal title={`Delete ${selected.SnapshotId}?`} action="Delete" onClose={() => setDeleting(false)}
              onConfirm={async () => { await ec2(session).send(new DeleteSnapshotCommand({ SnapshotId: selected.SnapshotId })); flash.success(`Deleted ${selected.SnapshotId}.`); await reload(); }}>
              A snapshot that an AMI uses cannot be deleted until the AMI is deregistered.
            </ConfirmModal>
          )}
        </>
      )}
    />
  );
}
