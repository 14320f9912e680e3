/** Launch an instance: one page with the settings on the left and a Summary panel with the Launch button on the right. */
import { useEffect, useState } from 'react';
import Alert from '@cloudscape-design/components/alert';
import Button from '@cloudscape-design/components/button';
import Container from '@cloudscape-design/components/container';
import FormField from '@cloudscape-design/components/form-field';
import Grid from '@cloudscape-design/components/grid';
import Header from '@cloudscape-design/components/header';
import Input from '@cloudscape-design/components/input';
import KeyValuePairs from '@cloudscape-design/components/key-value-pairs';
import Link from '@cloudscape-design/components/link';
import Select from '@cloudscape-design/components/select';
import SegmentedControl from '@cloudscape-design/components/segmented-control';
import SpaceBetween from '@cloudscape-design/components/space-between';
import Textarea from '@cloudscape-design/components/textarea';
import { DescribeImagesCommand, DescribeInstanceTypesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { Image, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { ec2 } from './api';
import type { PageProps } from './App';
import { useFlash } from './flash';
import { follow, navigate, useLocation } from './router';
import { KeyPairField } from './KeyPairField';
import { encodeUserData, rootOf } from './logic';
import { DEFAULT_ADVANCED, advancedParams, launchMappings, recentAmis } from './launch-logic';
import type { Advanced, ExtraVolume } from './launch-logic';
import { AdvancedFields, ExtraVolumes, VOLUME_TYPES } from './LaunchAdvanced';
import { NetworkField, SubnetField, firewallGroups, firewallLabel } from './NetworkField';
import type { Firewall } from './NetworkField';

export const typeLabel = (t: InstanceTypeInfo) => `${t.InstanceType} · ${t.VCpuInfo?.DefaultVCpus ?? '?'} vCPU · ${((t.MemoryInfo?.SizeInMiB ?? 0) / 1024).toFixed(t.MemoryInfo?.SizeInMiB && t.MemoryInfo.SizeInMiB < 1024 ? 1 : 0)} GiB memory`;

/** localStorage: the AMIs this browser launched last (the AMI picker's Recents). */
const RECENTS = 'kiln-console-recent-amis';

export function LaunchPage({ session }: PageProps) {
  const flash = useFlash();
  const preselected = useLocation().query.get('ami');
  const [name, setName] = useState('');
  const recents = recentAmis(localStorage.getItem(RECENTS));
  const [source, setSource] = useState<'recents' | 'quickstart' | 'mine'>(preselected ? 'mine' : recents.length ? 'recents' : 'quickstart');
  const [images, setImages] = useState<Image[]>([]);
  const [imageId, setImageId] = useState(preselected ?? '');
  const [types, setTypes] = useState<InstanceTypeInfo[]>([]);
  const [type, setType] = useState('t3.micro');
  const [keyName, setKeyName] = useState('');
  const [firewall, setFirewall] = useState<Firewall>({ mode: 'existing', groupId: '', name: '' });
  const [rootSize, setRootSize] = useState('');
  const [rootType, setRootType] = useState('');
  const [subnetId, setSubnetId] = useState('');
  const [extra, setExtra] = useState<ExtraVolume[]>([]);
  const [advanced, setAdvanced] = useState<Advanced>(DEFAULT_ADVANCED);
  const [userData, setUserData] = useState('');
  const [count, setCount] = useState('1');
  const [busy, setBusy] = useState(false);
  const [launched, setLaunched] = useState<string[]>();
  const client = ec2(session);
  useEffect(() => {
    const q = source === 'quickstart' ? { Owners: ['amazon'] } : source === 'recents' ? { Filters: [{ Name: 'image-id', Values: recents }] } : preselected ? { ImageIds: [preselected] } : { ExecutableUsers: ['self'] };
    client.send(new DescribeImagesCommand(q)).then(async (r) => {
      let list = (r.Images ?? []).slice().sort((a, b) => (source === 'recents' ? recents.indexOf(a.ImageId!) - recents.indexOf(b.ImageId!) : 0));
      if (source === 'mine' && !preselected) list = list.concat((await client.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []);
      list = [...new Map(list.filter((i) => i.State === 'available').map((i) => [i.ImageId, i])).values()];
      setImages(list);
      if (!list.some((i) => i.ImageId === imageId)) setImageId(list[0]?.ImageId ?? '');
    }, (err: unknown) => flash.error(err));
  }, [source]);
  useEffect(() => {
    client.send(new DescribeInstanceTypesCommand({})).then((r) => {
      const list = (r.InstanceTypes ?? []).sort((a, b) => (a.MemoryInfo?.SizeInMiB ?? 0) - (b.MemoryInfo?.SizeInMiB ?? 0));
      setTypes(list);
      if (!list.some((t) => t.InstanceType === 't3.micro') && list[0]) setType(list[0].InstanceType!);
    }, (err: unknown) => flash.error(err));
  }, []);
  const image = images.find((i) => i.ImageId === imageId);
  const n = Math.max(1, Number.parseInt(count, 10) || 1);
  const launch = async () => {
    setBusy(true);
    try {
      const out = await client.send(new RunInstancesCommand({
        ImageId: imageId, InstanceType: type as never, MinCount: n, MaxCount: n, KeyName: keyName || undefined,
        SecurityGroupIds: await firewallGroups(client, firewall), SubnetId: subnetId || undefined, UserData: encodeUserData(userData),
        BlockDeviceMappings: launchMappings(image, rootSize, rootType, extra), ...advancedParams(advanced),
        TagSpecifications: name ? [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: name }] }] : undefined,
      }));
      setLaunched((out.Instances ?? []).map((i) => i.InstanceId!));
      localStorage.setItem(RECENTS, JSON.stringify(recentAmis(localStorage.getItem(RECENTS), imageId)));
    } catch (err) {
      flash.error(err);
    } finally {
      setBusy(false);
    }
  };
  const opt = (value: string, label: string, description?: string) => ({ value, label, description });
  return (
    <SpaceBetween size="l">
      <Header variant="h1" description="Amazon EC2 allows you to create virtual machines, or instances, that run on the AWS Cloud.">Launch an instance</Header>
      {launched && (
        <Alert type="success" header="Success" data-testid="launched">
          Successfully initiated launch of {launched.map((id, k) => <span key={id}>{k ? ', ' : ''}<Link href="/instances" onFollow={follow}>{id}</Link></span>)}
        </Alert>
      )}
      <Grid gridDefinition={[{ colspan: { default: 12, m: 8 } }, { colspan: { default: 12, m: 4 } }]}>
        <SpaceBetween size="l">
          <Container header={<Header variant="h2">Name and tags</Header>}>
            <FormField label="Name"><Input value={name} onChange={(e) => setName(e.detail.value)} placeholder="e.g. My Web Server" ariaLabel="Name" /></FormField>
          </Container>
          <Container header={<Header variant="h2" description="An AMI is a template that contains the software configuration (operating system, application server, and applications) required to launch your instance.">Application and OS Images (Amazon Machine Image)</Header>}>
            <SpaceBetween size="m">
              <SegmentedControl selectedId={source} onChange={(e) => setSource(e.detail.selectedId as typeof source)}
                options={[...(recents.length ? [{ id: 'recents', text: 'Recents' }] : []), { id: 'quickstart', text: 'Quick Start' }, { id: 'mine', text: 'My AMIs' }]} label="AMI source" />
              <FormField label="Amazon Machine Image (AMI)">
                <Select ariaLabel="Amazon Machine Image (AMI)" filteringType="auto" empty="No available AMIs here."
                  selectedOption={image ? opt(image.ImageId!, image.Name ?? image.ImageId!, image.ImageId) : null}
                  options={images.map((i) => opt(i.ImageId!, i.Name ?? i.ImageId!, `${i.ImageId} · ${i.Architecture} · ${i.Description ?? ''}`))}
                  onChange={(e) => setImageId(e.detail.selectedOption.value ?? '')} />
              </FormField>
              <Link href="/catalog" onFollow={(e) => { e.preventDefault(); navigate('/catalog'); }}>Browse more AMIs</Link>
            </SpaceBetween>
          </Container>
          <Container header={<Header variant="h2">Instance type</Header>}>
            <FormField label="Instance type">
              <Select ariaLabel="Instance type" filteringType="auto"
                selectedOption={opt(type, types.find((t) => t.InstanceType === type) ? typeLabel(types.find((t) => t.InstanceType === type)!) : type)}
                options={types.map((t) => opt(t.InstanceType!, typeLabel(t)))} onChange={(e) => setType(e.detail.selectedOption.value ?? type)} />
            </FormField>
          </Container>
          <Container header={<Header variant="h2" description="You can use a key pair to securely connect to your instance.">Key pair (login)</Header>}>
            <KeyPairField session={session} value={keyName} onChange={setKeyName} />
          </Container>
          <Container header={<Header variant="h2">Network settings</Header>}>
            <SpaceBetween size="m">
              <SubnetField session={session} value={subnetId} onChange={setSubnetId} />
              <NetworkField session={session} value={firewall} onChange={setFirewall} />
            </SpaceBetween>
          </Container>
          <Container header={<Header variant="h2">Configure storage</Header>}>
            <SpaceBetween direction="horizontal" size="s">
              <FormField label={`Root volume (${image?.RootDeviceName ?? '/dev/xvda'}) size, GiB`}>
                <Input type="number" value={rootSize || String(rootOf(image)?.Ebs?.VolumeSize ?? '')} onChange={(e) => setRootSize(e.detail.value)} ariaLabel="Root volume size" />
              </FormField>
              <FormField label="Volume type">
                <Select ariaLabel="Root volume type" selectedOption={opt(rootType || rootOf(image)?.Ebs?.VolumeType || 'gp3', rootType || rootOf(image)?.Ebs?.VolumeType || 'gp3')}
                  options={VOLUME_TYPES.map((t) => opt(t, t))} onChange={(e) => setRootType(e.detail.selectedOption.value ?? '')} />
              </FormField>
            </SpaceBetween>
            <ExtraVolumes image={image} value={extra} onChange={setExtra} />
          </Container>
          <Container header={<Header variant="h2">Advanced details</Header>}>
            <SpaceBetween size="m">
            <AdvancedFields value={advanced} onChange={setAdvanced} />
            <FormField label="User data - optional" description="Enter user data in the field (a shell script or cloud-config). The console base64-encodes it.">
              <Textarea value={userData} onChange={(e) => setUserData(e.detail.value)} rows={6} ariaLabel="User data" />
            </FormField>
            </SpaceBetween>
          </Container>
        </SpaceBetween>
        <div style={{ position: 'sticky', top: 72 }}>
          <Container header={<Header variant="h2">Summary</Header>}>
            <SpaceBetween size="m">
              <FormField label="Number of instances">
                <Input type="number" value={count} onChange={(e) => setCount(e.detail.value)} ariaLabel="Number of instances" />
              </FormField>
              <KeyValuePairs items={[
                { label: 'Software Image (AMI)', value: image ? `${image.Name ?? ''} (${image.ImageId})` : '-' },
                { label: 'Instance type', value: type },
                { label: 'Key pair', value: keyName || 'Proceed without a key pair' },
                { label: 'Firewall (security group)', value: firewallLabel(firewall) },
                { label: 'Storage (volumes)', value: `${1 + extra.length} volume(s) - ${[rootSize || rootOf(image)?.Ebs?.VolumeSize || '?', ...extra.map((v) => v.size)].join(', ')} GiB` },
              ]} />
              <Button variant="primary" loading={busy} disabled={!imageId} onClick={() => void launch()} fullWidth>Launch instance</Button>
            </SpaceBetween>
          </Container>
        </div>
      </Grid>
    </SpaceBetween>
  );
}
