import type { BlockDeviceMapping } from '@aws-sdk/client-ec2';
import type { MappingRequest } from '../services/images/block-mappings.js';

/** The block device mappings of a RegisterImage, CreateImage or RunInstances request, fields left unset where the request leaves them. */
export function mappingRequests(mappings: BlockDeviceMapping[] | undefined): MappingRequest[] | undefined {
  return mappings?.map((m) => ({
    deviceName: m.DeviceName, virtualName: m.VirtualName, noDevice: m.NoDevice !== undefined || undefined,
    ebs: m.Ebs && {
      snapshotId: m.Ebs.SnapshotId, volumeSize: m.Ebs.VolumeSize, deleteOnTermination: m.Ebs.DeleteOnTermination,
      volumeType: m.Ebs.VolumeType, encrypted: m.Ebs.Encrypted, iops: m.Ebs.Iops, throughput: m.Ebs.Throughput,
    },
  }));
}
