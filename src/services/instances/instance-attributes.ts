/**
 * What an instance carries besides its lifecycle record: its place in the
 * default VPC (subnet, private address, security groups, network interface)
 * and the attributes AWS lets a caller read and change one at a time
 * (DescribeInstanceAttribute / ModifyInstanceAttribute): termination and stop
 * protection, shutdown behaviour, CPU credits, metadata options and friends.
 *
 * Kept in their own collection, keyed by the instance id, so the lifecycle
 * code (services/instances.ts) stays about booting and stopping. A record is
 * written at launch (in RunInstances' transaction) and made with defaults on first read for
 * instances launched before it existed.
 */
import type { Caller, Context } from '../core/context.js';
import { availabilityZones } from '../core/context.js';
import { Invalid, InvalidState } from '../core/errors.js';
import { architecturesOf, INSTANCE_TYPES, knownInstanceType, MAX_USER_DATA_BYTES, userDataTooLong } from './instance-types.js';
import type { InstanceRecord, Owned } from '../../model/records.js';
import type { DefaultSubnet, VpcRange } from '../network/network.js';
import { defaultSecurityGroup, defaultSubnets, derivedId, inSubnet, nextFreeAddress, subnetForZone, vpcRange } from '../network/network.js';
import type { CpuCredits, InstanceAttributesRecord, MetadataOptions } from '../../model/extra-records.js';
import { visibleInstances } from './lookup.js';
import { enforce, resolveGroupIds } from '../network/security-groups.js';


const KIND = 'instance-attributes';

export const attributeStore = (ctx: Context) => ctx.store.collection<InstanceAttributesRecord>(KIND);

/** What RunInstances may ask for; everything optional. */
export interface LaunchOptions {
  /** A retried request's own instances do not hold its address against it. */
  clientToken?: string;
  subnetId?: string;
  availabilityZone?: string;
  privateIp?: string;
  securityGroupIds?: string[];
  securityGroupNames?: string[];
  cpuCredits?: string;
  disableApiTermination?: boolean;
  disableApiStop?: boolean;
  shutdownBehavior?: string;
  ebsOptimized?: boolean;
  monitoring?: boolean;
  hibernation?: boolean;
  autoRecovery?: string;
  metadataOptions?: Partial<Record<keyof MetadataOptions, string | number>>;
}

/** A launch's network and attributes, validated before any instance exists. */
export interface PreparedLaunch {
  /** The zone the launch goes to when a subnet names it. */
  availabilityZone?: string;
  subnet?: DefaultSubnet;
  privateIp?: string;
  securityGroupIds: string[];
  attributes: Omit<InstanceAttributesRecord, keyof Owned | 'subnetId' | 'privateIp' | 'securityGroupIds' | 'networkInterfaceId' | 'cpuCredits' | 'fromLaunch'>;
  cpuCredits?: CpuCredits;
}

/**
 * Validates the network and attribute parts of a RunInstances request, so a
 * bad one launches nothing. `count` is how many instances it may launch.
 */
export async function prepareLaunch(ctx: Context, caller: Caller, instanceType: string, opts: LaunchOptions, count = 1): Promise<PreparedLaunch> {
  if (opts.privateIp !== undefined) {
    if (count > 1) throw new Invalid('InvalidParameterCombination', 'A private IP address cannot be given when launching more than one instance');
    const retry = (i: InstanceRecord) => !!opts.clientToken && i.clientToken === opts.clientToken;
    if ((await addressesInUse(ctx, retry, await takenOnHost(ctx))).has(opts.privateIp)) throw new Invalid('InvalidIPAddress.InUse', `Address ${opts.privateIp} is in use.`);
  }
  const groups = await resolveGroupIds(ctx, caller, opts.securityGroupIds, opts.securityGroupNames);
  return launchDefaults(vpcRange(ctx), caller, instanceType, opts, groups);
}

function launchDefaults(range: VpcRange, caller: Caller, instanceType: string, opts: LaunchOptions, securityGroupIds: string[]): PreparedLaunch {
  let subnet: DefaultSubnet | undefined;
  if (opts.subnetId) {
    subnet = defaultSubnets(caller, range).find((s) => s.subnetId === opts.subnetId);
    if (!subnet) throw new Invalid('InvalidSubnetID.NotFound', `The subnet ID '${opts.subnetId}' does not exist`);
    if (opts.availabilityZone && opts.availabilityZone !== subnet.availabilityZone) {
      throw new Invalid('InvalidParameterCombination', `Subnet ${subnet.subnetId} is in ${subnet.availabilityZone}, not ${opts.availabilityZone}`);
    }
  }
  if (opts.privateIp !== undefined) {
    const s = subnet ?? subnetForZone(caller, opts.availabilityZone || availabilityZones(caller.region)[0]!, range);
    if (!s || !inSubnet(s, opts.privateIp)) {
      throw new Invalid('InvalidParameterValue', `Address ${opts.privateIp} does not fall within the subnet's address range`);
    }
  }
  return {
    availabilityZone: subnet?.availabilityZone ?? (opts.availabilityZone || undefined),
    subnet, privateIp: opts.privateIp, securityGroupIds,
    cpuCredits: cpuCreditsFor(instanceType, opts.cpuCredits),
    attributes: {
      disableApiTermination: opts.disableApiTermination ?? false, disableApiStop: opts.disableApiStop ?? false,
      shutdownBehavior: oneOf(opts.shutdownBehavior ?? 'stop', ['stop', 'terminate'], 'InstanceInitiatedShutdownBehavior'),
      ebsOptimized: opts.ebsOptimized ?? false, enaSupport: true, sourceDestCheck: true, monitoring: opts.monitoring ?? false,
      hibernation: opts.hibernation ?? false,
      autoRecovery: oneOf(opts.autoRecovery ?? 'default', ['default', 'disabled'], 'MaintenanceOptions.AutoRecovery'),
      metadataOptions: metadataOptions(defaultMetadataOptions(), opts.metadataOptions ?? {}),
    },
  };
}


/** t2 instances default to standard credits, t3 to unlimited; other types have none. */
export function cpuCreditsFor(instanceType: string, asked: string | undefined): CpuCredits | undefined {
  const type = INSTANCE_TYPES[instanceType];
  if (!type) return undefined; // RunInstances refuses the type itself
  if (!type.burstable) {
    if (asked) throw new Invalid('InvalidParameterCombination', `The parameter CreditSpecification is not supported for instance type ${instanceType}`);
    return undefined;
  }
  if (asked === undefined || asked === '') return instanceType.startsWith('t2.') ? 'standard' : 'unlimited';
  return oneOf<CpuCredits>(asked.toLowerCase(), ['standard', 'unlimited'], 'CpuCredits');
}

export function defaultMetadataOptions(): MetadataOptions {
  return { httpTokens: 'optional', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled', httpProtocolIpv6: 'disabled', instanceMetadataTags: 'disabled' };
}

/** `base` with the given options applied, validated as AWS validates them. */
export function metadataOptions(base: MetadataOptions, asked: Partial<Record<keyof MetadataOptions, string | number>>): MetadataOptions {
  const out = { ...base };
  if (asked.httpTokens !== undefined) out.httpTokens = oneOf(String(asked.httpTokens), ['optional', 'required'], 'HttpTokens');
  if (asked.httpEndpoint !== undefined) out.httpEndpoint = oneOf(String(asked.httpEndpoint), ['enabled', 'disabled'], 'HttpEndpoint');
  if (asked.httpProtocolIpv6 !== undefined) out.httpProtocolIpv6 = oneOf(String(asked.httpProtocolIpv6), ['enabled', 'disabled'], 'HttpProtocolIpv6');
  if (asked.instanceMetadataTags !== undefined) {
    out.instanceMetadataTags = oneOf(String(asked.instanceMetadataTags), ['enabled', 'disabled'], 'InstanceMetadataTags');
  }
  if (asked.httpPutResponseHopLimit !== undefined && asked.httpPutResponseHopLimit !== -1) {
    const n = Number(asked.httpPutResponseHopLimit);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new Invalid('InvalidParameterValue', `The HttpPutResponseHopLimit must be between 1 and 64, not '${asked.httpPutResponseHopLimit}'`);
    }
    out.httpPutResponseHopLimit = n;
  }
  return out;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Invalid('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid. Expected one of: ${allowed.join(', ')}`);
  }
  return value as T;
}

/**
 * The instance's attributes record, made with defaults when it has none yet
 * (instances launched before Kiln kept one). With `launch` (RunInstances,
 * inside its transaction) it is the launch's own record.
 */
export async function ensureAttributes(ctx: Context, inst: InstanceRecord, launch?: PreparedLaunch): Promise<InstanceAttributesRecord> {
  const found = await attributeStore(ctx).get(inst.id);
  if (found && !launch) return found;
  const owner = { account: inst.account, region: inst.region };
  const taken = await takenOnHost(ctx); // before the transaction: the runtime asks the host
  return ctx.store.transaction(async () => {
    const again = await attributeStore(ctx).get(inst.id);
    if (again && !launch) return again;
    const range = vpcRange(ctx);
    const subnet = launch?.subnet ?? subnetForZone(owner, inst.availabilityZone, range) ?? defaultSubnets(owner, range)[0]!;
    const used = await addressesInUse(ctx, (i) => i.id === inst.id, taken);
    if (launch?.privateIp && used.has(launch.privateIp)) {
      throw new Invalid('InvalidIPAddress.InUse', `Address ${launch.privateIp} is in use.`);
    }
    const prepared = launch ?? launchDefaults(range, owner, inst.instanceType, {}, [defaultSecurityGroup(owner).groupId]);
    const rec: InstanceAttributesRecord = {
      id: inst.id, account: inst.account, region: inst.region, subnetId: subnet.subnetId,
      privateIp: launch?.privateIp ?? nextFreeAddress(subnet, used), securityGroupIds: prepared.securityGroupIds,
      networkInterfaceId: derivedId('eni', inst.id), cpuCredits: prepared.cpuCredits, ...prepared.attributes, fromLaunch: !!launch,
    };
    if (again) await attributeStore(ctx).update(inst.id, () => rec);
    else await attributeStore(ctx).insert(rec);
    return rec;
  });
}

/** The caller's default subnets (in the server's VPC range), each with how many of its addresses instances hold. */
export async function defaultSubnetsInUse(ctx: Context, caller: Caller): Promise<Array<{ subnet: DefaultSubnet; used: number }>> {
  const live = new Set((await ctx.store.instances.list({ account: caller.account, region: caller.region }))
    .filter((i) => i.state !== 'terminated').map((i) => i.id));
  const held = (await attributeStore(ctx).list()).filter((r) => live.has(r.id)).map((r) => r.subnetId);
  return defaultSubnets(caller, vpcRange(ctx)).map((subnet) => ({ subnet, used: held.filter((id) => id === subnet.subnetId).length }));
}

/**
 * Private addresses held by instances that are not terminated (and `taken`: those the host routes to another
 * server), on the whole server: every account's default VPC has the same range (AWS's 172.31.0.0/16 by default), and an
 * address is given once across them, so the host can route each to its VPC.
 */
async function addressesInUse(ctx: Context, except: (i: InstanceRecord) => boolean = () => false, taken: string[] = []): Promise<Set<string>> {
  const live = new Set((await ctx.store.instances.list()).filter((i) => i.state !== 'terminated' && !except(i)).map((i) => i.id));
  return new Set([...taken, ...(await attributeStore(ctx).list()).filter((r) => live.has(r.id)).map((r) => r.privateIp)]);
}

/** Addresses the host itself routes elsewhere (another Kiln server's instances, the host's own): never given out. */
async function takenOnHost(ctx: Context): Promise<string[]> {
  return ctx.runtime.addressesTaken ? ctx.runtime.addressesTaken().catch(() => []) : [];
}

/**
 * Refuses StopInstances / TerminateInstances on instances protected by
 * disableApiStop / disableApiTermination (AWS: OperationNotPermitted), before
 * any instance changes.
 */
export async function checkProtection(ctx: Context, caller: Caller, ids: string[], action: 'stop' | 'terminate'): Promise<void> {
  for (const id of ids) {
    const rec = await attributeStore(ctx).get(id);
    if (!rec || rec.account !== caller.account || rec.region !== caller.region) continue;
    if (action === 'terminate' && rec.disableApiTermination) {
      throw new Invalid('OperationNotPermitted',
        `The instance '${id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`);
    }
    if (action === 'stop' && rec.disableApiStop) {
      throw new Invalid('OperationNotPermitted', `The instance '${id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`);
    }
  }
}

/** Changes the attribute record; `fn` may throw to refuse. */
export async function updateAttributes(ctx: Context, inst: InstanceRecord, fn: (r: InstanceAttributesRecord) => InstanceAttributesRecord) {
  await ensureAttributes(ctx, inst);
  return attributeStore(ctx).update(inst.id, fn);
}

/** Attributes AWS lets change only while the instance is stopped. */
export function requireStopped(inst: InstanceRecord, attribute: string): void {
  if (inst.state !== 'stopped') {
    throw new InvalidState('instance', inst.id, inst.state,
      `The instance '${inst.id}' is not in the 'stopped' state; ${attribute} can only be modified on a stopped instance.`);
  }
}

/** One attribute change of ModifyInstanceAttribute (AWS changes one per call). */
export type AttributeChange =
  | { name: 'instanceType'; value: string }
  | { name: 'userData'; value: Buffer }
  | { name: 'disableApiTermination' | 'disableApiStop' | 'sourceDestCheck' | 'ebsOptimized' | 'enaSupport'; value: boolean }
  | { name: 'instanceInitiatedShutdownBehavior'; value: string }
  | { name: 'groupSet'; value: string[] }
  | { name: 'blockDeviceMapping'; value: Array<{ deviceName: string; deleteOnTermination?: boolean }> };

/** ModifyInstanceAttribute: one change to one of the caller's instances, serialised with its lifecycle. */
export async function modifyInstanceAttribute(ctx: Context, caller: Caller, instanceId: string, change: AttributeChange): Promise<void> {
  const inst = await oneInstance(ctx, caller, instanceId);
  await ctx.locks.run(inst.id, async () => modifyAttribute(ctx, caller, (await ctx.store.instances.get(inst.id))!, change));
}

/** Applies one ModifyInstanceAttribute change, with AWS's state rules. */
async function modifyAttribute(ctx: Context, caller: Caller, inst: InstanceRecord, change: AttributeChange): Promise<void> {
  if (inst.state === 'terminated' || inst.state === 'shutting-down') {
    throw new InvalidState('instance', inst.id, inst.state, `The instance '${inst.id}' is not in a state from which it can be modified.`);
  }
  switch (change.name) {
    case 'instanceType': return changeInstanceType(ctx, inst, change.value);
    case 'userData': {
      requireStopped(inst, 'userData');
      if (userDataTooLong(change.value)) throw new Invalid('InvalidParameterValue', `User data is limited to ${MAX_USER_DATA_BYTES} bytes`);
      const userData = change.value.length ? change.value.toString('base64') : undefined;
      await ctx.store.instances.update(inst.id, (i) => ({ ...i, userData }));
      return;
    }
    case 'ebsOptimized': case 'enaSupport':
      requireStopped(inst, change.name);
      await updateAttributes(ctx, inst, (r) => ({ ...r, [change.name]: change.value }));
      return;
    case 'disableApiTermination': case 'disableApiStop': case 'sourceDestCheck':
      await updateAttributes(ctx, inst, (r) => ({ ...r, [change.name]: change.value }));
      return;
    case 'instanceInitiatedShutdownBehavior': {
      const shutdownBehavior = oneOf(change.value, ['stop', 'terminate'], 'InstanceInitiatedShutdownBehavior');
      await updateAttributes(ctx, inst, (r) => ({ ...r, shutdownBehavior }));
      return;
    }
    case 'groupSet': {
      if (!change.value.length) throw new Invalid('InvalidParameterValue', 'An instance in a VPC needs at least one security group');
      const securityGroupIds = await resolveGroupIds(ctx, caller, change.value);
      await updateAttributes(ctx, inst, (r) => ({ ...r, securityGroupIds }));
      await enforce(ctx, caller); // the instance's firewall, and the groups that reference its groups
      return;
    }
    case 'blockDeviceMapping': return changeDeleteOnTermination(ctx, inst, change.value);
  }
}

async function changeInstanceType(ctx: Context, inst: InstanceRecord, instanceType: string): Promise<void> {
  requireStopped(inst, 'instanceType');
  knownInstanceType(instanceType);
  if (!(architecturesOf(instanceType) as string[]).includes(inst.architecture)) {
    throw new Invalid('InvalidInstanceAttributeValue', `The instance type '${instanceType}' does not support the '${inst.architecture}' architecture of instance ${inst.id}.`);
  }
  const rec = await ensureAttributes(ctx, inst);
  await ctx.store.instances.update(inst.id, (i) => ({ ...i, instanceType }));
  // Credits follow the family: kept within burstable types, gone (or defaulted) across.
  const cpuCredits = INSTANCE_TYPES[instanceType]!.burstable ? rec.cpuCredits ?? cpuCreditsFor(instanceType, undefined) : undefined;
  await attributeStore(ctx).update(inst.id, (r) => ({ ...r, cpuCredits }));
}

async function changeDeleteOnTermination(ctx: Context, inst: InstanceRecord, mappings: Array<{ deviceName: string; deleteOnTermination?: boolean }>) {
  const vols = await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)));
  const changes = mappings.map((m) => {
    const vol = vols.find((v) => v?.attachment?.device === m.deviceName);
    if (!vol) throw new Invalid('InvalidInstanceAttributeValue', `No device is currently mapped at ${m.deviceName}`);
    return { volumeId: vol.id, deleteOnTermination: m.deleteOnTermination };
  });
  for (const c of changes) {
    if (c.deleteOnTermination === undefined) continue;
    await ctx.store.volumes.update(c.volumeId, (v) => v.attachment
      ? { ...v, attachment: { ...v.attachment, deleteOnTermination: c.deleteOnTermination! } } : v);
  }
}

/** One of the caller's instances by id (NotFound / malformed as AWS answers). */
async function oneInstance(ctx: Context, caller: Caller, id: string): Promise<InstanceRecord> {
  const [inst] = await visibleInstances(ctx, caller, [id]);
  return inst!;
}

/** ModifyInstanceCreditSpecification for one instance. */
export async function setCpuCredits(ctx: Context, caller: Caller, instanceId: string, credits: string): Promise<void> {
  const inst = await oneInstance(ctx, caller, instanceId);
  if (!INSTANCE_TYPES[inst.instanceType]?.burstable) {
    throw new Invalid('InstanceCreditSpecification.NotSupported', `The instance ${inst.id} is not a burstable performance instance`);
  }
  const cpuCredits = cpuCreditsFor(inst.instanceType, credits);
  await updateAttributes(ctx, inst, (r) => ({ ...r, cpuCredits }));
}

/** ModifyInstanceCreditSpecification: each instance changed or refused on its own, as AWS answers it. */
export async function setCpuCreditsEach(
  ctx: Context, caller: Caller, items: Array<{ instanceId: string; cpuCredits: string }>,
): Promise<Array<{ instanceId: string; error?: unknown }>> {
  const out: Array<{ instanceId: string; error?: unknown }> = [];
  for (const { instanceId, cpuCredits } of items) {
    try {
      await setCpuCredits(ctx, caller, instanceId, cpuCredits);
      out.push({ instanceId });
    } catch (error) {
      out.push({ instanceId, error });
    }
  }
  return out;
}

/** ModifyInstanceMetadataOptions: applies the given options over the current ones. */
export async function setMetadataOptions(ctx: Context, caller: Caller, instanceId: string, asked: Partial<Record<keyof MetadataOptions, string | number>>) {
  const inst = await oneInstance(ctx, caller, instanceId);
  if (inst.state === 'terminated') throw new InvalidState('instance', inst.id, inst.state, `The instance '${inst.id}' is terminated.`);
  const rec = await updateAttributes(ctx, inst, (r) => ({ ...r, metadataOptions: metadataOptions(r.metadataOptions, asked) }));
  await enforce(ctx, caller); // HttpEndpoint turns the 169.254.169.254 translation on or off
  return rec;
}

/** ModifyInstanceMaintenanceOptions; without a value, the options as they are. */
export async function setAutoRecovery(ctx: Context, caller: Caller, instanceId: string, value?: string) {
  const inst = await oneInstance(ctx, caller, instanceId);
  if (value === undefined) return ensureAttributes(ctx, inst);
  const autoRecovery = oneOf(value, ['default', 'disabled'], 'AutoRecovery');
  return updateAttributes(ctx, inst, (r) => ({ ...r, autoRecovery }));
}
