/**
 * The instance calls around RunInstances/DescribeInstances that tools make
 * (the Terraform AWS provider reads most of them on every refresh): instance
 * types, instance attributes, CPU credits, metadata and maintenance options,
 * account attributes, UEFI data. Also the network and attribute fields of an
 * instance as DescribeInstances shows them (sdkInstanceExtras).
 */
import type {
  AccountAttribute, DescribeAccountAttributesRequest, DescribeAccountAttributesResult, DescribeInstanceAttributeRequest,
  DescribeInstanceCreditSpecificationsRequest, DescribeInstanceCreditSpecificationsResult, DescribeInstanceTypeOfferingsRequest,
  DescribeInstanceTypeOfferingsResult, DescribeInstanceTypesRequest, DescribeInstanceTypesResult, GetInstanceMetadataDefaultsRequest,
  GetInstanceMetadataDefaultsResult, GetInstanceUefiDataRequest,
  GetInstanceUefiDataResult, Instance, InstanceAttribute, InstanceCreditSpecification, InstanceTypeInfo, InstanceTypeOffering,
  ModifyInstanceAttributeRequest, ModifyInstanceCreditSpecificationRequest, ModifyInstanceCreditSpecificationResult,
  ModifyInstanceMaintenanceOptionsRequest, ModifyInstanceMaintenanceOptionsResult, ModifyInstanceMetadataOptionsRequest,
  ModifyInstanceMetadataOptionsResult, RunInstancesRequest, UnsuccessfulInstanceCreditSpecificationItem,
} from '@aws-sdk/client-ec2';
import { availabilityZones } from '../../services/context.js';
import type { Caller, Context } from '../../services/context.js';
import type { AttributeChange, InstanceAttributesRecord, PreparedLaunch } from '../../services/instance-attributes.js';
import { ensureAttributes, modifyAttribute, prepareLaunch, setAutoRecovery, setCpuCredits, setMetadataOptions } from '../../services/instance-attributes.js';
import { architecturesOf, DEFAULT_INSTANCE_TYPE, INSTANCE_TYPES } from '../../services/instance-types.js';
import type { InstanceTypeInfo as KilnType } from '../../services/instance-types.js';
import { visibleInstances } from '../../services/instances.js';
import type { InstanceRecord } from '../../services/model.js';
import { defaultSecurityGroup, defaultVpc, macAddress, privateDnsName, zoneId } from '../../services/network.js';
import { ApiError, toApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { toSdkProductCodes } from './images.js';

// ---- instance types -------------------------------------------------------

/** Facts AWS publishes per family that the Kiln table (vCPUs, memory) does not carry. */
interface Family { nitro: boolean; current: boolean; threads: number; network: string }
const FAMILIES: Record<string, Family> = {
  m1: { nitro: false, current: false, threads: 1, network: 'Low' },
  t2: { nitro: false, current: true, threads: 1, network: 'Low to Moderate' },
  t3: { nitro: true, current: true, threads: 2, network: 'Up to 5 Gigabit' },
  m5: { nitro: true, current: true, threads: 2, network: 'Up to 10 Gigabit' },
};
const FREE_TIER = new Set(['t2.micro', 't3.micro']);

function familyOf(name: string): Family {
  return FAMILIES[name.split('.')[0]!] ?? { nitro: true, current: true, threads: 2, network: 'Moderate' };
}

/** Cores and threads as AWS sizes them (a 1-vCPU type has one core of one thread). */
export function cpuTopology(name: string): { cores: number; threads: number } {
  const vcpus = INSTANCE_TYPES[name]?.vcpus ?? 1;
  const threads = vcpus > 1 ? familyOf(name).threads : 1;
  return { cores: vcpus / threads, threads };
}

function toSdkType(name: string, t: KilnType): InstanceTypeInfo {
  const f = familyOf(name);
  const { cores, threads } = cpuTopology(name);
  const archs = architecturesOf(name);
  return {
    InstanceType: name as InstanceTypeInfo['InstanceType'], CurrentGeneration: f.current, FreeTierEligible: FREE_TIER.has(name),
    SupportedUsageClasses: ['on-demand', 'spot'], SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: f.nitro ? ['hvm'] : ['hvm', 'paravirtual'], BareMetal: false, Hypervisor: f.nitro ? 'nitro' : 'xen',
    ProcessorInfo: { SupportedArchitectures: archs, SustainedClockSpeedInGhz: f.nitro ? 3.1 : 2.5, Manufacturer: 'Intel' },
    VCpuInfo: {
      DefaultVCpus: t.vcpus, DefaultCores: cores, DefaultThreadsPerCore: threads,
      ValidCores: f.nitro ? Array.from({ length: cores }, (_, i) => i + 1) : undefined, ValidThreadsPerCore: f.nitro ? [1, threads] : undefined,
    },
    MemoryInfo: { SizeInMiB: t.memoryMiB },
    InstanceStorageSupported: false,
    EbsInfo: { EbsOptimizedSupport: f.nitro ? 'default' : 'unsupported', EncryptionSupport: 'supported', NvmeSupport: f.nitro ? 'required' : 'unsupported' },
    NetworkInfo: {
      NetworkPerformance: f.network, MaximumNetworkInterfaces: t.vcpus > 2 ? 4 : 2, MaximumNetworkCards: 1, DefaultNetworkCardIndex: 0,
      NetworkCards: [{ NetworkCardIndex: 0, NetworkPerformance: f.network, MaximumNetworkInterfaces: t.vcpus > 2 ? 4 : 2 }],
      Ipv4AddressesPerInterface: t.vcpus > 2 ? 15 : 6, Ipv6AddressesPerInterface: t.vcpus > 2 ? 15 : 6, Ipv6Supported: true,
      EnaSupport: f.nitro ? 'required' : 'unsupported', EfaSupported: false, EncryptionInTransitSupported: false, EnaSrdSupported: false,
    },
    PlacementGroupInfo: { SupportedStrategies: ['partition', 'spread'] },
    HibernationSupported: true, BurstablePerformanceSupported: t.burstable, DedicatedHostsSupported: !t.burstable,
    AutoRecoverySupported: true, SupportedBootModes: f.nitro ? ['legacy-bios', 'uefi'] : ['legacy-bios'],
    NitroEnclavesSupport: 'unsupported', NitroTpmSupport: f.nitro ? 'supported' : 'unsupported',
    PhcSupport: 'unsupported', SupportedInRegion: true,
  };
}

const TYPE_FILTERS: FilterFields<InstanceTypeInfo> = {
  'instance-type': (t) => t.InstanceType,
  'auto-recovery-supported': (t) => t.AutoRecoverySupported,
  'bare-metal': (t) => t.BareMetal,
  'burstable-performance-supported': (t) => t.BurstablePerformanceSupported,
  'current-generation': (t) => t.CurrentGeneration,
  'dedicated-hosts-supported': (t) => t.DedicatedHostsSupported,
  'ebs-info.ebs-optimized-support': (t) => t.EbsInfo?.EbsOptimizedSupport,
  'ebs-info.encryption-support': (t) => t.EbsInfo?.EncryptionSupport,
  'ebs-info.nvme-support': (t) => t.EbsInfo?.NvmeSupport,
  'free-tier-eligible': (t) => t.FreeTierEligible,
  'hibernation-supported': (t) => t.HibernationSupported,
  'hypervisor': (t) => t.Hypervisor,
  'instance-storage-supported': (t) => t.InstanceStorageSupported,
  'memory-info.size-in-mib': (t) => t.MemoryInfo?.SizeInMiB,
  'network-info.ena-support': (t) => t.NetworkInfo?.EnaSupport,
  'network-info.ipv6-supported': (t) => t.NetworkInfo?.Ipv6Supported,
  'network-info.maximum-network-interfaces': (t) => t.NetworkInfo?.MaximumNetworkInterfaces,
  'network-info.network-performance': (t) => t.NetworkInfo?.NetworkPerformance,
  'processor-info.supported-architecture': (t) => t.ProcessorInfo?.SupportedArchitectures,
  'processor-info.sustained-clock-speed-in-ghz': (t) => t.ProcessorInfo?.SustainedClockSpeedInGhz,
  'supported-boot-mode': (t) => t.SupportedBootModes,
  'supported-root-device-type': (t) => t.SupportedRootDeviceTypes,
  'supported-usage-class': (t) => t.SupportedUsageClasses,
  'supported-virtualization-type': (t) => t.SupportedVirtualizationTypes,
  'vcpu-info.default-cores': (t) => t.VCpuInfo?.DefaultCores,
  'vcpu-info.default-threads-per-core': (t) => t.VCpuInfo?.DefaultThreadsPerCore,
  'vcpu-info.default-vcpus': (t) => t.VCpuInfo?.DefaultVCpus,
  'vcpu-info.valid-cores': (t) => t.VCpuInfo?.ValidCores,
  'vcpu-info.valid-threads-per-core': (t) => t.VCpuInfo?.ValidThreadsPerCore,
};

export const describeInstanceTypes: Handler<DescribeInstanceTypesRequest, DescribeInstanceTypesResult> = async (_ctx, _caller, input) => {
  const names = input.InstanceTypes?.length ? input.InstanceTypes : Object.keys(INSTANCE_TYPES);
  const unknown = names.filter((n) => !INSTANCE_TYPES[n]);
  if (unknown.length) throw new ApiError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
  const types = applyFilters(names.map((n) => toSdkType(n, INSTANCE_TYPES[n]!)), input.Filters, TYPE_FILTERS);
  const page = paginate(types, 'instance-types', input.MaxResults, input.NextToken, { min: 5, max: 100 });
  return { InstanceTypes: page.items, NextToken: page.nextToken };
};

const OFFERING_FILTERS: FilterFields<InstanceTypeOffering> = {
  'instance-type': (o) => o.InstanceType,
  'location': (o) => o.Location,
};

/** Every Kiln type is offered in every region and zone it serves. */
export const describeInstanceTypeOfferings: Handler<DescribeInstanceTypeOfferingsRequest, DescribeInstanceTypeOfferingsResult> = async (_ctx, caller, input) => {
  const kind = input.LocationType ?? 'region';
  let locations: string[];
  if (kind === 'region') locations = [caller.region];
  else if (kind === 'availability-zone') locations = availabilityZones(caller.region);
  else if (kind === 'availability-zone-id') locations = availabilityZones(caller.region).map((_, i) => zoneId(caller.region, i));
  else throw new ApiError('InvalidParameterValue', `Value (${kind}) for parameter locationType is invalid.`);
  const offerings = locations.flatMap((Location) => Object.keys(INSTANCE_TYPES).map((t) => ({
    InstanceType: t as InstanceTypeOffering['InstanceType'], LocationType: kind, Location,
  })));
  const page = paginate(applyFilters(offerings, input.Filters, OFFERING_FILTERS), 'instance-type-offerings', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { InstanceTypeOfferings: page.items, NextToken: page.nextToken };
};

// ---- RunInstances and DescribeInstances fields ------------------------------

/**
 * Validates the network and attribute parts of a RunInstances request before
 * anything launches; recordLaunch(ctx, instances, result) keeps them.
 * A primary interface (NetworkInterface.1, device 0) may name a subnet,
 * groups and an address; other interfaces are not supported.
 */
export async function prepareRun(ctx: Context, caller: Caller, input: RunInstancesRequest): Promise<PreparedLaunch> {
  const nics = input.NetworkInterfaces ?? [];
  const primary = nics[0];
  if (nics.length > 1 || (primary && ((primary.DeviceIndex ?? 0) !== 0 || primary.NetworkInterfaceId))) {
    throw new ApiError('UnsupportedOperation', 'Kiln instances have exactly one network interface, made at launch');
  }
  if (primary && (input.SubnetId || input.SecurityGroupIds?.length || input.PrivateIpAddress)) {
    throw new ApiError('InvalidParameterCombination', 'Network interfaces and an instance-level subnet, security groups or private IP cannot be specified together');
  }
  const m = input.MetadataOptions;
  return prepareLaunch(ctx, caller, input.InstanceType ?? DEFAULT_INSTANCE_TYPE, {
    clientToken: input.ClientToken, subnetId: primary?.SubnetId ?? input.SubnetId, availabilityZone: input.Placement?.AvailabilityZone,
    privateIp: primary?.PrivateIpAddress ?? input.PrivateIpAddress, securityGroupIds: primary?.Groups ?? input.SecurityGroupIds,
    securityGroupNames: input.SecurityGroups, cpuCredits: input.CreditSpecification?.CpuCredits,
    disableApiTermination: input.DisableApiTermination, disableApiStop: input.DisableApiStop,
    shutdownBehavior: input.InstanceInitiatedShutdownBehavior, ebsOptimized: input.EbsOptimized, monitoring: input.Monitoring?.Enabled,
    hibernation: input.HibernationOptions?.Configured, autoRecovery: input.MaintenanceOptions?.AutoRecovery,
    metadataOptions: m && {
      httpTokens: m.HttpTokens, httpPutResponseHopLimit: m.HttpPutResponseHopLimit, httpEndpoint: m.HttpEndpoint,
      httpProtocolIpv6: m.HttpProtocolIpv6, instanceMetadataTags: m.InstanceMetadataTags,
    },
  }, input.MaxCount ?? 1);
}

/**
 * The network and attribute fields of an instance as DescribeInstances shows
 * them. A terminated instance has left its subnet: no addresses, no interface.
 */
export async function sdkInstanceExtras(ctx: Context, inst: InstanceRecord): Promise<Partial<Instance>> {
  const rec = await ensureAttributes(ctx, inst);
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
  const groups = securityGroups(rec);
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

/**
 * DescribeInstances filters over the network and attribute fields, for the
 * given instances (their records read once, up front, since filters are synchronous).
 */
export async function instanceNetworkFilters(ctx: Context, insts: InstanceRecord[]): Promise<FilterFields<InstanceRecord>> {
  const recs = new Map<string, InstanceAttributesRecord>();
  for (const i of insts) recs.set(i.id, await ensureAttributes(ctx, i));
  const live = (i: InstanceRecord) => (i.state === 'terminated' ? undefined : recs.get(i.id));
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
    'instance.group-name': (i) => live(i) && securityGroups(live(i)!).map((g) => g.GroupName),
    'group-name': (i) => live(i) && securityGroups(live(i)!).map((g) => g.GroupName),
    'metadata-options.http-tokens': (i) => recs.get(i.id)?.metadataOptions.httpTokens,
    'metadata-options.http-endpoint': (i) => recs.get(i.id)?.metadataOptions.httpEndpoint,
    'metadata-options.http-put-response-hop-limit': (i) => recs.get(i.id)?.metadataOptions.httpPutResponseHopLimit,
    'metadata-options.instance-metadata-tags': (i) => recs.get(i.id)?.metadataOptions.instanceMetadataTags,
    'monitoring-state': (i) => (recs.get(i.id)?.monitoring ? 'enabled' : 'disabled'),
    'source-dest-check': (i) => recs.get(i.id)?.sourceDestCheck,
    'ebs-optimized': (i) => recs.get(i.id)?.ebsOptimized,
    'tenancy': () => 'default',
    'hypervisor': () => 'xen',
    'virtualization-type': () => 'hvm',
    'platform-details': () => 'Linux/UNIX',
  };
}

function securityGroups(rec: InstanceAttributesRecord): Array<{ GroupId: string; GroupName: string }> {
  const sg = defaultSecurityGroup(rec);
  return rec.securityGroupIds.map((id) => ({ GroupId: id, GroupName: id === sg.groupId ? sg.groupName : id }));
}

// ---- instance attributes ---------------------------------------------------

async function oneInstance(ctx: Context, caller: Caller, id: string | undefined): Promise<InstanceRecord> {
  const [inst] = await visibleInstances(ctx, caller, [required(id, 'InstanceId')]);
  return inst!;
}

export const describeInstanceAttribute: Handler<DescribeInstanceAttributeRequest, InstanceAttribute> = async (ctx, caller, input) => {
  const attribute = required(input.Attribute, 'Attribute');
  const inst = await oneInstance(ctx, caller, input.InstanceId);
  const rec = await ensureAttributes(ctx, inst);
  const out: InstanceAttribute = { InstanceId: inst.id };
  switch (attribute) {
    case 'instanceType': out.InstanceType = { Value: inst.instanceType }; break;
    case 'userData': out.UserData = inst.userData ? { Value: inst.userData } : {}; break;
    case 'disableApiTermination': out.DisableApiTermination = { Value: rec.disableApiTermination }; break;
    case 'disableApiStop': out.DisableApiStop = { Value: rec.disableApiStop }; break;
    case 'instanceInitiatedShutdownBehavior': out.InstanceInitiatedShutdownBehavior = { Value: rec.shutdownBehavior }; break;
    case 'rootDeviceName': out.RootDeviceName = { Value: inst.rootDeviceName }; break;
    case 'blockDeviceMapping': out.BlockDeviceMappings = await blockDevices(ctx, inst); break;
    case 'sourceDestCheck': out.SourceDestCheck = { Value: rec.sourceDestCheck }; break;
    case 'groupSet': out.Groups = securityGroups(rec); break;
    case 'ebsOptimized': out.EbsOptimized = { Value: rec.ebsOptimized }; break;
    case 'enaSupport': out.EnaSupport = { Value: rec.enaSupport }; break;
    case 'sriovNetSupport': out.SriovNetSupport = {}; break;
    case 'enclaveOptions': out.EnclaveOptions = { Enabled: false }; break;
    case 'productCodes': out.ProductCodes = toSdkProductCodes(inst.productCodes); break;
    case 'kernel': out.KernelId = {}; break;
    case 'ramdisk': out.RamdiskId = {}; break;
    default: throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  return out;
};

async function blockDevices(ctx: Context, inst: InstanceRecord): Promise<InstanceAttribute['BlockDeviceMappings']> {
  if (inst.state === 'terminated') return [];
  const vols = await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)));
  return vols.filter((v) => v?.attachment?.instanceId === inst.id).map((v) => ({
    DeviceName: v!.attachment!.device,
    Ebs: { VolumeId: v!.id, Status: 'attached', AttachTime: new Date(v!.attachment!.attachTime), DeleteOnTermination: v!.attachment!.deleteOnTermination },
  }));
}

/** The one change a ModifyInstanceAttribute request asks for (AWS refuses several in one call). */
function attributeChange(input: ModifyInstanceAttributeRequest): AttributeChange {
  const changes: AttributeChange[] = [];
  const bool = (v: { Value?: boolean } | undefined) => v?.Value ?? false;
  if (input.InstanceType) changes.push({ name: 'instanceType', value: required(input.InstanceType.Value, 'InstanceType.Value') });
  if (input.UserData) changes.push({ name: 'userData', value: Buffer.from(input.UserData.Value ?? new Uint8Array()) });
  if (input.DisableApiTermination) changes.push({ name: 'disableApiTermination', value: bool(input.DisableApiTermination) });
  if (input.DisableApiStop) changes.push({ name: 'disableApiStop', value: bool(input.DisableApiStop) });
  if (input.SourceDestCheck) changes.push({ name: 'sourceDestCheck', value: bool(input.SourceDestCheck) });
  if (input.EbsOptimized) changes.push({ name: 'ebsOptimized', value: bool(input.EbsOptimized) });
  if (input.EnaSupport) changes.push({ name: 'enaSupport', value: bool(input.EnaSupport) });
  if (input.InstanceInitiatedShutdownBehavior) {
    changes.push({ name: 'instanceInitiatedShutdownBehavior', value: required(input.InstanceInitiatedShutdownBehavior.Value, 'Value') });
  }
  if (input.Groups?.length) changes.push({ name: 'groupSet', value: input.Groups });
  if (input.BlockDeviceMappings?.length) {
    changes.push({ name: 'blockDeviceMapping', value: input.BlockDeviceMappings.map((m) => ({
      deviceName: required(m.DeviceName, 'BlockDeviceMapping.DeviceName'), deleteOnTermination: m.Ebs?.DeleteOnTermination,
    })) });
  }
  if (input.Kernel || input.Ramdisk || input.SriovNetSupport) {
    throw new ApiError('UnsupportedOperation', 'Kiln instances are HVM: kernel, ramdisk and sriovNetSupport cannot be set');
  }
  if (input.Attribute) changes.push(legacyChange(input.Attribute, input.Value));
  if (changes.length > 1) throw new ApiError('InvalidParameterCombination', 'Fields for multiple attribute types specified');
  if (!changes.length) throw new ApiError('MissingParameter', 'The request must contain the parameter attribute');
  return changes[0]!;
}

/** The older form: Attribute=name&Value=value. */
function legacyChange(attribute: string, value: string | undefined): AttributeChange {
  const v = value ?? '';
  switch (attribute) {
    case 'instanceType': case 'instanceInitiatedShutdownBehavior': return { name: attribute, value: v };
    case 'userData': return { name: 'userData', value: Buffer.from(v, 'base64') };
    case 'disableApiTermination': case 'disableApiStop': case 'sourceDestCheck': case 'ebsOptimized': case 'enaSupport':
      if (v !== 'true' && v !== 'false') throw new ApiError('InvalidParameterValue', `Value (${v}) for parameter ${attribute} is invalid.`);
      return { name: attribute, value: v === 'true' };
    case 'groupSet': return { name: 'groupSet', value: v ? [v] : [] };
    default: throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
}

export const modifyInstanceAttribute: Handler<ModifyInstanceAttributeRequest, object> = async (ctx, caller, input) => {
  const inst = await oneInstance(ctx, caller, input.InstanceId);
  await ctx.locks.run(inst.id, async () => {
    const current = (await ctx.store.instances.get(inst.id))!;
    await modifyAttribute(ctx, caller, current, attributeChange(input));
  });
  return {};
};

// ---- CPU credits, metadata and maintenance options -------------------------

export const describeInstanceCreditSpecifications: Handler<DescribeInstanceCreditSpecificationsRequest, DescribeInstanceCreditSpecificationsResult> =
  async (ctx, caller, input) => {
    if (input.InstanceIds?.length && input.MaxResults !== undefined) {
      throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    const named = !!input.InstanceIds?.length;
    const insts = await visibleInstances(ctx, caller, input.InstanceIds);
    const specs: Array<InstanceCreditSpecification & { inst: InstanceRecord }> = [];
    for (const inst of insts) {
      const rec = await ensureAttributes(ctx, inst);
      if (!rec.cpuCredits) {
        if (named) throw new ApiError('InstanceCreditSpecification.NotSupported', `The instance ${inst.id} is not a burstable performance instance`);
        continue;
      }
      if (!named && (rec.cpuCredits !== 'unlimited' || inst.state === 'terminated')) continue;
      specs.push({ InstanceId: inst.id, CpuCredits: rec.cpuCredits, inst });
    }
    const filtered = applyFilters(specs, input.Filters, { 'instance-id': (s) => s.InstanceId });
    const page = paginate(filtered, 'credit-specs', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
    return { InstanceCreditSpecifications: page.items.map(({ InstanceId, CpuCredits }) => ({ InstanceId, CpuCredits })), NextToken: page.nextToken };
  };

export const modifyInstanceCreditSpecification: Handler<ModifyInstanceCreditSpecificationRequest, ModifyInstanceCreditSpecificationResult> =
  async (ctx, caller, input) => {
    const ok: Array<{ InstanceId: string }> = [];
    const failed: UnsuccessfulInstanceCreditSpecificationItem[] = [];
    for (const req of required(input.InstanceCreditSpecifications, 'InstanceCreditSpecification')) {
      const id = required(req.InstanceId, 'InstanceId');
      try {
        const [inst] = await visibleInstances(ctx, caller, [id]);
        await setCpuCredits(ctx, inst!, required(req.CpuCredits, 'CpuCredits'));
        ok.push({ InstanceId: id });
      } catch (err) {
        const e = toApiError(err);
        if (e.status >= 500 || e.code === 'MissingParameter') throw e;
        failed.push({ InstanceId: id, Error: { Code: e.code as 'IncorrectInstanceState', Message: e.message } });
      }
    }
    return { SuccessfulInstanceCreditSpecifications: ok, UnsuccessfulInstanceCreditSpecifications: failed };
  };

export const modifyInstanceMetadataOptions: Handler<ModifyInstanceMetadataOptionsRequest, ModifyInstanceMetadataOptionsResult> = async (ctx, caller, input) => {
  const inst = await oneInstance(ctx, caller, input.InstanceId);
  const rec = await setMetadataOptions(ctx, inst, {
    httpTokens: input.HttpTokens, httpPutResponseHopLimit: input.HttpPutResponseHopLimit, httpEndpoint: input.HttpEndpoint,
    httpProtocolIpv6: input.HttpProtocolIpv6, instanceMetadataTags: input.InstanceMetadataTags,
  });
  const m = rec.metadataOptions;
  return {
    InstanceId: inst.id,
    InstanceMetadataOptions: {
      State: 'applied', HttpTokens: m.httpTokens, HttpPutResponseHopLimit: m.httpPutResponseHopLimit, HttpEndpoint: m.httpEndpoint,
      HttpProtocolIpv6: m.httpProtocolIpv6, InstanceMetadataTags: m.instanceMetadataTags,
    },
  };
};

export const modifyInstanceMaintenanceOptions: Handler<ModifyInstanceMaintenanceOptionsRequest, ModifyInstanceMaintenanceOptionsResult> = async (ctx, caller, input) => {
  const inst = await oneInstance(ctx, caller, input.InstanceId);
  const rec = input.AutoRecovery ? await setAutoRecovery(ctx, inst, input.AutoRecovery) : await ensureAttributes(ctx, inst);
  return { InstanceId: inst.id, AutoRecovery: rec.autoRecovery, RebootMigration: 'default' };
};

/** Kiln boots legacy BIOS style: an instance has no UEFI variable store. */
export const getInstanceUefiData: Handler<GetInstanceUefiDataRequest, GetInstanceUefiDataResult> = async (ctx, caller, input) => {
  const inst = await oneInstance(ctx, caller, input.InstanceId);
  return { InstanceId: inst.id };
};

/** No account-level IMDS defaults are set in Kiln: launches take AWS's own defaults. */
export const getInstanceMetadataDefaults: Handler<GetInstanceMetadataDefaultsRequest, GetInstanceMetadataDefaultsResult> = async () =>
  ({ AccountLevel: {} });

// ---- account attributes ------------------------------------------------------

const MAX_INSTANCES = 20;

export const describeAccountAttributes: Handler<DescribeAccountAttributesRequest, DescribeAccountAttributesResult> = async (_ctx, caller, input) => {
  const all: Record<string, string[]> = {
    'supported-platforms': ['VPC'],
    'default-vpc': [defaultVpc(caller).vpcId],
    'max-instances': [String(MAX_INSTANCES)],
    'max-elastic-ips': ['5'],
    'vpc-max-elastic-ips': ['5'],
    'vpc-max-security-groups-per-interface': ['5'],
  };
  const names = input.AttributeNames?.length ? input.AttributeNames : Object.keys(all);
  const out: AccountAttribute[] = names.map((name) => {
    const values = all[name];
    if (!values) throw new ApiError('InvalidParameterValue', `Value (${name}) for parameter attributeName is invalid.`);
    return { AttributeName: name, AttributeValues: values.map((AttributeValue) => ({ AttributeValue })) };
  });
  return { AccountAttributes: out };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
  DescribeInstanceAttribute: describeInstanceAttribute,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  DescribeInstanceCreditSpecifications: describeInstanceCreditSpecifications,
  ModifyInstanceCreditSpecification: modifyInstanceCreditSpecification,
  ModifyInstanceMetadataOptions: modifyInstanceMetadataOptions,
  ModifyInstanceMaintenanceOptions: modifyInstanceMaintenanceOptions,
  GetInstanceUefiData: getInstanceUefiData,
  GetInstanceMetadataDefaults: getInstanceMetadataDefaults,
  DescribeAccountAttributes: describeAccountAttributes,
};
