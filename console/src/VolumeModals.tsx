/** The volume dialogs: Create volume, Attach, Modify, Create snapshot. */
import { useEffect, useState } from 'react';
import FormField from '@cloudscape-design/components/form-field';
import Input from '@cloudscape-design/components/input';
import Select from '@cloudscape-design/components/select';
import SpaceBetween from '@cloudscape-design/components/space-between';
import {
  AttachVolumeCommand, CreateSnapshotCommand, CreateVolumeCommand, DescribeAvailabilityZonesCommand, DescribeInstancesCommand, DescribeVolumesCommand, ModifyVolumeCommand,
} from '@aws-sdk/client-ec2';
import type { Instance, Volume, VolumeType } from '@aws-sdk/client-ec2';
import type { Session } from './api';
import { ec2 } from './api';
import { ActionModal } from './ResourceTable';

export const VOLUME_TYPES = ['gp3', 'gp2', 'io1', 'io2', 'st1', 'sc1', 'standard'];
const opt = (v: string, description?: string) => ({ value: v, label: v, description });

interface Props { session: Session; onClose: (changed: boolean) => void }

/** Size and type (and, for a new volume, the zone) as the EBS forms ask them. */
export function SizeTypeZone({ session, size, type, zone, onChange }: {
  session: Session; size: string; type: string; zone?: string; onChange: (v: { size?: string; type?: string; zone?: string }) => void;
}) {
  const [zones, setZones] = useState<string[]>([]);
  useEffect(() => {
    if (zone === undefined) return;
    ec2(session).send(new DescribeAvailabilityZonesCommand({})).then((r) => {
      const names = (r.AvailabilityZones ?? []).map((z) => z.ZoneName!);
      setZones(names);
      if (!zone && names[0]) onChange({ zone: names[0] });
    }, () => undefined);
  }, []);
  return (
    <SpaceBetween size="m">
      <FormField label="Size (GiB)"><Input type="number" value={size} onChange={(e) => onChange({ size: e.detail.value })} ariaLabel="Size (GiB)" /></FormField>
      <FormField label="Volume type">
        <Select ariaLabel="Volume type" selectedOption={opt(type)} options={VOLUME_TYPES.map((t) => opt(t))} onChange={(e) => onChange({ type: e.detail.selectedOption.value })} />
      </FormField>
      {zone !== undefined && (
        <FormField label="Availability Zone">
          <Select ariaLabel="Availability Zone" selectedOption={zone ? opt(zone) : null} options={zones.map((z) => opt(z))} onChange={(e) => onChange({ zone: e.detail.selectedOption.value })} />
        </FormField>
      )}
    </SpaceBetween>
  );
}

/** Create volume, empty or from `snapshotId`. */
export function CreateVolumeModal({ session, onClose, snapshotId, minSize }: Props & { snapshotId?: string; minSize?: number }) {
  const [v, setV] = useState({ size: String(minSize ?? 1), type: 'gp3', zone: '' });
  const run = async () => {
    const out = await ec2(session).send(new CreateVolumeCommand({
      Size: Number(v.size), VolumeType: v.type as VolumeType, AvailabilityZone: v.zone, SnapshotId: snapshotId,
    }));
    return `Created volume ${out.VolumeId}${snapshotId ? ` from ${snapshotId}` : ''}.`;
  };
  return (
    <ActionModal title={snapshotId ? `Create volume from ${snapshotId}` : 'Create volume'} action="Create volume" run={run} onClose={onClose} disabled={!v.zone}>
      <SizeTypeZone session={session} size={v.size} type={v.type} zone={v.zone} onChange={(p) => setV({ ...v, ...p } as typeof v)} />
    </ActionModal>
  );
}

export function AttachVolumeModal({ session, volume, onClose }: Props & { volume: Volume }) {
  const [instances, setInstances] = useState<Instance[]>([]);
  const [instanceId, setInstanceId] = useState('');
  const [device, setDevice] = useState('/dev/sdf');
  useEffect(() => {
    ec2(session).send(new DescribeInstancesCommand({ Filters: [{ Name: 'availability-zone', Values: [volume.AvailabilityZone!] }] }))
      .then((r) => setInstances((r.Reservations ?? []).flatMap((x) => x.Instances ?? []).filter((i) => ['running', 'stopped'].includes(i.State?.Name ?? ''))), () => undefined);
  }, []);
  const run = async () => {
    await ec2(session).send(new AttachVolumeCommand({ VolumeId: volume.VolumeId, InstanceId: instanceId, Device: device }));
    return `Attaching ${volume.VolumeId} to ${instanceId} at ${device}.`;
  };
  return (
    <ActionModal title={`Attach ${volume.VolumeId}`} action="Attach volume" run={run} onClose={onClose} disabled={!instanceId || !device}>
      <SpaceBetween size="m">
        <FormField label="Instance" description={`Instances in ${volume.AvailabilityZone}`}>
          <Select ariaLabel="Instance" selectedOption={instanceId ? opt(instanceId) : null} empty="No instance in this zone."
            options={instances.map((i) => opt(i.InstanceId!, `${i.State?.Name} · ${i.Tags?.find((t) => t.Key === 'Name')?.Value ?? ''}`))}
            onChange={(e) => setInstanceId(e.detail.selectedOption.value ?? '')} />
        </FormField>
        <FormField label="Device name"><Input value={device} onChange={(e) => setDevice(e.detail.value)} ariaLabel="Device name" /></FormField>
      </SpaceBetween>
    </ActionModal>
  );
}

export function ModifyVolumeModal({ session, volume, onClose }: Props & { volume: Volume }) {
  const [v, setV] = useState({ size: String(volume.Size ?? 1), type: volume.VolumeType ?? 'gp3' });
  const run = async () => {
    await ec2(session).send(new ModifyVolumeCommand({ VolumeId: volume.VolumeId, Size: Number(v.size), VolumeType: v.type as VolumeType }));
    return `Modifying ${volume.VolumeId}.`;
  };
  return (
    <ActionModal title={`Modify ${volume.VolumeId}`} action="Modify" run={run} onClose={onClose}>
      <SizeTypeZone session={session} size={v.size} type={v.type} onChange={(p) => setV({ ...v, ...p } as typeof v)} />
    </ActionModal>
  );
}

/** Create snapshot: of the given volume (Volumes > Actions), or of one chosen here (Snapshots > Create snapshot). */
export function CreateSnapshotModal({ session, volume, onClose }: Props & { volume?: Volume }) {
  const [description, setDescription] = useState('');
  const [volumes, setVolumes] = useState<Volume[]>([]);
  const [volumeId, setVolumeId] = useState(volume?.VolumeId ?? '');
  useEffect(() => {
    if (volume) return;
    void ec2(session).send(new DescribeVolumesCommand({})).then((r) => {
      setVolumes(r.Volumes ?? []);
      setVolumeId((v) => v || r.Volumes?.[0]?.VolumeId || '');
    });
  }, []);
  const run = async () => {
    const out = await ec2(session).send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: description || undefined }));
    return `Creating snapshot ${out.SnapshotId} of ${volumeId}.`;
  };
  const label = (v: Volume) => ({ value: v.VolumeId!, label: v.VolumeId!, description: `${v.Size} GiB · ${v.State}${v.Attachments?.[0] ? ` · ${v.Attachments[0].InstanceId}` : ''}` });
  return (
    <ActionModal title={volume ? `Create snapshot of ${volume.VolumeId}` : 'Create snapshot'} action="Create snapshot" run={run} onClose={onClose} disabled={!volumeId}>
      <SpaceBetween size="m">
        {!volume && (
          <FormField label="Volume ID">
            <Select ariaLabel="Volume ID" empty="No volumes in this region." selectedOption={volumes.find((v) => v.VolumeId === volumeId) ? label(volumes.find((v) => v.VolumeId === volumeId)!) : null}
              options={volumes.map(label)} onChange={(e) => setVolumeId(e.detail.selectedOption.value ?? '')} />
          </FormField>
        )}
        <FormField label="Description - optional"><Input value={description} onChange={(e) => setDescription(e.detail.value)} ariaLabel="Snapshot description" /></FormField>
      </SpaceBetween>
    </ActionModal>
  );
}
