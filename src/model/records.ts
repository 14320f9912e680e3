/**
 * The domain records Kiln keeps, in AWS's own nouns. Field names follow the
 * EC2 API where one exists so handlers map them without surprises; they are
 * plain JSON (dates as ISO strings) so every store can keep them.
 */

export interface Tag { key: string; value: string }

export type ImageState = 'pending' | 'available' | 'failed' | 'disabled' | 'deregistered';
export type SnapshotState = 'pending' | 'completed' | 'error';
export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'deleted' | 'error';
export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** Every record is owned by one account and lives in one region. */
export interface Owned { id: string; account: string; region: string }

/** The members of `fields` that are set: optional record members stay absent rather than present as undefined. */
export function present<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface EbsMapping {
  snapshotId?: string;
  volumeSize: number;
  deleteOnTermination: boolean;
  volumeType: string;
  encrypted: boolean;
  /** The KMS key a request named for the encrypted volume (else the owner's aws/ebs key is reported). */
  kmsKeyId?: string;
  /** Provisioned IOPS (gp3, io1, io2) and throughput in MiB/s (gp3), when set. */
  iops?: number;
  throughput?: number;
}

export interface BlockDeviceMapping {
  deviceName: string;
  ebs?: EbsMapping;
  noDevice?: boolean;
  virtualName?: string;
}

export interface StateReason { code: string; message: string }

/**
 * Who besides the owner may launch an image (or create volumes from a
 * snapshot). `isPublic` on the record is group `all`; these are the named grants.
 */
export interface Grants {
  /** 12-digit account ids. */
  userIds: string[];
  /** arn:aws:organizations::<mgmt account>:organization/o-... */
  organizationArns: string[];
  /** arn:aws:organizations::<mgmt account>:ou/o-.../ou-... */
  organizationalUnitArns: string[];
}

export const noGrants = (): Grants => ({ userIds: [], organizationArns: [], organizationalUnitArns: [] });

export interface ProductCode { code: string; type: 'marketplace' | 'devpay' }

export interface ImageRecord extends Owned {
  name: string;
  description?: string;
  state: ImageState;
  stateReason?: StateReason;
  /** Alias shown as imageOwnerAlias (catalog images: 'amazon'). */
  ownerAlias?: string;
  architecture: string;
  rootDeviceName: string;
  blockDeviceMappings: BlockDeviceMapping[];
  creationDate: string;
  isPublic: boolean;
  enaSupport: boolean;
  bootMode?: string;
  imdsSupport?: string;
  /** 'v2.0': instances get a NitroTPM (recorded and reported; Kiln's runtime has no TPM to give). */
  tpmSupport?: string;
  /** Base64 UEFI variable store, as RegisterImage took it (reported by DescribeImageAttribute uefiData). */
  uefiData?: string;
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceImageRegion?: string;
  deregisteredAt?: string;
  /** Named launch permissions (absent on records written before sharing existed: none). */
  launchPermission?: Grants;
  productCodes?: ProductCode[];
  /** ISO time, rounded to the minute; the image is deprecated from then on. */
  deprecationTime?: string;
  /** 'disabled' (default) | 'enabled' | 'enabled-with-cooldown' (AWS's wire values). */
  deregistrationProtection?: string;
  /** With cooldown: protection still holds until this ISO time after being disabled. */
  deregistrationProtectionUntil?: string;
  lastLaunchedTime?: string;
  /** When DisableImage ran (state 'disabled'). */
  disabledAt?: string;
  tags: Tag[];
}

export interface SnapshotRecord extends Owned {
  volumeId: string;
  /** GiB. */
  volumeSize: number;
  state: SnapshotState;
  stateMessage?: string;
  progress: string;
  startTime: string;
  completionTime?: string;
  description: string;
  encrypted: boolean;
  /** The KMS key a request named (else the owner's aws/ebs key is reported when encrypted). */
  kmsKeyId?: string;
  ownerAlias?: string;
  /** Bytes of new block data this snapshot added to the store (incremental size). */
  dataBytes?: number;
  /** Bytes its blocks hold, zero blocks not counted (FullSnapshotSizeInBytes). */
  fullSizeBytes?: number;
  /** createVolumePermission: group all, and named accounts. */
  isPublic?: boolean;
  createVolumePermission?: Pick<Grants, 'userIds'>;
  /** Copied from (CopySnapshot) and image-copy bookkeeping. */
  sourceSnapshotId?: string;
  sourceRegion?: string;
  tags: Tag[];
}

export interface VolumeAttachmentRecord {
  instanceId: string;
  device: string;
  deleteOnTermination: boolean;
  attachTime: string;
}

export interface VolumeRecord extends Owned {
  size: number;
  snapshotId?: string;
  availabilityZone: string;
  state: VolumeState;
  createTime: string;
  volumeType: string;
  encrypted: boolean;
  /** The KMS key a request named (else the owner's aws/ebs key is reported when encrypted). */
  kmsKeyId?: string;
  /** Provisioned IOPS and throughput (MiB/s), when set; reportedPerformance() (services/volumes) gives what EC2 reports otherwise. */
  iops?: number;
  throughput?: number;
  attachment?: VolumeAttachmentRecord;
  tags: Tag[];
}

export interface InstanceRecord extends Owned {
  imageId: string;
  instanceType: string;
  state: InstanceState;
  stateTransitionReason: string;
  stateReason?: StateReason;
  /** The last start (AWS's LaunchTime moves with every start); firstLaunchTime keeps the first, once it has moved. */
  launchTime: string;
  firstLaunchTime?: string;
  availabilityZone: string;
  reservationId: string;
  amiLaunchIndex: number;
  /** Base64, as sent. */
  userData?: string;
  keyName?: string;
  /** The image's product codes (marketplace), which the instance carries for its life. */
  productCodes?: ProductCode[];
  /** The key pair's public key as it was at launch (OpenSSH format); the instance keeps it when the pair is deleted. */
  publicKey?: string;
  clientToken?: string;
  architecture: string;
  rootDeviceName: string;
  /** When it reached 'terminated'; an hour later it is gone from every answer, as on AWS. */
  terminatedAt?: string;
  /** The image's boot settings at launch. */
  bootMode?: string;
  tpmSupport?: string;
  volumeIds: string[];
  tags: Tag[];
  /**
   * Set from RunInstances until the first boot has made the volumes and
   * started the instance (or failed). Still set at startup = a launch cut
   * short by a crash.
   */
  launching?: true;
}

export interface AccessKey { accessKeyId: string; secretAccessKey: string; createdAt: string }

export interface AccountRecord {
  id: string;
  alias?: string;
  /** Organization id (o-...) and organizational unit id (ou-...) the account belongs to. */
  org?: string;
  ou?: string;
  keys: AccessKey[];
  createdAt?: string;
}

export const DEFAULT_ACCOUNT = '000000000000';
/** Owner of the images Kiln itself publishes (owner alias 'amazon'). */
export const CATALOG_ACCOUNT = '000000000001';
