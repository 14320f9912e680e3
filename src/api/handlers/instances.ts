/** RunInstances, DescribeInstances, DescribeInstanceStatus, the lifecycle actions and GetConsoleOutput. */
import type {
  DescribeInstanceStatusRequest, DescribeInstanceStatusResult, DescribeInstancesRequest, DescribeInstancesResult,
  GetConsoleOutputRequest, GetConsoleOutputResult, RebootInstancesRequest, Reservation, RunInstancesRequest,
  StartInstancesRequest, StartInstancesResult, StopInstancesRequest, StopInstancesResult, TerminateInstancesRequest, TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { changeState, consoleOutput, describeInstances, instanceStatuses } from '../../services/instances/instances.js';
import type { LaunchRequest } from '../../services/instances/launch.js';
import { runInstances } from '../../services/instances/launch.js';
import { ApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { mappingRequests } from '../mappings.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs } from '../tags.js';
import { instanceFilters, reservations, STATUS_FILTERS, statusOf, toChanges } from '../views/instances.js';

/**
 * The request as the launch service takes it. A primary interface
 * (NetworkInterface.1, device 0) may name a subnet, groups and an address;
 * other interfaces are not supported.
 */
function launchRequest(input: RunInstancesRequest): LaunchRequest {
  const nics = input.NetworkInterfaces ?? [];
  const primary = nics[0];
  if (nics.length > 1 || (primary && ((primary.DeviceIndex ?? 0) !== 0 || primary.NetworkInterfaceId))) {
    throw new ApiError('UnsupportedOperation', 'Kiln instances have exactly one network interface, made at launch');
  }
  if (primary && (input.SubnetId || input.SecurityGroupIds?.length || input.PrivateIpAddress)) {
    throw new ApiError('InvalidParameterCombination', 'Network interfaces and an instance-level subnet, security groups or private IP cannot be specified together');
  }
  const tags = tagsFromSpecs(input.TagSpecifications, ['instance', 'volume', 'network-interface']);
  const m = input.MetadataOptions;
  return {
    imageId: required(input.ImageId, 'ImageId'), instanceType: input.InstanceType, minCount: required(input.MinCount, 'MinCount'),
    maxCount: required(input.MaxCount, 'MaxCount'), userData: input.UserData, keyName: input.KeyName,
    clientToken: input.ClientToken, tags: tags.instance, volumeTags: tags.volume,
    blockDeviceMappings: mappingRequests(input.BlockDeviceMappings),
    subnetId: primary?.SubnetId ?? input.SubnetId, availabilityZone: input.Placement?.AvailabilityZone,
    privateIp: primary?.PrivateIpAddress ?? input.PrivateIpAddress, securityGroupIds: primary?.Groups ?? input.SecurityGroupIds,
    securityGroupNames: input.SecurityGroups, cpuCredits: input.CreditSpecification?.CpuCredits,
    disableApiTermination: input.DisableApiTermination, disableApiStop: input.DisableApiStop,
    shutdownBehavior: input.InstanceInitiatedShutdownBehavior, ebsOptimized: input.EbsOptimized, monitoring: input.Monitoring?.Enabled,
    hibernation: input.HibernationOptions?.Configured, autoRecovery: input.MaintenanceOptions?.AutoRecovery,
    metadataOptions: m && {
      httpTokens: m.HttpTokens, httpPutResponseHopLimit: m.HttpPutResponseHopLimit, httpEndpoint: m.HttpEndpoint,
      httpProtocolIpv6: m.HttpProtocolIpv6, instanceMetadataTags: m.InstanceMetadataTags,
    },
  };
}

export const run: Handler<RunInstancesRequest, Reservation> = async (ctx, caller, input) => {
  const [r] = reservations(await runInstances(ctx, caller, launchRequest(input)));
  return r!;
};

export const describe: Handler<DescribeInstancesRequest, DescribeInstancesResult> = async (ctx, caller, input) => {
  if (input.InstanceIds?.length && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const visible = await describeInstances(ctx, caller, input.InstanceIds);
  const { fields, shown } = instanceFilters(input.Filters?.length ? visible : []);
  const insts = applyFilters(visible, input.Filters, fields, (d) => d.inst.tags);
  const page = paginate(insts, 'instances', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Reservations: reservations(page.items, shown), NextToken: page.nextToken };
};

export const describeStatus: Handler<DescribeInstanceStatusRequest, DescribeInstanceStatusResult> = async (ctx, caller, input) => {
  const statuses = applyFilters(await instanceStatuses(ctx, caller, input.InstanceIds, !!input.IncludeAllInstances), input.Filters, STATUS_FILTERS);
  const page = paginate(statuses, 'instance-status', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { InstanceStatuses: page.items.map(statusOf), NextToken: page.nextToken };
};

export const stop: Handler<StopInstancesRequest, StopInstancesResult> = async (ctx, caller, input) =>
  ({ StoppingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'stop', { force: input.Force })) });

export const start: Handler<StartInstancesRequest, StartInstancesResult> = async (ctx, caller, input) =>
  ({ StartingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'start')) });

export const terminate: Handler<TerminateInstancesRequest, TerminateInstancesResult> = async (ctx, caller, input) =>
  ({ TerminatingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'terminate')) });

export const reboot: Handler<RebootInstancesRequest, object> = async (ctx, caller, input) => {
  await changeState(ctx, caller, input.InstanceIds ?? [], 'reboot');
  return {};
};

export const getConsoleOutput: Handler<GetConsoleOutputRequest, GetConsoleOutputResult> = async (ctx, caller, input) => {
  const id = required(input.InstanceId, 'InstanceId');
  const out = await consoleOutput(ctx, caller, id);
  return { InstanceId: id, Timestamp: new Date(), Output: out.length ? out.toString('base64') : undefined };
};

export const HANDLERS: Record<string, Handler> = {
  RunInstances: run,
  DescribeInstances: describe,
  DescribeInstanceStatus: describeStatus,
  StopInstances: stop,
  StartInstances: start,
  RebootInstances: reboot,
  TerminateInstances: terminate,
  GetConsoleOutput: getConsoleOutput,
};
