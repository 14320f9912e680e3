/** RunInstances, DescribeInstances, DescribeInstanceStatus, the lifecycle actions and GetConsoleOutput. */
import type {
  DescribeInstanceStatusRequest, DescribeInstanceStatusResult, DescribeInstancesRequest, DescribeInstancesResult,
  GetConsoleOutputRequest, GetConsoleOutputResult, RebootInstancesRequest, Reservation, RunInstancesRequest,
  StartInstancesRequest, StartInstancesResult, StopInstancesRequest, StopInstancesResult, TerminateInstancesRequest, TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { changeState, consoleOutput, describeInstances, instanceStatuses } from '../../services/instances/instances.js';
import type { RunRequest } from '../../services/templates/template-launch.js';
import { launchInstances } from '../../services/templates/template-launch.js';
import { ApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { instanceFilters, reservations, STATUS_FILTERS, statusOf, toChanges } from '../views/instances.js';
import { launchDataFromSdk } from '../views/launch-templates.js';

/** The request as the launch service takes it: its launch fields in a template's shape, and a template to start from. */
function runRequest(input: RunInstancesRequest): RunRequest {
  const lt = input.LaunchTemplate;
  return {
    data: launchDataFromSdk(input, ['instance', 'volume', 'network-interface']),
    minCount: required(input.MinCount, 'MinCount'), maxCount: required(input.MaxCount, 'MaxCount'),
    subnetId: input.SubnetId, privateIp: input.PrivateIpAddress, clientToken: input.ClientToken,
    launchTemplate: lt && { id: lt.LaunchTemplateId, name: lt.LaunchTemplateName, version: lt.Version },
  };
}

export const run: Handler<RunInstancesRequest, Reservation> = async (ctx, caller, input) => {
  const [r] = reservations(await launchInstances(ctx, caller, runRequest(input)));
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
