/** Instances > Actions > Image and templates > Create image, laid out as the AWS console does. */
import { useEffect, useState } from 'react';
import Button from '@cloudscape-design/components/button';
import Checkbox from '@cloudscape-design/components/checkbox';
import Container from '@cloudscape-design/components/container';
import Form from '@cloudscape-design/components/form';
import FormField from '@cloudscape-design/components/form-field';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import RadioGroup from '@cloudscape-design/components/radio-group';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Table from '@cloudscape-design/components/table';
import Textarea from '@cloudscape-design/components/textarea';
import { CreateImageCommand, DescribeInstancesCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import type { Instance, Volume } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { navigate, useLocation } from './router';
import { TagsEditor } from './AmiModals';
import { imageTagSpecs } from './logic';
import type { Tags } from './logic';

export function CreateImagePage({ session }: PageProps) {
  const flash = useFlash();
  const instanceId = useLocation().query.get('instance') ?? '';
  const [instance, setInstance] = useState<Instance>();
  const [volumes, setVolumes] = useState<Volume[]>([]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [noReboot, setNoReboot] = useState(false);
  const [together, setTogether] = useState(true);
  const [tags, setTags] = useState<Tags>([]);
  const [snapTags, setSnapTags] = useState<Tags>([]);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const client = ec2(session);
    client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })).then(async (r) => {
      const inst = r.Reservations?.[0]?.Instances?.[0];
      setInstance(inst);
      const ids = (inst?.BlockDeviceMappings ?? []).flatMap((b) => (b.Ebs?.VolumeId ? [b.Ebs.VolumeId] : []));
      if (ids.length) setVolumes((await client.send(new DescribeVolumesCommand({ VolumeIds: ids }))).Volumes ?? []);
    }).catch((err: unknown) => flash.error(err));
  }, [instanceId]);
  const create = async () => {
    setBusy(true);
    try {
      const out = await ec2(session).send(new CreateImageCommand({
        InstanceId: instanceId, Name: name, Description: description || undefined, NoReboot: noReboot,
        TagSpecifications: imageTagSpecs(together, tags, snapTags),
      }));
      flash.success(`Currently creating AMI ${out.ImageId} from instance ${instanceId}. Check that the AMI status is 'Available' before deleting the instance.`);
      navigate('/amis');
    } catch (err) {
      flash.error(err);
      setBusy(false);
    }
  };
  const deviceOf = (v: Volume) => instance?.BlockDeviceMappings?.find((b) => b.Ebs?.VolumeId === v.VolumeId);
  return (
    <form onSubmit={(e) => e.preventDefault()}>
      <Form
        header={<Header variant="h1" description="An image (also referred to as AMI) defines the programs and settings that are applied when you launch an EC2 instance. You can create an image from the configuration of an existing instance.">Create image</Header>}
        actions={<SpaceBetween direction="horizontal" size="xs">
          <Button variant="link" onClick={() => navigate('/instances')}>Cancel</Button>
          <Button variant="primary" loading={busy} disabled={!name.trim()} onClick={() => void create()}>Create image</Button>
        </SpaceBetween>}
      >
        <SpaceBetween size="l">
          <Container header={<Header variant="h2">Image details</Header>}>
            <SpaceBetween size="m">
              <FormField label="Instance ID"><Input value={instanceId} readOnly ariaLabel="Instance ID" /></FormField>
              <FormField label="Image name" constraintText="Maximum 127 characters. Can't be modified after creation.">
                <Input value={name} onChange={(e) => setName(e.detail.value)} ariaLabel="Image name" />
              </FormField>
              <FormField label="Image description - optional" constraintText="Maximum 255 characters">
                <Textarea value={description} onChange={(e) => setDescription(e.detail.value)} ariaLabel="Image description" rows={2} />
              </FormField>
              <FormField label="Reboot instance" description="When selected, Amazon EC2 doesn't reboot the instance before it creates the image; the file system's integrity is then not guaranteed.">
                <Checkbox checked={noReboot} onChange={(e) => setNoReboot(e.detail.checked)}>No reboot: Enable</Checkbox>
              </FormField>
            </SpaceBetween>
          </Container>
          <Table
            header={<Header variant="h2">Instance volumes</Header>}
            items={volumes}
            loading={!instance}
            columnDefinitions={[
              { id: 'type', header: 'Storage type', cell: () => 'EBS' },
              { id: 'dev', header: 'Device', cell: (v) => deviceOf(v)?.DeviceName ?? '-' },
              { id: 'snap', header: 'Snapshot', cell: () => 'Create new snapshot from volume' },
              { id: 'size', header: 'Size (GiB)', cell: (v) => v.Size },
              { id: 'vtype', header: 'Volume type', cell: (v) => v.VolumeType },
              { id: 'dot', header: 'Delete on termination', cell: (v) => (deviceOf(v)?.Ebs?.DeleteOnTermination ? 'Enable' : 'Disable') },
              { id: 'enc', header: 'Encrypted', cell: (v) => (v.Encrypted ? 'Encrypted' : 'Not encrypted') },
            ]}
          />
          <Container header={<Header variant="h2" description="A tag is a label that you assign to an AWS resource.">Tags - optional</Header>}>
            <SpaceBetween size="m">
              <RadioGroup value={together ? 'together' : 'separately'} onChange={(e) => setTogether(e.detail.value === 'together')} items={[
                { value: 'together', label: 'Tag image and snapshots together', description: 'Tag the image and the snapshots with the same tag.' },
                { value: 'separately', label: 'Tag image and snapshots separately', description: 'Tag the image and the snapshots with different tags.' },
              ]} />
              {!together && <Header variant="h3">Image tags</Header>}
              <TagsEditor tags={tags} onChange={setTags} />
              {!together && <><Header variant="h3">Snapshot tags</Header><TagsEditor tags={snapTags} onChange={setSnapTags} /></>}
            </SpaceBetween>
          </Container>
        </SpaceBetween>
      </Form>
    </form>
  );
}
