/**
 * RunInstances, with or without a launch template: the request's parameters
 * over the template version's data (template-data.ts merges them as EC2
 * does), then the one primary network interface Kiln gives an instance, and
 * the launch itself (instances/launch.ts). An instance launched from a
 * template carries the tags aws:ec2launchtemplate:id and
 * aws:ec2launchtemplate:version, as on AWS. And GetLaunchTemplateData: the
 * data of a template that would launch an instance like a given one.
 */
import type { Tag } from '../../model/records.js';
import type { LaunchTemplateData } from '../../model/template-records.js';
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import type { InstanceDetails } from '../instances/instances.js';
import { describeInstances } from '../instances/instances.js';
import type { LaunchRequest } from '../instances/launch.js';
import { runInstances } from '../instances/launch.js';
import { mappingRequests, mergeLaunchData, tagsFor } from './template-data.js';
import type { TemplateRef } from './templates.js';
import { findTemplate, findVersion } from './templates.js';

/** A RunInstances request: its launch parameters in a template's shape, and what only a request says. */
export interface RunRequest {
  data: LaunchTemplateData;
  minCount: number;
  maxCount: number;
  /** Instance-level subnet and address (a template puts them in a network interface). */
  subnetId?: string;
  privateIp?: string;
  clientToken?: string;
  /** The template to start from, and its version: a number, `$Latest` or `$Default` (the default). */
  launchTemplate?: TemplateRef & { version?: string };
}

/** RunInstances: the template's data (if any) under the request's, then one launch. */
export async function launchInstances(ctx: Context, caller: Caller, req: RunRequest): Promise<InstanceDetails[]> {
  if (!req.launchTemplate) return runInstances(ctx, caller, launchRequest(req.data, req, []));
  const template = await findTemplate(ctx, caller, req.launchTemplate);
  const version = findVersion(template, req.launchTemplate.version || '$Default');
  const marks = [{ key: 'aws:ec2launchtemplate:id', value: template.id }, { key: 'aws:ec2launchtemplate:version', value: String(version.versionNumber) }];
  return runInstances(ctx, caller, launchRequest(mergeLaunchData(version.data, req.data), req, marks));
}

/**
 * The launch service's request from merged data. Kiln instances have exactly
 * one network interface (device 0, made at launch); when one is given, the
 * subnet, groups and address belong in it, not beside it, as EC2 says.
 */
function launchRequest(d: LaunchTemplateData, run: RunRequest, marks: Tag[]): LaunchRequest {
  if (!d.imageId) throw new Invalid('MissingParameter', 'The request must contain the parameter ImageId');
  const nics = d.networkInterfaces ?? [];
  const primary = nics[0];
  if (nics.length > 1 || (primary && ((primary.deviceIndex ?? 0) !== 0 || primary.networkInterfaceId))) {
    throw new Invalid('UnsupportedOperation', 'Kiln instances have exactly one network interface, made at launch');
  }
  if (primary && (run.subnetId || d.securityGroupIds?.length || run.privateIp)) {
    throw new Invalid('InvalidParameterCombination', 'Network interfaces and an instance-level subnet, security groups or private IP cannot be specified together');
  }
  const instanceTags = [...(tagsFor(d, 'instance') ?? []), ...marks];
  return {
    imageId: d.imageId, instanceType: d.instanceType, minCount: run.minCount, maxCount: run.maxCount, userData: d.userData, keyName: d.keyName,
    clientToken: run.clientToken, tags: instanceTags.length ? instanceTags : undefined, volumeTags: tagsFor(d, 'volume'),
    blockDeviceMappings: mappingRequests(d.blockDeviceMappings),
    subnetId: primary?.subnetId ?? run.subnetId, availabilityZone: d.availabilityZone,
    privateIp: primary?.privateIpAddress ?? run.privateIp, securityGroupIds: primary?.groups ?? d.securityGroupIds,
    securityGroupNames: d.securityGroups, cpuCredits: d.cpuCredits,
    disableApiTermination: d.disableApiTermination, disableApiStop: d.disableApiStop,
    shutdownBehavior: d.instanceInitiatedShutdownBehavior, ebsOptimized: d.ebsOptimized, monitoring: d.monitoring,
    hibernation: d.hibernation, autoRecovery: d.autoRecovery, metadataOptions: d.metadataOptions,
  };
}

/**
 * GetLaunchTemplateData: the instance's launch parameters as template data
 * (the console's "Create template from instance"). Its private address is
 * left out (a second instance cannot have it), and so are the tags AWS
 * reserves (aws:...), which a template may not hold. A volume made from
 * the image's own snapshot for its device names no snapshot: the image gives
 * it again (and its snapshot may be one the caller cannot name, as for a
 * public image's).
 */
export async function launchDataOf(ctx: Context, caller: Caller, instanceId: string | undefined): Promise<LaunchTemplateData> {
  if (!instanceId) throw new Invalid('MissingParameter', 'The request must contain the parameter InstanceId');
  const [{ inst, attrs, volumes }] = await describeInstances(ctx, caller, [instanceId]) as [InstanceDetails];
  const tags = inst.tags.filter((t) => !t.key.startsWith('aws:'));
  const image = await ctx.store.images.get(inst.imageId);
  const fromImage = (device: string, snapshotId?: string) =>
    !!snapshotId && !!image?.blockDeviceMappings.some((m) => m.deviceName === device && m.ebs?.snapshotId === snapshotId);
  return {
    imageId: inst.imageId, instanceType: inst.instanceType, keyName: inst.keyName, userData: inst.userData,
    networkInterfaces: [{ deviceIndex: 0, subnetId: attrs.subnetId, groups: attrs.securityGroupIds, associatePublicIpAddress: false, deleteOnTermination: true }],
    blockDeviceMappings: volumes.map((v) => ({
      deviceName: v.attachment!.device,
      ebs: {
        snapshotId: fromImage(v.attachment!.device, v.snapshotId) ? undefined : v.snapshotId, volumeSize: v.size, volumeType: v.volumeType, deleteOnTermination: v.attachment!.deleteOnTermination,
        encrypted: v.encrypted, iops: v.iops, throughput: v.throughput,
      },
    })),
    metadataOptions: attrs.metadataOptions,
    tagSpecifications: tags.length ? [{ resourceType: 'instance', tags }] : undefined,
    instanceInitiatedShutdownBehavior: attrs.shutdownBehavior, disableApiTermination: attrs.disableApiTermination,
    disableApiStop: attrs.disableApiStop, ebsOptimized: attrs.ebsOptimized, monitoring: attrs.monitoring,
    availabilityZone: inst.availabilityZone, cpuCredits: attrs.cpuCredits, hibernation: attrs.hibernation, autoRecovery: attrs.autoRecovery,
  };
}
