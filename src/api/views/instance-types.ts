/**
 * Instance types as DescribeInstanceTypes and DescribeInstanceTypeOfferings
 * show them, from the one table in services/instances/instance-types.ts.
 */
import type { InstanceTypeInfo, InstanceTypeOffering } from '@aws-sdk/client-ec2';
import type { InstanceTypeInfo as KilnType } from '../../services/instances/instance-types.js';
import { architecturesOf, cpuTopology, familyOf } from '../../services/instances/instance-types.js';
import type { FilterFields } from '../filters.js';

/** AWS's free tier covers these two. */
const FREE_TIER = new Set(['t2.micro', 't3.micro']);

/** The type as DescribeInstanceTypes shows it. */
export function toSdkType(name: string, t: KilnType): InstanceTypeInfo {
  const f = familyOf(name);
  const { cores, threads } = cpuTopology(name);
  const archs = architecturesOf(name);
  return {
    InstanceType: name as InstanceTypeInfo['InstanceType'], CurrentGeneration: f.current, FreeTierEligible: FREE_TIER.has(name),
    SupportedUsageClasses: ['on-demand', 'spot'], SupportedRootDeviceTypes: ['ebs'],
    SupportedVirtualizationTypes: f.nitro ? ['hvm'] : ['hvm', 'paravirtual'], BareMetal: false, Hypervisor: f.nitro ? 'nitro' : 'xen',
    ProcessorInfo: { SupportedArchitectures: archs, SustainedClockSpeedInGhz: f.clockGhz, Manufacturer: f.manufacturer },
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

export const TYPE_FILTERS: FilterFields<InstanceTypeInfo> = {
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

export const OFFERING_FILTERS: FilterFields<InstanceTypeOffering> = {
  'instance-type': (o) => o.InstanceType,
  'location': (o) => o.Location,
};

