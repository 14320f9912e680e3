/**
 * Images as the EC2 API shows them: the record-to-SDK conversion and the
 * DescribeImages filter table, in one place for every handler that answers
 * with an image.
 */
import type { Image, ProductCode as SdkProductCode } from '@aws-sdk/client-ec2';
import type { EbsMapping, ImageRecord, ProductCode } from '../../model/records.js';
import { CATALOG_ACCOUNT, present } from '../../model/records.js';
import { reportedPerformance } from '../../services/volumes/volumes.js';
import { reportedKey } from '../../services/core/kms.js';
import { protectionLabel } from '../../services/images/image-lifecycle.js';
import { ownerAlias } from '../../services/images/images.js';
import type { FilterFields } from '../filters.js';
import { toSdkTags } from '../tags.js';

/** Product codes as images, instances and their attributes show them. */
export const toSdkProductCodes = (codes: ProductCode[] | undefined): SdkProductCode[] =>
  (codes ?? []).map((p) => ({ ProductCodeId: p.code, ProductCodeType: p.type }));

/** IOPS and throughput as DescribeImages shows them (the volumes service's rule, without a size). */
function mappingPerformance(ebs: EbsMapping): { Iops?: number; Throughput?: number } {
  const p = reportedPerformance({ volumeType: ebs.volumeType, iops: ebs.iops, throughput: ebs.throughput });
  return present({ Iops: p.iops, Throughput: p.throughput });
}

/** The image as EC2 describes it; `allowed` is imageAllowed, reported only while Allowed AMIs is not disabled. */
export function toSdkImage(img: ImageRecord, allowed?: boolean): Image {
  const alias = ownerAlias(img);
  return {
    ImageAllowed: allowed,
    ImageId: img.id, ImageLocation: `${alias ?? img.account}/${img.name}`, State: img.state, OwnerId: img.account,
    ImageOwnerAlias: alias, CreationDate: img.creationDate, Public: img.isPublic, Architecture: img.architecture as Image['Architecture'],
    ImageType: 'machine', PlatformDetails: 'Linux/UNIX', UsageOperation: 'RunInstances', Name: img.name, Description: img.description,
    RootDeviceType: 'ebs', RootDeviceName: img.rootDeviceName, VirtualizationType: 'hvm', Hypervisor: 'xen', EnaSupport: img.enaSupport,
    SriovNetSupport: 'simple', FreeTierEligible: freeTierEligible(img),
    BootMode: img.bootMode as Image['BootMode'], ImdsSupport: img.imdsSupport as Image['ImdsSupport'],
    TpmSupport: img.tpmSupport as Image['TpmSupport'],
    BlockDeviceMappings: img.blockDeviceMappings.map((m) => ({
      DeviceName: m.deviceName, VirtualName: m.virtualName, NoDevice: m.noDevice ? '' : undefined,
      Ebs: m.ebs && {
        SnapshotId: m.ebs.snapshotId, VolumeSize: m.ebs.volumeSize, DeleteOnTermination: m.ebs.deleteOnTermination,
        VolumeType: m.ebs.volumeType as 'gp3', Encrypted: m.ebs.encrypted, KmsKeyId: reportedKey(m.ebs, img), ...mappingPerformance(m.ebs),
      },
    })),
    StateReason: img.stateReason && { Code: img.stateReason.code, Message: img.stateReason.message },
    SourceInstanceId: img.sourceInstanceId, SourceImageId: img.sourceImageId, SourceImageRegion: img.sourceImageRegion,
    DeregistrationProtection: protectionLabel(img), DeprecationTime: img.deprecationTime,
    LastLaunchedTime: img.lastLaunchedTime,
    ProductCodes: img.productCodes?.length ? toSdkProductCodes(img.productCodes) : undefined,
    Tags: img.tags.length ? toSdkTags(img.tags) : undefined,
  };
}

const ebs = (img: ImageRecord) => img.blockDeviceMappings.map((m) => m.ebs).filter((e) => !!e);
/** As on AWS, Amazon's own images qualify for the free tier (on t2.micro/t3.micro); no one else's do. */
const freeTierEligible = (img: ImageRecord) => img.account === CATALOG_ACCOUNT;

export const IMAGE_FILTERS: FilterFields<ImageRecord> = {
  'architecture': (i) => i.architecture,
  'block-device-mapping.delete-on-termination': (i) => ebs(i).map((e) => e.deleteOnTermination),
  'block-device-mapping.device-name': (i) => i.blockDeviceMappings.map((m) => m.deviceName),
  'block-device-mapping.snapshot-id': (i) => ebs(i).map((e) => e.snapshotId),
  'block-device-mapping.volume-size': (i) => ebs(i).map((e) => e.volumeSize),
  'block-device-mapping.volume-type': (i) => ebs(i).map((e) => e.volumeType),
  'block-device-mapping.encrypted': (i) => ebs(i).map((e) => e.encrypted),
  'creation-date': (i) => i.creationDate,
  'description': (i) => i.description,
  'ena-support': (i) => i.enaSupport,
  'free-tier-eligible': freeTierEligible,
  'hypervisor': () => 'xen',
  'image-id': (i) => i.id,
  'image-type': () => 'machine',
  'is-public': (i) => i.isPublic,
  'kernel-id': () => undefined,
  'manifest-location': (i) => `${ownerAlias(i) ?? i.account}/${i.name}`,
  'name': (i) => i.name,
  'owner-alias': (i) => ownerAlias(i),
  'owner-id': (i) => i.account,
  'platform': () => undefined, // only Windows images have one
  'platform-details': () => 'Linux/UNIX',
  'product-code': (i) => i.productCodes?.map((p) => p.code),
  'product-code.type': (i) => i.productCodes?.map((p) => p.type),
  'ramdisk-id': () => undefined,
  'root-device-name': (i) => i.rootDeviceName,
  'root-device-type': () => 'ebs',
  'sriov-net-support': () => 'simple',
  'source-image-id': (i) => i.sourceImageId,
  'source-image-region': (i) => i.sourceImageRegion,
  'source-instance-id': (i) => i.sourceInstanceId,
  'state': (i) => i.state,
  'state-reason-code': (i) => i.stateReason?.code,
  'state-reason-message': (i) => i.stateReason?.message,
  'usage-operation': () => 'RunInstances',
  'virtualization-type': () => 'hvm',
};

