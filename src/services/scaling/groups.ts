/**
 * services/scaling: EC2 Auto Scaling groups. A group is one record (store
 * kind 'autoscaling-group', id `account/region/name`, so names are unique per
 * account and region) holding its members; the reconciler (reconciler.ts)
 * makes the members match the desired capacity. Changes here only write the
 * record (and the activity that says why) and wake the reconciler. Imports
 * core/, network/, instances/ and templates/ (docs/architecture.md).
 */
import { randomUUID } from 'node:crypto';
import type { Owned } from '../../model/records.js';
import type { AutoScalingGroupRecord, GroupMember, GroupTag } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { availabilityZones } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import { defaultSubnets, vpcRange } from '../network/network.js';
import { findTemplate, findVersion } from '../templates/templates.js';
import { activityStore, CAUSES, newActivity } from './activities.js';
import type { HookRequest } from './hook-spec.js';
import { hookFrom } from './hook-spec.js';
import { kickScaling } from './wake.js';

export const groupStore = (ctx: Context) => ctx.store.collection<AutoScalingGroupRecord>('autoscaling-group');
export const groupId = (caller: Caller, name: string) => `${caller.account}/${caller.region}/${name}`;

/** How many groups an account may have per region (AWS's default quota). */
export const MAX_GROUPS = 500;
export const PROCESSES = ['Launch', 'Terminate', 'AddToLoadBalancer', 'AlarmNotification', 'AZRebalance', 'HealthCheck', 'InstanceRefresh', 'ReplaceUnhealthy', 'ScheduledActions'];

export const validation = (message: string) => new Invalid('ValidationError', message);

export interface TemplateSpec { id?: string; name?: string; version?: string }

export interface GroupSettings {
  launchTemplate?: TemplateSpec;
  mixed?: { template: TemplateSpec; overrides?: Array<{ instanceType?: string }> };
  minSize?: number;
  maxSize?: number;
  desiredCapacity?: number;
  defaultCooldown?: number;
  availabilityZones?: string[];
  vpcZoneIdentifier?: string;
  healthCheckType?: string;
  healthCheckGracePeriod?: number;
  defaultInstanceWarmup?: number;
  terminationPolicies?: string[];
  newInstancesProtectedFromScaleIn?: boolean;
  capacityRebalance?: boolean;
  maxInstanceLifetime?: number;
}

export interface CreateGroupRequest extends GroupSettings { name?: string; tags?: GroupTag[]; hooks?: HookRequest[] }

/** The group named `name`, or ValidationError as AWS answers for an unknown one. */
export async function findGroup(ctx: Context, caller: Caller, name: string | undefined): Promise<AutoScalingGroupRecord> {
  if (!name) throw validation('AutoScalingGroupName is required');
  const g = await groupStore(ctx).get(groupId(caller, name));
  if (!g) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return g;
}

/** The template a setting names, checked as Auto Scaling checks it (its errors are ValidationErrors). */
async function resolveTemplate(ctx: Context, caller: Caller, spec: TemplateSpec): Promise<AutoScalingGroupRecord['launchTemplate']> {
  if (!spec.id && !spec.name) throw validation('You must specify either a launch template ID or a launch template name in the request.');
  if (spec.id && spec.name) throw validation('You must specify either a launch template ID or a launch template name in the request, but not both.');
  const version = spec.version || '$Default';
  try {
    const t = await findTemplate(ctx, caller, { id: spec.id, name: spec.name });
    findVersion(t, version);
    return { id: t.id, name: t.name, version };
  } catch (err) {
    if (err instanceof Invalid && /NotFound|Malformed/.test(err.code)) {
      throw validation(/Version/i.test(err.code) ? `The launch template version ${version} does not exist.` : err.message);
    }
    throw err;
  }
}

function zonesOf(ctx: Context, caller: Caller, s: GroupSettings): { zones: string[]; subnets: string[] } | undefined {
  if (s.vpcZoneIdentifier !== undefined) {
    const ids = s.vpcZoneIdentifier.split(',').map((x) => x.trim()).filter(Boolean);
    const known = defaultSubnets(caller, vpcRange(ctx));
    const zones: string[] = [];
    for (const id of ids) {
      const sub = known.find((k) => k.subnetId === id);
      if (!sub) throw validation(`The subnet ID '${id}' does not exist`);
      if (!zones.includes(sub.availabilityZone)) zones.push(sub.availabilityZone);
    }
    if (ids.length) return { zones, subnets: ids };
  }
  if (s.availabilityZones?.length) {
    const valid = availabilityZones(caller.region);
    for (const z of s.availabilityZones) if (!valid.includes(z)) throw validation(`The availability zone ${z} is not legal.`);
    return { zones: [...new Set(s.availabilityZones)], subnets: [] };
  }
  return undefined;
}

function checkSizes(g: Pick<AutoScalingGroupRecord, 'minSize' | 'maxSize' | 'desiredCapacity'>): void {
  for (const [k, v] of [['MinSize', g.minSize], ['MaxSize', g.maxSize], ['DesiredCapacity', g.desiredCapacity]] as const) {
    if (!Number.isInteger(v) || v < 0) throw validation(`${k} must be a non-negative integer`);
  }
  if (g.minSize > g.maxSize) throw validation(`Max bound, ${g.maxSize}, must be greater than or equal to min bound, ${g.minSize}`);
  if (g.desiredCapacity < g.minSize || g.desiredCapacity > g.maxSize) {
    throw validation(`Desired capacity:${g.desiredCapacity} must be between the specified min size:${g.minSize} and max size:${g.maxSize}`);
  }
}

function checkSettings(s: GroupSettings): void {
  if (s.healthCheckType !== undefined && !['EC2', 'ELB', 'EBS', 'VPC_LATTICE'].includes(s.healthCheckType)) {
    throw validation(`Invalid health check type: ${s.healthCheckType}`);
  }
  for (const [k, v] of [['DefaultCooldown', s.defaultCooldown], ['HealthCheckGracePeriod', s.healthCheckGracePeriod], ['DefaultInstanceWarmup', s.defaultInstanceWarmup]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) throw validation(`${k} must be a non-negative integer`);
  }
}

export function checkTags(tags: GroupTag[]): void {
  for (const t of tags) {
    if (!t.key) throw validation('Tag key cannot be empty');
    if (t.key.toLowerCase().startsWith('aws:')) throw validation(`Tag keys starting with 'aws:' are reserved for internal use`);
  }
  if (new Set(tags.map((t) => t.key)).size !== tags.length) throw validation('Duplicate tag keys are not allowed');
}

/** CreateAutoScalingGroup: the record, and an activity-to-be (the reconciler launches). */
export async function createGroup(ctx: Context, caller: Caller, req: CreateGroupRequest): Promise<AutoScalingGroupRecord> {
  const name = req.name;
  if (!name || name.length > 255) throw validation('AutoScalingGroupName must be between 1 and 255 characters');
  if (req.launchTemplate && req.mixed) throw validation('Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.');
  const spec = req.launchTemplate ?? req.mixed?.template;
  if (!spec) throw validation('Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.');
  if (req.minSize === undefined) throw validation('MinSize is required');
  if (req.maxSize === undefined) throw validation('MaxSize is required');
  checkSettings(req);
  const launchTemplate = await resolveTemplate(ctx, caller, spec);
  const where = zonesOf(ctx, caller, req);
  if (!where) throw validation('At least one Availability Zone or VPC Subnet is required.');
  const tags = req.tags ?? [];
  checkTags(tags);
  const uuid = randomUUID();
  const g: AutoScalingGroupRecord = {
    id: groupId(caller, name), account: caller.account, region: caller.region, name, uuid,
    arn: `arn:aws:autoscaling:${caller.region}:${caller.account}:autoScalingGroup:${uuid}:autoScalingGroupName/${name}`,
    launchTemplate, mixed: req.mixed ? { overrides: req.mixed.overrides } : undefined,
    minSize: req.minSize, maxSize: req.maxSize, desiredCapacity: req.desiredCapacity ?? req.minSize,
    defaultCooldown: req.defaultCooldown ?? 300, availabilityZones: where.zones, subnetIds: where.subnets,
    healthCheckType: req.healthCheckType ?? 'EC2', healthCheckGracePeriod: req.healthCheckGracePeriod ?? 0,
    defaultInstanceWarmup: req.defaultInstanceWarmup, terminationPolicies: req.terminationPolicies?.length ? req.terminationPolicies : ['Default'],
    newInstancesProtectedFromScaleIn: req.newInstancesProtectedFromScaleIn ?? false, capacityRebalance: req.capacityRebalance ?? false,
    maxInstanceLifetime: req.maxInstanceLifetime, tags, suspended: [], hooks: (req.hooks ?? []).map((h) => hookFrom(h)), members: [], launching: [],
    createdTime: new Date().toISOString(),
  };
  checkSizes(g);
  g.pendingCause = CAUSES.created(0, g.desiredCapacity);
  await ctx.store.transaction(async () => {
    if (await groupStore(ctx).get(g.id)) throw new Invalid('AlreadyExists', `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`);
    if ((await groupStore(ctx).list(caller)).length >= MAX_GROUPS) {
      throw new Invalid('LimitExceeded', `You have reached your limit of ${MAX_GROUPS} Auto Scaling groups.`);
    }
    await groupStore(ctx).insert(g);
  });
  kickScaling(ctx);
  return g;
}

/** UpdateAutoScalingGroup: what is given changes; a new desired capacity is a user request in the next activity's Cause. */
export async function updateGroup(ctx: Context, caller: Caller, name: string | undefined, s: GroupSettings): Promise<void> {
  const cur = await findGroup(ctx, caller, name);
  checkSettings(s);
  const spec = s.launchTemplate ?? s.mixed?.template;
  const launchTemplate = spec ? await resolveTemplate(ctx, caller, spec) : undefined;
  const where = zonesOf(ctx, caller, s);
  await groupStore(ctx).update(cur.id, (g) => {
    if (g.deleting) throw new Invalid('ScalingActivityInProgress', 'The Auto Scaling group is being deleted.');
    const next: AutoScalingGroupRecord = { ...g };
    if (launchTemplate) { next.launchTemplate = launchTemplate; next.mixed = s.mixed ? { overrides: s.mixed.overrides } : s.launchTemplate ? undefined : g.mixed; }
    if (s.minSize !== undefined) next.minSize = s.minSize;
    if (s.maxSize !== undefined) next.maxSize = s.maxSize;
    // A new bound pulls the desired capacity inside it, as AWS does.
    if (s.desiredCapacity !== undefined) next.desiredCapacity = s.desiredCapacity;
    else next.desiredCapacity = Math.min(Math.max(g.desiredCapacity, next.minSize), next.maxSize);
    checkSizes(next);
    if (where) { next.availabilityZones = where.zones; next.subnetIds = where.subnets; }
    for (const k of ['defaultCooldown', 'healthCheckType', 'healthCheckGracePeriod', 'defaultInstanceWarmup', 'newInstancesProtectedFromScaleIn', 'capacityRebalance', 'maxInstanceLifetime'] as const) {
      if (s[k] !== undefined) (next as unknown as Record<string, unknown>)[k] = s[k];
    }
    if (s.terminationPolicies?.length) next.terminationPolicies = s.terminationPolicies;
    if (next.desiredCapacity !== g.desiredCapacity) next.pendingCause = CAUSES.updated(next, g.desiredCapacity);
    return next;
  });
  kickScaling(ctx);
}

/** SetDesiredCapacity; with HonorCooldown, refused while the group's cooldown runs. */
export async function setDesiredCapacity(ctx: Context, caller: Caller, name: string | undefined, desired: number | undefined, honorCooldown = false): Promise<void> {
  const cur = await findGroup(ctx, caller, name);
  if (desired === undefined) throw validation('DesiredCapacity is required');
  await groupStore(ctx).update(cur.id, (g) => {
    if (desired < g.minSize || desired > g.maxSize) {
      throw validation(`New SetDesiredCapacity value ${desired} is ${desired < g.minSize ? 'below min value' : 'above max value'} ${desired < g.minSize ? g.minSize : g.maxSize} for the AutoScalingGroup.`);
    }
    const cooling = g.lastScaledAt && Date.now() < Date.parse(g.lastScaledAt) + g.defaultCooldown * 1000;
    if (honorCooldown && (cooling || g.launching.length)) {
      throw new Invalid('ScalingActivityInProgress', 'Scaling activity is in progress and blocks this action.');
    }
    return { ...g, desiredCapacity: desired, pendingCause: desired !== g.desiredCapacity ? CAUSES.setDesired(g.desiredCapacity, desired) : g.pendingCause };
  });
  kickScaling(ctx);
}

/** DeleteAutoScalingGroup: refused while it has instances, unless forced; forced, its instances terminate and then it goes. */
export async function deleteGroup(ctx: Context, caller: Caller, name: string | undefined, force = false): Promise<void> {
  const cur = await findGroup(ctx, caller, name);
  await ctx.store.transaction(async () => {
    const g = (await groupStore(ctx).get(cur.id))!;
    if (!force && g.launching.length) throw new Invalid('ScalingActivityInProgress', 'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.');
    if (!force && g.members.length) {
      throw new Invalid('ResourceInUse', 'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.');
    }
    if (!g.members.length && !g.launching.length) { await removeGroup(ctx, g.id); return; }
    // As on AWS, a forced delete does not wait on lifecycle hooks: every member's termination goes ahead at once.
    const members: GroupMember[] = [];
    for (const m of g.members) {
      if (m.lifecycleState.startsWith('Terminating')) { members.push({ ...m, lifecycleState: 'Terminating:Proceed', waits: undefined }); continue; }
      const act = newActivity(g, { kind: 'terminate', instanceId: m.instanceId, description: `Terminating EC2 instance: ${m.instanceId}`, cause: CAUSES.deleting() });
      await activityStore(ctx).insert(act);
      members.push({ ...m, lifecycleState: 'Terminating:Proceed', waits: undefined, activityId: act.id });
    }
    await groupStore(ctx).update(g.id, (x) => ({ ...x, deleting: true, minSize: 0, desiredCapacity: 0, members }));
  });
  kickScaling(ctx);
}

/** The group's record, and its scheduled actions with it (as AWS deletes them); its activities stay to be described. */
export async function removeGroup(ctx: Context, id: string): Promise<void> {
  const scheduled = ctx.store.collection<Owned & { groupId: string }>('scheduled-action');
  for (const a of await scheduled.list()) if (a.groupId === id) await scheduled.delete(a.id);
  await groupStore(ctx).delete(id);
}

/** DescribeAutoScalingInstances: members of the caller's groups (exactly `ids` when given). */
export async function describeGroupInstances(ctx: Context, caller: Caller, ids?: string[]): Promise<Array<{ group: AutoScalingGroupRecord; member: GroupMember }>> {
  const out: Array<{ group: AutoScalingGroupRecord; member: GroupMember }> = [];
  for (const group of await groupStore(ctx).list(caller)) {
    for (const member of group.members) if (!ids?.length || ids.includes(member.instanceId)) out.push({ group, member });
  }
  return out;
}

export async function describeGroups(ctx: Context, caller: Caller, names?: string[]): Promise<AutoScalingGroupRecord[]> {
  const all = await groupStore(ctx).list(caller);
  return names?.length ? all.filter((g) => names.includes(g.name)) : all;
}

/** SuspendProcesses / ResumeProcesses: none named means all of them. */
export async function setProcesses(ctx: Context, caller: Caller, name: string | undefined, processes: string[] | undefined, suspend: boolean): Promise<void> {
  const cur = await findGroup(ctx, caller, name);
  const which = processes?.length ? processes : PROCESSES;
  for (const p of which) if (!PROCESSES.includes(p)) throw validation(`Process ${p} is not a valid process name.`);
  await groupStore(ctx).update(cur.id, (g) => {
    const kept = g.suspended.filter((s) => !which.includes(s.process));
    const added = suspend ? which.map((process) => ({ process, reason: `User suspended at ${new Date().toISOString().slice(0, 19)}Z` })) : [];
    return { ...g, suspended: [...kept, ...added] };
  });
  kickScaling(ctx);
}

/** The group an instance belongs to, or ValidationError as AWS says for an unmanaged one. */
export async function groupOfInstance(ctx: Context, caller: Caller, instanceId: string | undefined): Promise<{ group: AutoScalingGroupRecord; member: GroupMember }> {
  if (!instanceId) throw validation('InstanceId is required');
  for (const group of await groupStore(ctx).list(caller)) {
    const member = group.members.find((m) => m.instanceId === instanceId);
    if (member) return { group, member };
  }
  throw validation(`Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
}

/** SetInstanceHealth: Unhealthy takes it out of service (replaced unless ReplaceUnhealthy is suspended). */
export async function setInstanceHealth(ctx: Context, caller: Caller, instanceId: string | undefined, health: string | undefined): Promise<void> {
  if (health !== 'Healthy' && health !== 'Unhealthy') throw validation(`Valid values for HealthStatus are Healthy and Unhealthy`);
  const { group } = await groupOfInstance(ctx, caller, instanceId);
  await groupStore(ctx).update(group.id, (g) => ({
    ...g, members: g.members.map((m) => m.instanceId === instanceId ? { ...m, health, healthCause: health === 'Unhealthy' ? CAUSES.userHealth() : undefined } : m),
  }));
  kickScaling(ctx);
}

/** TerminateInstanceInAutoScalingGroup: the activity, and the member Terminating; the reconciler terminates it. */
export async function terminateInGroup(ctx: Context, caller: Caller, instanceId: string | undefined, decrement: boolean | undefined) {
  if (decrement === undefined) throw validation('ShouldDecrementDesiredCapacity is required');
  const { group } = await groupOfInstance(ctx, caller, instanceId);
  const act = await ctx.store.transaction(async () => {
    const g = (await groupStore(ctx).get(group.id))!;
    const m = g.members.find((x) => x.instanceId === instanceId)!;
    if (m.lifecycleState.startsWith('Terminating')) throw validation(`The instance ${instanceId} is already being terminated.`);
    if (decrement && g.desiredCapacity <= g.minSize) {
      throw validation(`Currently, desiredSize equals minSize (${g.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`);
    }
    const desired = decrement ? g.desiredCapacity - 1 : g.desiredCapacity;
    const a = newActivity(g, {
      kind: 'terminate', instanceId: m.instanceId, description: `Terminating EC2 instance: ${m.instanceId}`,
      cause: CAUSES.userTerminate(m.instanceId, g.desiredCapacity, decrement ? desired : undefined),
      details: JSON.stringify({ 'Availability Zone': m.availabilityZone }),
    });
    await activityStore(ctx).insert(a);
    await groupStore(ctx).update(g.id, (x) => ({
      ...x, desiredCapacity: desired, members: x.members.map((y) => y.instanceId === instanceId ? { ...y, lifecycleState: 'Terminating' as const, activityId: a.id } : y),
    }));
    return a;
  });
  kickScaling(ctx);
  return act;
}
