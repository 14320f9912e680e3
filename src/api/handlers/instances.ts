import type {
  DescribeInstanceStatusRequest, DescribeInstanceStatusResult, DescribeInstancesRequest, DescribeInstancesResult,
  GetConsoleOutputRequest, GetConsoleOutputResult, Instance, InstanceBlockDeviceMapping, InstanceStateChange, InstanceStatus, RebootInstancesRequest,
  Reservation, RunInstancesRequest, StartInstancesRequest, StartInstancesResult, StopInstancesRequest, StopInstancesResult,
  TerminateInstancesRequest, TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import type { Context } from '../../services/context.js';
import { isNitro } from '../../services/instance-types.js';
import { zoneIdOf } from '../../services/network.js';
import { checkProtection, recordLaunch } from '../../services/instance-attributes.js';
import type { StateChange } from '../../services/instances.js';
import { STATE_CODES, changeState, consoleOutput, runInstances, visibleInstances } from '../../services/instances.js';
import type { InstanceRecord, VolumeRecord } from '../../services/model.js';
import { ApiError } from '../errors.js';
import type { FieldValue, FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { mappingRequests } from '../mappings.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs, toSdkTags } from '../tags.js';
import { toSdkProductCodes } from './images.js';
import { instanceNetworkFilters, prepareRun, sdkInstanceExtras } from './instance-extras.js';

async function toSdkInstance(ctx: Context, inst: InstanceRecord): Promise<Instance> {
  const vols = (await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)))).filter((v): v is VolumeRecord => !!v?.attachment);
  const live = inst.state !== 'terminated';
  return {
    InstanceId: inst.id, ImageId: inst.imageId, State: { Code: STATE_CODES[inst.state], Name: inst.state },
    PrivateDnsName: '', PublicDnsName: '', StateTransitionReason: inst.stateTransitionReason, KeyName: inst.keyName,
    AmiLaunchIndex: inst.amiLaunchIndex, ProductCodes: toSdkProductCodes(inst.productCodes), InstanceType: inst.instanceType as Instance['InstanceType'],
    LaunchTime: new Date(inst.launchTime), Placement: { AvailabilityZone: inst.availabilityZone, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' }, Architecture: inst.architecture as Instance['Architecture'], RootDeviceType: 'ebs',
    RootDeviceName: inst.rootDeviceName, VirtualizationType: 'hvm', Hypervisor: 'xen', ClientToken: inst.clientToken ?? '',
    EbsOptimized: false, EnaSupport: true, SourceDestCheck: true, Tags: inst.tags.length ? toSdkTags(inst.tags) : undefined,
    StateReason: inst.stateReason ? { Code: inst.stateReason.code, Message: inst.stateReason.message }
      : inst.state === 'pending' ? { Code: 'pending', Message: 'pending' } : undefined,
    BlockDeviceMappings: live ? vols.map((v) => ({
      DeviceName: v.attachment!.device,
      Ebs: { VolumeId: v.id, Status: 'attached', AttachTime: new Date(v.attachment!.attachTime), DeleteOnTermination: v.attachment!.deleteOnTermination },
    })) : [],
    PlatformDetails: 'Linux/UNIX', UsageOperation: 'RunInstances', UsageOperationUpdateTime: new Date(inst.firstLaunchTime ?? inst.launchTime),
    BootMode: inst.bootMode as Instance['BootMode'], CurrentInstanceBootMode: currentBootMode(inst), TpmSupport: inst.tpmSupport,
    Operator: { Managed: false }, NetworkPerformanceOptions: { BandwidthWeighting: 'default' },
    // Network (VPC, subnet, address, groups, interface) and attributes (CPU, metadata, protection ...).
    ...await sdkInstanceExtras(ctx, inst),
  };
}

/** The boot mode the instance runs in: UEFI when its image asks for it, or prefers it on a Nitro type; else legacy BIOS. */
function currentBootMode(inst: InstanceRecord): 'uefi' | 'legacy-bios' {
  return inst.bootMode === 'uefi' || (inst.bootMode === 'uefi-preferred' && isNitro(inst.instanceType)) ? 'uefi' : 'legacy-bios';
}

/**
 * The DescribeInstances filters read off the instances as DescribeInstances
 * shows them (`shown`, built up front since filters are synchronous), so a
 * filter always agrees with the output.
 */
function instanceShownFilters(shown: Map<string, Instance>): FilterFields<InstanceRecord> {
  const at = <T>(pick: (x: Instance) => T) => (i: InstanceRecord) => pick(shown.get(i.id)!) as FieldValue;
  const ebs = <T>(pick: (m: InstanceBlockDeviceMapping) => T) => at((x) => (x.BlockDeviceMappings ?? []).map(pick));
  const none = () => undefined;
  return {
    'block-device-mapping.attach-time': ebs((m) => m.Ebs?.AttachTime?.toISOString()),
    'block-device-mapping.delete-on-termination': ebs((m) => m.Ebs?.DeleteOnTermination),
    'block-device-mapping.device-name': ebs((m) => m.DeviceName),
    'block-device-mapping.status': ebs((m) => m.Ebs?.Status),
    'block-device-mapping.volume-id': ebs((m) => m.Ebs?.VolumeId),
    'boot-mode': at((x) => x.BootMode),
    'current-instance-boot-mode': at((x) => x.CurrentInstanceBootMode),
    'tpm-support': at((x) => x.TpmSupport),
    'dns-name': at((x) => x.PublicDnsName),
    'ena-support': at((x) => x.EnaSupport),
    'enclave-options.enabled': at((x) => x.EnclaveOptions?.Enabled),
    'hibernation-options.configured': at((x) => x.HibernationOptions?.Configured),
    'maintenance-options.auto-recovery': at((x) => x.MaintenanceOptions?.AutoRecovery),
    'metadata-options.state': at((x) => x.MetadataOptions?.State),
    'metadata-options.http-protocol-ipv6': at((x) => x.MetadataOptions?.HttpProtocolIpv6),
    'network-performance-options.bandwidth-weighting': at((x) => x.NetworkPerformanceOptions?.BandwidthWeighting),
    'operator.managed': at((x) => x.Operator?.Managed),
    'operator.principal': at((x) => x.Operator?.Principal),
    'private-dns-name-options.hostname-type': at((x) => x.PrivateDnsNameOptions?.HostnameType),
    'private-dns-name-options.enable-resource-name-dns-a-record': at((x) => x.PrivateDnsNameOptions?.EnableResourceNameDnsARecord),
    'private-dns-name-options.enable-resource-name-dns-aaaa-record': at((x) => x.PrivateDnsNameOptions?.EnableResourceNameDnsAAAARecord),
    'usage-operation': at((x) => x.UsageOperation),
    'usage-operation-update-time': at((x) => x.UsageOperationUpdateTime?.toISOString()),
    'state-reason-code': at((x) => x.StateReason?.Code),
    'state-reason-message': at((x) => x.StateReason?.Message),
    'reason': at((x) => x.StateTransitionReason),
    'launch-index': at((x) => x.AmiLaunchIndex),
    'availability-zone-id': (i) => zoneIdOf(i.region, i.availabilityZone),
    // What Kiln's instances never have: Windows, spot, kernels, placement groups, dedicated hosts, instance profiles ...
    ...Object.fromEntries(['platform', 'instance-lifecycle', 'spot-instance-request-id', 'kernel-id', 'ramdisk-id', 'placement-group-name',
      'placement-partition-number', 'capacity-reservation-id', 'host-id', 'affinity', 'outpost-arn', 'iam-instance-profile.arn',
      'iam-instance-profile.id', 'requester-id'].map((name) => [name, none])),
  };
}

const INSTANCE_FILTERS: FilterFields<InstanceRecord> = {
  'architecture': (i) => i.architecture,
  'availability-zone': (i) => i.availabilityZone,
  'image-id': (i) => i.imageId,
  'instance-id': (i) => i.id,
  'instance-state-code': (i) => STATE_CODES[i.state],
  'instance-state-name': (i) => i.state,
  'instance-type': (i) => i.instanceType,
  'key-name': (i) => i.keyName,
  'product-code': (i) => i.productCodes?.map((p) => p.code),
  'product-code.type': (i) => i.productCodes?.map((p) => p.type),
  'launch-time': (i) => i.launchTime,
  'owner-id': (i) => i.account,
  'reservation-id': (i) => i.reservationId,
  'root-device-name': (i) => i.rootDeviceName,
  'root-device-type': () => 'ebs',
  'client-token': (i) => i.clientToken,
};

/** The instances grouped by reservation; `shown` holds instances already converted for the filters. */
async function reservations(ctx: Context, insts: InstanceRecord[], shown?: Map<string, Instance>): Promise<Reservation[]> {
  const byId = new Map<string, Reservation>();
  for (const inst of insts) {
    let r = byId.get(inst.reservationId);
    if (!r) {
      r = { ReservationId: inst.reservationId, OwnerId: inst.account, Groups: [], Instances: [] };
      byId.set(inst.reservationId, r);
    }
    r.Instances!.push(shown?.get(inst.id) ?? await toSdkInstance(ctx, inst));
  }
  return [...byId.values()];
}

export const run: Handler<RunInstancesRequest, Reservation> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['instance', 'volume', 'network-interface']);
  const launch = await prepareRun(ctx, caller, input);
  const insts = await runInstances(ctx, caller, {
    imageId: required(input.ImageId, 'ImageId'), instanceType: input.InstanceType, minCount: required(input.MinCount, 'MinCount'),
    maxCount: required(input.MaxCount, 'MaxCount'), userData: input.UserData, keyName: input.KeyName,
    availabilityZone: launch.availabilityZone, clientToken: input.ClientToken, tags: tags.instance, volumeTags: tags.volume,
    blockDeviceMappings: mappingRequests(input.BlockDeviceMappings),
  });
  await recordLaunch(ctx, insts, launch);
  const [r] = await reservations(ctx, insts);
  return r;
};

export const describe: Handler<DescribeInstancesRequest, DescribeInstancesResult> = async (ctx, caller, input) => {
  if (input.InstanceIds?.length && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const visible = await visibleInstances(ctx, caller, input.InstanceIds);
  let shown: Map<string, Instance> | undefined;
  let fields = INSTANCE_FILTERS;
  if (input.Filters?.length) {
    shown = new Map();
    for (const i of visible) shown.set(i.id, await toSdkInstance(ctx, i));
    fields = { ...instanceShownFilters(shown), ...await instanceNetworkFilters(ctx, visible), ...INSTANCE_FILTERS };
  }
  const insts = applyFilters(visible, input.Filters, fields, (i) => i.tags);
  const page = paginate(insts, 'instances', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Reservations: await reservations(ctx, page.items, shown), NextToken: page.nextToken };
};

function statusOf(inst: InstanceRecord): InstanceStatus {
  const check = inst.state === 'running' ? { Status: 'ok' as const, Details: [{ Name: 'reachability' as const, Status: 'passed' as const }] }
    : inst.state === 'pending' ? { Status: 'initializing' as const, Details: [{ Name: 'reachability' as const, Status: 'initializing' as const }] }
      : { Status: 'not-applicable' as const };
  return {
    InstanceId: inst.id, AvailabilityZone: inst.availabilityZone, InstanceState: { Code: STATE_CODES[inst.state], Name: inst.state },
    InstanceStatus: check, SystemStatus: check, AttachedEbsStatus: check,
  };
}

const STATUS_FILTERS: FilterFields<InstanceRecord> = {
  'availability-zone': (i) => i.availabilityZone,
  'instance-state-code': (i) => STATE_CODES[i.state],
  'instance-state-name': (i) => i.state,
  'instance-status.status': (i) => statusOf(i).InstanceStatus!.Status,
  'system-status.status': (i) => statusOf(i).SystemStatus!.Status,
};

export const describeStatus: Handler<DescribeInstanceStatusRequest, DescribeInstanceStatusResult> = async (ctx, caller, input) => {
  let insts = await visibleInstances(ctx, caller, input.InstanceIds);
  if (!input.IncludeAllInstances) insts = insts.filter((i) => i.state === 'running');
  insts = applyFilters(insts, input.Filters, STATUS_FILTERS);
  const page = paginate(insts, 'instance-status', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { InstanceStatuses: page.items.map(statusOf), NextToken: page.nextToken };
};

function toChanges(changes: StateChange[]): InstanceStateChange[] {
  return changes.map((c) => ({
    InstanceId: c.instanceId,
    PreviousState: { Code: STATE_CODES[c.previous], Name: c.previous },
    CurrentState: { Code: STATE_CODES[c.current], Name: c.current },
  }));
}

export const stop: Handler<StopInstancesRequest, StopInstancesResult> = async (ctx, caller, input) => {
  await checkProtection(ctx, caller, input.InstanceIds ?? [], 'stop'); // disableApiStop
  return { StoppingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'stop', { force: input.Force })) };
};

export const start: Handler<StartInstancesRequest, StartInstancesResult> = async (ctx, caller, input) =>
  ({ StartingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'start')) });

export const terminate: Handler<TerminateInstancesRequest, TerminateInstancesResult> = async (ctx, caller, input) => {
  await checkProtection(ctx, caller, input.InstanceIds ?? [], 'terminate'); // disableApiTermination
  return { TerminatingInstances: toChanges(await changeState(ctx, caller, input.InstanceIds ?? [], 'terminate')) };
};

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
