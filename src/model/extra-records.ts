/**
 * The records kept beside the main ones, each in its own store collection:
 * instance attributes, key pairs, volume modifications, client tokens and the
 * marketplace's products, subscriptions and usage. Plain JSON, as records.ts.
 */
import type { Owned, Tag } from './records.js';

export type CpuCredits = 'standard' | 'unlimited';

export interface MetadataOptions {
  httpTokens: 'optional' | 'required';
  httpPutResponseHopLimit: number;
  httpEndpoint: 'enabled' | 'disabled';
  httpProtocolIpv6: 'enabled' | 'disabled';
  instanceMetadataTags: 'enabled' | 'disabled';
}

/** One per instance; `id` is the instance id. */
export interface InstanceAttributesRecord extends Owned {
  subnetId: string;
  privateIp: string;
  securityGroupIds: string[];
  networkInterfaceId: string;
  /** Only burstable types (t2, t3) have one. */
  cpuCredits?: CpuCredits;
  disableApiTermination: boolean;
  disableApiStop: boolean;
  shutdownBehavior: 'stop' | 'terminate';
  ebsOptimized: boolean;
  enaSupport: boolean;
  sourceDestCheck: boolean;
  monitoring: boolean;
  hibernation: boolean;
  autoRecovery: 'default' | 'disabled';
  metadataOptions: MetadataOptions;
  /** Written from the RunInstances request (false: defaults made on first read). */
  fromLaunch?: boolean;
}

export interface KeyPairRecord extends Owned {
  keyName: string;
  keyType: 'rsa' | 'ed25519';
  fingerprint: string;
  /** OpenSSH format, "<type> <base64 blob> <key name>". */
  publicKey: string;
  createTime: string;
  tags: Tag[];
}

/** A product; `id` is its product code, `account` the vendor. */
export interface ProductRecord extends Owned {
  title: string;
  description?: string;
  /** USD per instance-hour. */
  price: number;
  imageIds: string[];
  createdAt: string;
}

/** An account's subscription to a product; `id` is `<account>:<product code>`. */
export interface SubscriptionRecord extends Owned {
  productCode: string;
  createdAt: string;
}

/** Metered running time of one instance of a product image; `id` is the instance id, `account` the launching account. */
export interface UsageRecord extends Owned {
  imageId: string;
  productCodes: string[];
  /** Seconds of closed running intervals. */
  seconds: number;
  /** Start of the current running interval (ISO), while running. */
  runningSince?: string;
}

/** The latest modification of a volume; its id is the volume's. */
export interface VolumeModificationRecord extends Owned {
  state: 'modifying' | 'optimizing' | 'completed' | 'failed';
  statusMessage?: string;
  targetSize: number;
  targetVolumeType: string;
  targetIops?: number;
  targetThroughput?: number;
  originalSize: number;
  originalVolumeType: string;
  originalIops?: number;
  originalThroughput?: number;
  progress: number;
  startTime: string;
  endTime?: string;
}

/** What a token remembers: the resources it made and a digest of the request that made them. */
export interface TokenRecord extends Owned { resourceIds: string[]; fingerprint: string }

/** One rule of a security group, as AWS stores it (sgr-...): a protocol and port range, and one source or destination. */
export interface SecurityGroupRuleRecord {
  id: string;
  egress: boolean;
  /** '-1' (all), 'tcp', 'udp' or 'icmp'. */
  protocol: string;
  /** Port range for tcp/udp; ICMP type and code for icmp; -1 for all. */
  fromPort: number;
  toPort: number;
  cidr?: string;
  /** A referenced group: its members' addresses. */
  groupId?: string;
  groupOwner?: string;
  description?: string;
}

/** A security group of an account's VPC; the `default` one is made on first use. */
export interface SecurityGroupRecord extends Owned {
  groupName: string;
  description: string;
  vpcId: string;
  rules: SecurityGroupRuleRecord[];
  tags: Tag[];
}
