/**
 * Launch templates: a named, versioned set of RunInstances parameters
 * (AWS's LaunchTemplateData), one record per template holding its versions.
 * Every field of the data is optional, as in AWS: a version says only what it
 * sets, and RunInstances fills in the rest from its own request. Plain JSON,
 * as records.ts.
 */
import type { Owned, Tag } from './records.js';

/** A network interface as a template (or GetLaunchTemplateData) gives it. */
export interface TemplateNetworkInterface {
  deviceIndex?: number;
  subnetId?: string;
  groups?: string[];
  associatePublicIpAddress?: boolean;
  deleteOnTermination?: boolean;
  description?: string;
  privateIpAddress?: string;
  networkInterfaceId?: string;
}

export interface TemplateBlockDeviceMapping {
  deviceName?: string;
  virtualName?: string;
  /** AWS's NoDevice: present (an empty string) to suppress the device. */
  noDevice?: string;
  ebs?: {
    snapshotId?: string; volumeSize?: number; deleteOnTermination?: boolean; volumeType?: string; encrypted?: boolean;
    iops?: number; throughput?: number; kmsKeyId?: string;
  };
}

export interface TemplateMetadataOptions {
  httpTokens?: string;
  httpPutResponseHopLimit?: number;
  httpEndpoint?: string;
  httpProtocolIpv6?: string;
  instanceMetadataTags?: string;
}

/** The tags a launch gives a resource type it makes (instance, volume, network-interface). */
export interface TemplateTagSpecification { resourceType: string; tags: Tag[] }

/** What a version holds; the names are the EC2 API's, in camel case. */
export interface LaunchTemplateData {
  imageId?: string;
  instanceType?: string;
  keyName?: string;
  /** Base64, as sent. */
  userData?: string;
  securityGroupIds?: string[];
  securityGroups?: string[];
  networkInterfaces?: TemplateNetworkInterface[];
  blockDeviceMappings?: TemplateBlockDeviceMapping[];
  metadataOptions?: TemplateMetadataOptions;
  tagSpecifications?: TemplateTagSpecification[];
  instanceInitiatedShutdownBehavior?: string;
  disableApiTermination?: boolean;
  disableApiStop?: boolean;
  ebsOptimized?: boolean;
  monitoring?: boolean;
  /** Placement.AvailabilityZone. */
  availabilityZone?: string;
  /** CreditSpecification.CpuCredits. */
  cpuCredits?: string;
  /** HibernationOptions.Configured. */
  hibernation?: boolean;
  /** MaintenanceOptions.AutoRecovery. */
  autoRecovery?: string;
  /** Kept and reported; Kiln has no IAM, so a launch gives instances no profile. */
  iamInstanceProfile?: { arn?: string; name?: string };
}

export interface LaunchTemplateVersionRecord {
  versionNumber: number;
  versionDescription?: string;
  createTime: string;
  /** arn:aws:iam::<account>:root */
  createdBy: string;
  data: LaunchTemplateData;
}

/** A template; `id` is lt-..., names are unique per account and region (store/schema.ts). */
export interface LaunchTemplateRecord extends Owned {
  name: string;
  createTime: string;
  createdBy: string;
  defaultVersion: number;
  /** The number the next version gets: numbers are never reused, even after a delete. */
  nextVersion: number;
  /** In version order. */
  versions: LaunchTemplateVersionRecord[];
  tags: Tag[];
}
