/**
 * Instances as the EC2 API shows them: DescribeInstances' instance and
 * reservation shapes, the status checks, state changes, and the filter tables,
 * in one place for every handler that answers with an instance.
 */
import type {
  Instance, InstanceBlockDeviceMapping, InstanceStateChange, InstanceStatus, Reservation,
} from '@aws-sdk/client-ec2';
import type { InstanceAttributesRecord } from '../../model/extra-records.js';
import type { InstanceRecord } from '../../model/records.js';
import { cpuTopology, isNitro } from '../../services/instances/instance-types.js';
import type { InstanceDetails, InstanceHealth, StateChange } from '../../services/instances/instances.js';
import { STATE_CODES } from '../../services/instances/instances.js';
import { defaultSecurityGroup, defaultVpc, macAddress, privateDnsName, zoneIdOf } from '../../services/network/network.js';
import type { FieldValue, FilterFields } from '../filters.js';
import { toSdkTags } from '../tags.js';
import { toSdkProductCodes } from './images.js';

/** The instance as EC2 describes it. */
export function toSdkInstance(d: InstanceDetails): Instance {
  const { inst, volumes: vols } = d;
  const live = inst.state !== 'terminated';
  return {
    InstanceId: inst.id, ImageId: inst.imageId, State: { Code: STATE_CODES[inst.state], Name: inst.state },
    PrivateDnsName: '', PublicDnsName: '', StateTransitionReason: inst.stateTransitionReason, KeyName: inst.keyName,
    AmiLaunchIndex: inst.amiLaunchIndex, ProductCodes: toSdkProductCodes(inst.productCodes), InstanceType: inst.instanceType as Instance['InstanceType'],
    LaunchTime: new Date(inst.launchTime), Placement: { AvailabilityZone: inst.availabilityZone, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' }, Architecture: inst.architecture as Instance['Architecture'], RootDeviceType: 'ebs',
    RootDeviceName: inst.rootDeviceName, VirtualizationType: 'hvm', Hypervisor: 'xen', ClientToken: inst.clientToken ?? '',
    EbsOptimized: false, EnaSupport: true, SourceDestCheck: true, Tags: inst.tags.length ? toSdkTags(inst.tags) : undefined,
    StateReason: inst.stateReason ? { Code: inst.stateReason.code, Message: inst.stateReason.message }
      : inst.state === 'pending' ? { Code: 'pending', Message: 'pending' } : undefined,
    BlockDeviceMappings: live ? vols.map((v) => ({
      DeviceName: v.attachment!.device,
      Ebs: { VolumeId: v.id, Status: 'attached', AttachTime: new Date(v.attachment!.attachTime), DeleteOnTermination: v.attachment!.deleteOnTermination },
    })) : [],
    PlatformDetails: 'Linux/UNIX', UsageOperation: 'RunInstances', UsageOperationUpdateTime: new Date(inst.firstLaunchTime ?? inst.launchTime),
    BootMode: inst.bootMode as Instance['BootMode'], CurrentInstanceBootMode: currentBootMode(inst), TpmSupport: inst.tpmSupport,
    Operator: { Managed: false }, NetworkPerformanceOptions: { BandwidthWeighting: 'default' },
    // Network (VPC, subnet, address, groups, interface) and attributes (CPU, metadata, protection ...).
    ...instanceExtras(d),
  };
}

/** The boot mode the instance runs in: UEFI when its image asks for it, or prefers it on a Nitro type; else legacy BIOS. */
function currentBootMode(inst: InstanceRecord): 'uefi' | 'legacy-bios' {
  return inst.bootMode === 'uefi' || (inst.bootMode === 'uefi-preferred' && isNitro(inst.instanceType)) ? 'uefi' : 'legacy-bios';
}

/**
 * The network and attribute fields of an instance as DescribeInstances shows
 * them. A terminated instance has left its subnet: no addresses, no interface.
 */
function instanceExtras(d: InstanceDetails): Partial<Instance> {
  const { inst, attrs: rec } = d;
  const { cores, threads } = cpuTopology(inst.instanceType);
  const common: Partial<Instance> = {
    CpuOptions: { CoreCount: cores, ThreadsPerCore: threads }, EbsOptimized: rec.ebsOptimized, EnaSupport: rec.enaSupport,
    SourceDestCheck: rec.sourceDestCheck, Monitoring: { State: rec.monitoring ? 'enabled' : 'disabled' },
    HibernationOptions: { Configured: rec.hibernation }, EnclaveOptions: { Enabled: false },
    MaintenanceOptions: { AutoRecovery: rec.autoRecovery, RebootMigration: 'default' },
    CapacityReservationSpecification: { CapacityReservationPreference: 'open' },
    MetadataOptions: {
      State: inst.state === 'pending' ? 'pending' : 'applied', HttpTokens: rec.metadataOptions.httpTokens, HttpPutResponseHopLimit: rec.metadataOptions.httpPutResponseHopLimit,
      HttpEndpoint: rec.metadataOptions.httpEndpoint, HttpProtocolIpv6: rec.metadataOptions.httpProtocolIpv6,
      InstanceMetadataTags: rec.metadataOptions.instanceMetadataTags,
    },
    PrivateDnsNameOptions: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
  };
  if (inst.state === 'terminated') return common;
  const owner = { account: inst.account, region: inst.region };
  const vpcId = defaultVpc(owner).vpcId;
  const dns = privateDnsName(inst.region, rec.privateIp);
  const groups = securityGroups(rec, d.groupNames);
  return {
    ...common, VpcId: vpcId, SubnetId: rec.subnetId, PrivateIpAddress: rec.privateIp, PrivateDnsName: dns, SecurityGroups: groups,
    NetworkInterfaces: [{
      NetworkInterfaceId: rec.networkInterfaceId, SubnetId: rec.subnetId, VpcId: vpcId, OwnerId: inst.account, Status: 'in-use',
      Description: '', MacAddress: macAddress(rec.networkInterfaceId), PrivateIpAddress: rec.privateIp, PrivateDnsName: dns,
      SourceDestCheck: rec.sourceDestCheck, Groups: groups, InterfaceType: 'interface', Ipv6Addresses: [],
      Attachment: {
        AttachmentId: rec.networkInterfaceId.replace(/^eni-/, 'eni-attach-'), DeviceIndex: 0, NetworkCardIndex: 0, Status: 'attached',
        AttachTime: new Date(inst.launchTime), DeleteOnTermination: true,
      },
      PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: rec.privateIp, PrivateDnsName: dns }],
    }],
  };
}

/** The instance's security groups as EC2 names them. */
export function securityGroups(rec: InstanceAttributesRecord, names: Record<string, string> = {}): Array<{ GroupId: string; GroupName: string }> {
  const sg = defaultSecurityGroup(rec);
  return rec.securityGroupIds.map((id) => ({ GroupId: id, GroupName: names[id] ?? (id === sg.groupId ? sg.groupName : id) }));
}

/**
 * The DescribeInstances filters read off the instances as DescribeInstances
 * shows them (`shown`), so a filter always agrees with the output.
 */
function shownFilters(shown: Map<string, Instance>): FilterFields<InstanceDetails> {
  const at = <T>(pick: (x: Instance) => T) => (d: InstanceDetails) => pick(shown.get(d.inst.id)!) as FieldValue;
  const ebs = <T>(pick: (m: InstanceBlockDeviceMapping) => T) => at((x) => (x.BlockDeviceMappings ?? []).map(pick));
  const none = () => undefined;
  return {
    'block-device-mapping.attach-time': ebs((m) => m.Ebs?.AttachTime?.toISOString()),
    'block-device-mapping.delete-on-termination': ebs((m) => m.Ebs?.DeleteOnTermination),
    'block-device-mapping.device-name': ebs((m) => m.DeviceName),
    'block-device-mapping.status': ebs((m) => m.Ebs?.Status),
    'block-device-mapping.volume-id': ebs((m) => m.Ebs?.VolumeId),
    'boot-mode': at((x) => x.BootMode),
    'current-instance-boot-mode': at((x) => x.CurrentInstanceBootMode),
    'tpm-support': at((x) => x.TpmSupport),
    'dns-name': at((x) => x.PublicDnsName),
    'ena-support': at((x) => x.EnaSupport),
    'enclave-options.enabled': at((x) => x.EnclaveOptions?.Enabled),
    'hibernation-options.configured': at((x) => x.HibernationOptions?.Configured),
    'maintenance-options.auto-recovery': at((x) => x.MaintenanceOptions?.AutoRecovery),
    'metadata-options.state': at((x) => x.MetadataOptions?.State),
    'metadata-options.http-protocol-ipv6': at((x) => x.MetadataOptions?.HttpProtocolIpv6),
    'network-performance-options.bandwidth-weighting': at((x) => x.NetworkPerformanceOptions?.BandwidthWeighting),
    'operator.managed': at((x) => x.Operator?.Managed),
    'operator.principal': at((x) => x.Operator?.Principal),
    'private-dns-name-options.hostname-type': at((x) => x.PrivateDnsNameOptions?.HostnameType),
    'private-dns-name-options.enable-resource-name-dns-a-record': at((x) => x.PrivateDnsNameOptions?.EnableResourceNameDnsARecord),
    'private-dns-name-options.enable-resource-name-dns-aaaa-record': at((x) => x.PrivateDnsNameOptions?.EnableResourceNameDnsAAAARecord),
    'usage-operation': at((x) => x.UsageOperation),
    'usage-operation-update-time': at((x) => x.UsageOperationUpdateTime?.toISOString()),
    'state-reason-code': at((x) => x.StateReason?.Code),
    'state-reason-message': at((x) => x.StateReason?.Message),
    'reason': at((x) => x.StateTransitionReason),
    'launch-index': at((x) => x.AmiLaunchIndex),
    'availability-zone-id': ({ inst: i }) => zoneIdOf(i.region, i.availabilityZone),
    // What Kiln's instances never have: Windows, spot, kernels, placement groups, dedicated hosts, instance profiles ...
    ...Object.fromEntries(['platform', 'instance-lifecycle', 'spot-instance-request-id', 'kernel-id', 'ramdisk-id', 'placement-group-name',
      'placement-partition-number', 'capacity-reservation-id', 'host-id', 'affinity', 'outpost-arn', 'iam-instance-profile.arn',
      'iam-instance-profile.id', 'requester-id'].map((name) => [name, none])),
  };
}

const RECORD_FILTERS: FilterFields<InstanceRecord> = {
  'architecture': (i) => i.architecture,
  'availability-zone': (i) => i.availabilityZone,
  'image-id': (i) => i.imageId,
  'instance-id': (i) => i.id,
  'instance-state-code': (i) => STATE_CODES[i.state],
  'instance-state-name': (i) => i.state,
  'instance-type': (i) => i.instanceType,
  'key-name': (i) => i.keyName,
  'product-code': (i) => i.productCodes?.map((p) => p.code),
  'product-code.type': (i) => i.productCodes?.map((p) => p.type),
  'launch-time': (i) => i.launchTime,
  'owner-id': (i) => i.account,
  'reservation-id': (i) => i.reservationId,
  'root-device-name': (i) => i.rootDeviceName,
  'root-device-type': () => 'ebs',
  'client-token': (i) => i.clientToken,
};

/**
 * DescribeInstances filters over the network and attribute fields, for the
 * instance's attributes record.
 */
const NETWORK_FILTERS: FilterFields<InstanceRecord & { attrs: InstanceAttributesRecord; groupNames: Record<string, string> }> = (() => {
  const recs = { get: (i: { attrs: InstanceAttributesRecord }) => i.attrs };
  const live = (i: InstanceRecord & { attrs: InstanceAttributesRecord; groupNames: Record<string, string> }) => (i.state === 'terminated' ? undefined : i.attrs);
  const vpc = (i: InstanceRecord) => defaultVpc({ account: i.account, region: i.region }).vpcId;
  return {
    'vpc-id': (i) => live(i) && vpc(i),
    'subnet-id': (i) => live(i)?.subnetId,
    'private-ip-address': (i) => live(i)?.privateIp,
    'network-interface.addresses.private-ip-address': (i) => live(i)?.privateIp,
    'private-dns-name': (i) => { const r = live(i); return r && privateDnsName(i.region, r.privateIp); },
    'network-interface.network-interface-id': (i) => live(i)?.networkInterfaceId,
    'network-interface.subnet-id': (i) => live(i)?.subnetId,
    'network-interface.vpc-id': (i) => live(i) && vpc(i),
    'instance.group-id': (i) => live(i)?.securityGroupIds,
    'group-id': (i) => live(i)?.securityGroupIds,
    'instance.group-name': (i) => live(i) && securityGroups(live(i)!, i.groupNames).map((g) => g.GroupName),
    'group-name': (i) => live(i) && securityGroups(live(i)!, i.groupNames).map((g) => g.GroupName),
    'metadata-options.http-tokens': (i) => recs.get(i)?.metadataOptions.httpTokens,
    'metadata-options.http-endpoint': (i) => recs.get(i)?.metadataOptions.httpEndpoint,
    'metadata-options.http-put-response-hop-limit': (i) => recs.get(i)?.metadataOptions.httpPutResponseHopLimit,
    'metadata-options.instance-metadata-tags': (i) => recs.get(i)?.metadataOptions.instanceMetadataTags,
    'monitoring-state': (i) => (recs.get(i)?.monitoring ? 'enabled' : 'disabled'),
    'source-dest-check': (i) => recs.get(i)?.sourceDestCheck,
    'ebs-optimized': (i) => recs.get(i)?.ebsOptimized,
    'tenancy': () => 'default',
    'hypervisor': () => 'xen',
    'virtualization-type': () => 'hvm',
    'platform-details': () => 'Linux/UNIX',
  };
})();

/** Every DescribeInstances filter, for these instances: what is read off the shown instance, the attributes and the record. */
export function instanceFilters(details: InstanceDetails[]): { fields: FilterFields<InstanceDetails>; shown: Map<string, Instance> } {
  const shown = new Map(details.map((d) => [d.inst.id, toSdkInstance(d)]));
  const onRecord = (f: FilterFields<InstanceRecord>) =>
    Object.fromEntries(Object.entries(f).map(([k, fn]) => [k, (d: InstanceDetails) => fn(d.inst)])) as FilterFields<InstanceDetails>;
  const onAttrs = Object.fromEntries(Object.entries(NETWORK_FILTERS).map(([k, fn]) =>
    [k, (d: InstanceDetails) => fn({ ...d.inst, attrs: d.attrs, groupNames: d.groupNames })])) as FilterFields<InstanceDetails>;
  return { fields: { ...shownFilters(shown), ...onAttrs, ...onRecord(RECORD_FILTERS) }, shown };
}

/** The instances grouped by reservation; `shown` holds instances already converted for the filters. */
export function reservations(details: InstanceDetails[], shown?: Map<string, Instance>): Reservation[] {
  const byId = new Map<string, Reservation>();
  for (const d of details) {
    const inst = d.inst;
    let r = byId.get(inst.reservationId);
    if (!r) {
      r = { ReservationId: inst.reservationId, OwnerId: inst.account, Groups: [], Instances: [] };
      byId.set(inst.reservationId, r);
    }
    r.Instances!.push(shown?.get(inst.id) ?? toSdkInstance(d));
  }
  return [...byId.values()];
}

/**
 * An instance's status checks, from the runtime: a running instance whose
 * container runs passes reachability; one whose container is gone is impaired.
 */
export function statusOf({ inst, runtime }: InstanceHealth): InstanceStatus {
  type Check = NonNullable<InstanceStatus['InstanceStatus']>;
  const check: Check = inst.state === 'pending' ? { Status: 'initializing', Details: [{ Name: 'reachability', Status: 'initializing' }] }
    : inst.state !== 'running' ? { Status: 'not-applicable' }
      : runtime === 'running' ? { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] }
        : { Status: 'impaired', Details: [{ Name: 'reachability', Status: 'failed', ImpairedSince: new Date() }] };
  return {
    InstanceId: inst.id, AvailabilityZone: inst.availabilityZone, InstanceState: { Code: STATE_CODES[inst.state], Name: inst.state },
    InstanceStatus: check, SystemStatus: check, AttachedEbsStatus: check,
  };
}

export const STATUS_FILTERS: FilterFields<InstanceHealth> = {
  'availability-zone': ({ inst: i }) => i.availabilityZone,
  'instance-state-code': ({ inst: i }) => STATE_CODES[i.state],
  'instance-state-name': ({ inst: i }) => i.state,
  'instance-status.status': (i) => statusOf(i).InstanceStatus!.Status,
  'system-status.status': (i) => statusOf(i).SystemStatus!.Status,
};

export function toChanges(changes: StateChange[]): InstanceStateChange[] {
  return changes.map((c) => ({
    InstanceId: c.instanceId,
    PreviousState: { Code: STATE_CODES[c.previous], Name: c.previous },
    CurrentState: { Code: STATE_CODES[c.current], Name: c.current },
  }));
}

