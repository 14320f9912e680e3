/** Which handler answers which EC2 action. Adding an action is one line here plus its handler. */
import type { Handler } from './handler.js';
import * as images from './handlers/images.js';
import * as instances from './handlers/instances.js';
import * as regions from './handlers/regions.js';
import * as snapshots from './handlers/snapshots.js';
import * as tags from './handlers/tags.js';

export const HANDLERS: Record<string, Handler> = {
  DescribeRegions: regions.describeRegions,
  DescribeAvailabilityZones: regions.describeAvailabilityZones,
  DescribeImages: images.describeImages,
  CreateImage: images.createImage,
  DeregisterImage: images.deregister,
  DescribeSnapshots: snapshots.describe,
  RunInstances: instances.run,
  DescribeInstances: instances.describe,
  DescribeInstanceStatus: instances.describeStatus,
  StopInstances: instances.stop,
  StartInstances: instances.start,
  RebootInstances: instances.reboot,
  TerminateInstances: instances.terminate,
  GetConsoleOutput: instances.getConsoleOutput,
  CreateTags: tags.createTags,
  DeleteTags: tags.deleteTags,
};
