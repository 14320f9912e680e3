/**
 * The instance calls around RunInstances/DescribeInstances that tools make
 * (the Terraform AWS provider reads most of them on every refresh): instance
 * attributes, CPU credits, metadata and maintenance options, UEFI data.
 */
import type {
  DescribeInstanceAttributeRequest, DescribeInstanceCreditSpecificationsRequest, DescribeInstanceCreditSpecificationsResult,
  GetInstanceMetadataDefaultsRequest, GetInstanceMetadataDefaultsResult, GetInstanceUefiDataRequest, GetInstanceUefiDataResult,
  InstanceAttribute, InstanceCreditSpecification, ModifyInstanceAttributeRequest, ModifyInstanceCreditSpecificationRequest,
  ModifyInstanceCreditSpecificationResult, ModifyInstanceMaintenanceOptionsRequest, ModifyInstanceMaintenanceOptionsResult,
  ModifyInstanceMetadataOptionsRequest, ModifyInstanceMetadataOptionsResult, UnsuccessfulInstanceCreditSpecificationItem,
} from '@aws-sdk/client-ec2';
import type { InstanceRecord } from '../../model/records.js';
import type { Caller, Context } from '../../services/core/context.js';
import type { AttributeChange } from '../../services/instances/instance-attributes.js';
import {
  modifyInstanceAttribute as modifyAttribute, setAutoRecovery, setCpuCreditsEach, setMetadataOptions,
} from '../../services/instances/instance-attributes.js';
import type { InstanceDetails } from '../../services/instances/instances.js';
import { describeInstances } from '../../services/instances/instances.js';
import { ApiError, toApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { toSdkProductCodes } from '../views/images.js';
import { securityGroups } from '../views/instances.js';

/** The instance with its attributes and volumes. */
async function oneInstance(ctx: Context, caller: Caller, id: string | undefined): Promise<InstanceDetails> {
  const [d] = await describeInstances(ctx, caller, [required(id, 'InstanceId')]);
  return d!;
}

export const describeInstanceAttribute: Handler<DescribeInstanceAttributeRequest, InstanceAttribute> = async (ctx, caller, input) => {
  const attribute = required(input.Attribute, 'Attribute');
  const d = await oneInstance(ctx, caller, input.InstanceId);
  const { inst, attrs: rec } = d;
  const out: InstanceAttribute = { InstanceId: inst.id };
  switch (attribute) {
    case 'instanceType': out.InstanceType = { Value: inst.instanceType }; break;
    case 'userData': out.UserData = inst.userData ? { Value: inst.userData } : {}; break;
    case 'disableApiTermination': out.DisableApiTermination = { Value: rec.disableApiTermination }; break;
    case 'disableApiStop': out.DisableApiStop = { Value: rec.disableApiStop }; break;
    case 'instanceInitiatedShutdownBehavior': out.InstanceInitiatedShutdownBehavior = { Value: rec.shutdownBehavior }; break;
    case 'rootDeviceName': out.RootDeviceName = { Value: inst.rootDeviceName }; break;
    case 'blockDeviceMapping': out.BlockDeviceMappings = blockDevices(d); break;
    case 'sourceDestCheck': out.SourceDestCheck = { Value: rec.sourceDestCheck }; break;
    case 'groupSet': out.Groups = securityGroups(rec, d.groupNames); break;
    case 'ebsOptimized': out.EbsOptimized = { Value: rec.ebsOptimized }; break;
    case 'enaSupport': out.EnaSupport = { Value: rec.enaSupport }; break;
    case 'sriovNetSupport': out.SriovNetSupport = {}; break;
    case 'enclaveOptions': out.EnclaveOptions = { Enabled: false }; break;
    case 'productCodes': out.ProductCodes = toSdkProductCodes(inst.productCodes); break;
    case 'kernel': out.KernelId = {}; break;
    case 'ramdisk': out.RamdiskId = {}; break;
    default: throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  return out;
};

function blockDevices({ inst, volumes }: InstanceDetails): InstanceAttribute['BlockDeviceMappings'] {
  if (inst.state === 'terminated') return [];
  return volumes.map((v) => ({
    DeviceName: v!.attachment!.device,
    Ebs: { VolumeId: v!.id, Status: 'attached', AttachTime: new Date(v!.attachment!.attachTime), DeleteOnTermination: v!.attachment!.deleteOnTermination },
  }));
}

/** The one change a ModifyInstanceAttribute request asks for (AWS refuses several in one call). */
function attributeChange(input: ModifyInstanceAttributeRequest): AttributeChange {
  const changes: AttributeChange[] = [];
  const bool = (v: { Value?: boolean } | undefined) => v?.Value ?? false;
  if (input.InstanceType) changes.push({ name: 'instanceType', value: required(input.InstanceType.Value, 'InstanceType.Value') });
  if (input.UserData) changes.push({ name: 'userData', value: Buffer.from(input.UserData.Value ?? new Uint8Array()) });
  if (input.DisableApiTermination) changes.push({ name: 'disableApiTermination', value: bool(input.DisableApiTermination) });
  if (input.DisableApiStop) changes.push({ name: 'disableApiStop', value: bool(input.DisableApiStop) });
  if (input.SourceDestCheck) changes.push({ name: 'sourceDestCheck', value: bool(input.SourceDestCheck) });
  if (input.EbsOptimized) changes.push({ name: 'ebsOptimized', value: bool(input.EbsOptimized) });
  if (input.EnaSupport) changes.push({ name: 'enaSupport', value: bool(input.EnaSupport) });
  if (input.InstanceInitiatedShutdownBehavior) {
    changes.push({ name: 'instanceInitiatedShutdownBehavior', value: required(input.InstanceInitiatedShutdownBehavior.Value, 'Value') });
  }
  if (input.Groups?.length) changes.push({ name: 'groupSet', value: input.Groups });
  if (input.BlockDeviceMappings?.length) {
    changes.push({ name: 'blockDeviceMapping', value: input.BlockDeviceMappings.map((m) => ({
      deviceName: required(m.DeviceName, 'BlockDeviceMapping.DeviceName'), deleteOnTermination: m.Ebs?.DeleteOnTermination,
    })) });
  }
  if (input.Kernel || input.Ramdisk || input.SriovNetSupport) {
    throw new ApiError('UnsupportedOperation', 'Kiln instances are HVM: kernel, ramdisk and sriovNetSupport cannot be set');
  }
  if (input.Attribute) changes.push(legacyChange(input.Attribute, input.Value));
  if (changes.length > 1) throw new ApiError('InvalidParameterCombination', 'Fields for multiple attribute types specified');
  if (!changes.length) throw new ApiError('MissingParameter', 'The request must contain the parameter attribute');
  return changes[0]!;
}

/** The older form: Attribute=name&Value=value. */
function legacyChange(attribute: string, value: string | undefined): AttributeChange {
  const v = value ?? '';
  switch (attribute) {
    case 'instanceType': case 'instanceInitiatedShutdownBehavior': return { name: attribute, value: v };
    case 'userData': return { name: 'userData', value: Buffer.from(v, 'base64') };
    case 'disableApiTermination': case 'disableApiStop': case 'sourceDestCheck': case 'ebsOptimized': case 'enaSupport':
      if (v !== 'true' && v !== 'false') throw new ApiError('InvalidParameterValue', `Value (${v}) for parameter ${attribute} is invalid.`);
      return { name: attribute, value: v === 'true' };
    case 'groupSet': return { name: 'groupSet', value: v ? [v] : [] };
    default: throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
}

export const modifyInstanceAttribute: Handler<ModifyInstanceAttributeRequest, object> = async (ctx, caller, input) => {
  await modifyAttribute(ctx, caller, required(input.InstanceId, 'InstanceId'), attributeChange(input));
  return {};
};

export const describeInstanceCreditSpecifications: Handler<DescribeInstanceCreditSpecificationsRequest, DescribeInstanceCreditSpecificationsResult> =
  async (ctx, caller, input) => {
    if (input.InstanceIds?.length && input.MaxResults !== undefined) {
      throw new ApiError('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    const named = !!input.InstanceIds?.length;
    const specs: Array<InstanceCreditSpecification & { inst: InstanceRecord }> = [];
    for (const { inst, attrs: rec } of await describeInstances(ctx, caller, input.InstanceIds)) {
      if (!rec.cpuCredits) {
        if (named) throw new ApiError('InstanceCreditSpecification.NotSupported', `The instance ${inst.id} is not a burstable performance instance`);
        continue;
      }
      if (!named && (rec.cpuCredits !== 'unlimited' || inst.state === 'terminated')) continue;
      specs.push({ InstanceId: inst.id, CpuCredits: rec.cpuCredits, inst });
    }
    const filtered = applyFilters(specs, input.Filters, { 'instance-id': (s) => s.InstanceId });
    const page = paginate(filtered, 'credit-specs', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
    return { InstanceCreditSpecifications: page.items.map(({ InstanceId, CpuCredits }) => ({ InstanceId, CpuCredits })), NextToken: page.nextToken };
  };

export const modifyInstanceCreditSpecification: Handler<ModifyInstanceCreditSpecificationRequest, ModifyInstanceCreditSpecificationResult> =
  async (ctx, caller, input) => {
    const items = required(input.InstanceCreditSpecifications, 'InstanceCreditSpecification').map((req) => ({
      instanceId: required(req.InstanceId, 'InstanceId'), cpuCredits: required(req.CpuCredits, 'CpuCredits'),
    }));
    const ok: Array<{ InstanceId: string }> = [];
    const failed: UnsuccessfulInstanceCreditSpecificationItem[] = [];
    for (const { instanceId, error } of await setCpuCreditsEach(ctx, caller, items)) {
      if (error === undefined) { ok.push({ InstanceId: instanceId }); continue; }
      const e = toApiError(error);
      if (e.status >= 500) throw e;
      failed.push({ InstanceId: instanceId, Error: { Code: e.code as 'IncorrectInstanceState', Message: e.message } });
    }
    return { SuccessfulInstanceCreditSpecifications: ok, UnsuccessfulInstanceCreditSpecifications: failed };
  };

export const modifyInstanceMetadataOptions: Handler<ModifyInstanceMetadataOptionsRequest, ModifyInstanceMetadataOptionsResult> = async (ctx, caller, input) => {
  const id = required(input.InstanceId, 'InstanceId');
  const rec = await setMetadataOptions(ctx, caller, id, {
    httpTokens: input.HttpTokens, httpPutResponseHopLimit: input.HttpPutResponseHopLimit, httpEndpoint: input.HttpEndpoint,
    httpProtocolIpv6: input.HttpProtocolIpv6, instanceMetadataTags: input.InstanceMetadataTags,
  });
  const m = rec.metadataOptions;
  return {
    InstanceId: id,
    InstanceMetadataOptions: {
      State: 'applied', HttpTokens: m.httpTokens, HttpPutResponseHopLimit: m.httpPutResponseHopLimit, HttpEndpoint: m.httpEndpoint,
      HttpProtocolIpv6: m.httpProtocolIpv6, InstanceMetadataTags: m.instanceMetadataTags,
    },
  };
};

export const modifyInstanceMaintenanceOptions: Handler<ModifyInstanceMaintenanceOptionsRequest, ModifyInstanceMaintenanceOptionsResult> = async (ctx, caller, input) => {
  const id = required(input.InstanceId, 'InstanceId');
  const rec = await setAutoRecovery(ctx, caller, id, input.AutoRecovery);
  return { InstanceId: id, AutoRecovery: rec.autoRecovery, RebootMigration: 'default' };
};

/** Kiln boots legacy BIOS style: an instance has no UEFI variable store. */
export const getInstanceUefiData: Handler<GetInstanceUefiDataRequest, GetInstanceUefiDataResult> = async (ctx, caller, input) => {
  const { inst } = await oneInstance(ctx, caller, input.InstanceId);
  return { InstanceId: inst.id };
};

/** No account-level IMDS defaults are set in Kiln: launches take AWS's own defaults. */
export const getInstanceMetadataDefaults: Handler<GetInstanceMetadataDefaultsRequest, GetInstanceMetadataDefaultsResult> = async () =>
  ({ AccountLevel: {} });

export const HANDLERS: Record<string, Handler> = {
  DescribeInstanceAttribute: describeInstanceAttribute,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  DescribeInstanceCreditSpecifications: describeInstanceCreditSpecifications,
  ModifyInstanceCreditSpecification: modifyInstanceCreditSpecification,
  ModifyInstanceMetadataOptions: modifyInstanceMetadataOptions,
  ModifyInstanceMaintenanceOptions: modifyInstanceMaintenanceOptions,
  GetInstanceUefiData: getInstanceUefiData,
  GetInstanceMetadataDefaults: getInstanceMetadataDefaults,
};
