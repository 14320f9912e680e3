/**
 * Launch templates as the EC2 API shows them: the template and version
 * shapes, the filter tables, and launch data both ways. RunInstances and a
 * template's LaunchTemplateData spell their shared fields alike, so one
 * mapping reads both.
 */
import type { LaunchTemplate, LaunchTemplateVersion, ResponseLaunchTemplateData, Tag as SdkTag, TagSpecification } from '@aws-sdk/client-ec2';
import type { LaunchTemplateData, LaunchTemplateRecord, LaunchTemplateVersionRecord } from '../../model/template-records.js';
import type { TemplateVersion } from '../../services/templates/templates.js';
import { latestVersion } from '../../services/templates/templates.js';
import type { FilterFields } from '../filters.js';
import { tagsFromSpecs, toSdkTags } from '../tags.js';

/** The launch fields RunInstancesRequest and RequestLaunchTemplateData share, as both spell them. */
export interface SdkLaunchData {
  ImageId?: string; InstanceType?: string; KeyName?: string; UserData?: string;
  SecurityGroupIds?: string[]; SecurityGroups?: string[];
  NetworkInterfaces?: Array<{
    DeviceIndex?: number; SubnetId?: string; Groups?: string[]; AssociatePublicIpAddress?: boolean; DeleteOnTermination?: boolean;
    Description?: string; PrivateIpAddress?: string; NetworkInterfaceId?: string;
  }>;
  BlockDeviceMappings?: Array<{
    DeviceName?: string; VirtualName?: string; NoDevice?: string;
    Ebs?: { SnapshotId?: string; VolumeSize?: number; DeleteOnTermination?: boolean; VolumeType?: string; Encrypted?: boolean; Iops?: number; Throughput?: number; KmsKeyId?: string };
  }>;
  MetadataOptions?: { HttpTokens?: string; HttpPutResponseHopLimit?: number; HttpEndpoint?: string; HttpProtocolIpv6?: string; InstanceMetadataTags?: string };
  TagSpecifications?: Array<{ ResourceType?: string; Tags?: SdkTag[] }>;
  InstanceInitiatedShutdownBehavior?: string; DisableApiTermination?: boolean; DisableApiStop?: boolean; EbsOptimized?: boolean;
  Monitoring?: { Enabled?: boolean }; Placement?: { AvailabilityZone?: string }; CreditSpecification?: { CpuCredits?: string };
  HibernationOptions?: { Configured?: boolean }; MaintenanceOptions?: { AutoRecovery?: string }; IamInstanceProfile?: { Arn?: string; Name?: string };
}

const lower = (k: string) => k[0]!.toLowerCase() + k.slice(1);
const upper = (k: string) => k[0]!.toUpperCase() + k.slice(1);

/**
 * A nested launch structure (network interfaces, block device mappings,
 * metadata options) with its keys recased, deeply: the SDK spells them in
 * PascalCase, the records in camelCase, the names otherwise the same.
 */
function recase<T>(v: unknown, f: (k: string) => string): T {
  if (Array.isArray(v)) return v.map((x) => recase(x, f)) as T;
  if (!v || typeof v !== 'object') return v as T;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [f(k), recase(x, f)])) as T;
}

/** The resource types a template's TagSpecifications may tag at launch. */
export const TEMPLATE_TAG_TYPES = ['instance', 'volume', 'network-interface', 'spot-instances-request'];

/** Launch data from a request (CreateLaunchTemplate's data or RunInstances itself); tags validated for `tagTypes`. */
export function launchDataFromSdk(x: SdkLaunchData, tagTypes: string[]): LaunchTemplateData {
  const tags = tagsFromSpecs(x.TagSpecifications as TagSpecification[] | undefined, tagTypes);
  return {
    imageId: x.ImageId, instanceType: x.InstanceType, keyName: x.KeyName, userData: x.UserData,
    securityGroupIds: x.SecurityGroupIds, securityGroups: x.SecurityGroups,
    networkInterfaces: recase(x.NetworkInterfaces, lower), blockDeviceMappings: recase(x.BlockDeviceMappings, lower),
    metadataOptions: recase(x.MetadataOptions, lower),
    tagSpecifications: x.TagSpecifications ? Object.entries(tags).map(([resourceType, t]) => ({ resourceType, tags: t })) : undefined,
    instanceInitiatedShutdownBehavior: x.InstanceInitiatedShutdownBehavior, disableApiTermination: x.DisableApiTermination,
    disableApiStop: x.DisableApiStop, ebsOptimized: x.EbsOptimized, monitoring: x.Monitoring?.Enabled,
    availabilityZone: x.Placement?.AvailabilityZone, cpuCredits: x.CreditSpecification?.CpuCredits,
    hibernation: x.HibernationOptions?.Configured, autoRecovery: x.MaintenanceOptions?.AutoRecovery,
    iamInstanceProfile: x.IamInstanceProfile && { arn: x.IamInstanceProfile.Arn, name: x.IamInstanceProfile.Name },
  };
}

/**
 * Launch data as DescribeLaunchTemplateVersions shows it; GetLaunchTemplateData
 * (`asRequest`) leaves out the metadata options' State, so that its answer is
 * a valid CreateLaunchTemplate request as it stands.
 */
export function launchDataToSdk(d: LaunchTemplateData, asRequest = false): ResponseLaunchTemplateData {
  const out: SdkLaunchData & { MetadataOptions?: SdkLaunchData['MetadataOptions'] & { State?: string } } = {
    ImageId: d.imageId, InstanceType: d.instanceType, KeyName: d.keyName, UserData: d.userData,
    SecurityGroupIds: d.securityGroupIds, SecurityGroups: d.securityGroups,
    NetworkInterfaces: recase(d.networkInterfaces, upper), BlockDeviceMappings: recase(d.blockDeviceMappings, upper),
    MetadataOptions: d.metadataOptions && { ...(asRequest ? {} : { State: 'applied' }), ...recase(d.metadataOptions, upper) },
    TagSpecifications: d.tagSpecifications?.map((s) => ({ ResourceType: s.resourceType, Tags: toSdkTags(s.tags) })),
    InstanceInitiatedShutdownBehavior: d.instanceInitiatedShutdownBehavior, DisableApiTermination: d.disableApiTermination,
    DisableApiStop: d.disableApiStop, EbsOptimized: d.ebsOptimized,
    Monitoring: d.monitoring === undefined ? undefined : { Enabled: d.monitoring },
    Placement: d.availabilityZone === undefined ? undefined : { AvailabilityZone: d.availabilityZone },
    CreditSpecification: d.cpuCredits === undefined ? undefined : { CpuCredits: d.cpuCredits },
    HibernationOptions: d.hibernation === undefined ? undefined : { Configured: d.hibernation },
    MaintenanceOptions: d.autoRecovery === undefined ? undefined : { AutoRecovery: d.autoRecovery },
    IamInstanceProfile: d.iamInstanceProfile && { Arn: d.iamInstanceProfile.arn, Name: d.iamInstanceProfile.name },
  };
  return out as ResponseLaunchTemplateData;
}

export function toSdkTemplate(t: LaunchTemplateRecord): LaunchTemplate {
  return {
    LaunchTemplateId: t.id, LaunchTemplateName: t.name, CreateTime: new Date(t.createTime), CreatedBy: t.createdBy,
    DefaultVersionNumber: t.defaultVersion, LatestVersionNumber: latestVersion(t), Tags: toSdkTags(t.tags),
  };
}

export function toSdkVersion(t: LaunchTemplateRecord, v: LaunchTemplateVersionRecord): LaunchTemplateVersion {
  return {
    LaunchTemplateId: t.id, LaunchTemplateName: t.name, VersionNumber: v.versionNumber, VersionDescription: v.versionDescription,
    CreateTime: new Date(v.createTime), CreatedBy: v.createdBy, DefaultVersion: v.versionNumber === t.defaultVersion,
    LaunchTemplateData: launchDataToSdk(v.data),
  };
}

export const TEMPLATE_FILTERS: FilterFields<LaunchTemplateRecord> = {
  'launch-template-name': (t) => t.name,
  'create-time': (t) => t.createTime,
};

export const VERSION_FILTERS: FilterFields<TemplateVersion> = {
  'create-time': ({ version: v }) => v.createTime,
  'ebs-optimized': ({ version: v }) => v.data.ebsOptimized,
  'iam-instance-profile': ({ version: v }) => [v.data.iamInstanceProfile?.arn, v.data.iamInstanceProfile?.name],
  'image-id': ({ version: v }) => v.data.imageId,
  'instance-type': ({ version: v }) => v.data.instanceType,
  'is-default-version': ({ template, version }) => version.versionNumber === template.defaultVersion,
  'kernel-id': () => undefined,
  'ram-disk-id': () => undefined,
  'http-endpoint': ({ version: v }) => v.data.metadataOptions?.httpEndpoint,
  'http-tokens': ({ version: v }) => v.data.metadataOptions?.httpTokens,
  'http-put-response-hop-limit': ({ version: v }) => v.data.metadataOptions?.httpPutResponseHopLimit,
  'instance-metadata-tags': ({ version: v }) => v.data.metadataOptions?.instanceMetadataTags,
};
