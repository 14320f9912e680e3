/**
 * Instance refreshes (strategy Rolling): the members there were at the start
 * (or, with SkipMatching, those not launched from the group's current template
 * version) are replaced in batches. A batch is as many as can go while the
 * healthy InService members (new ones only once their InstanceWarmup has
 * passed) stay at or above MinHealthyPercentage of the desired capacity, and
 * at least one when nothing else is in flight; the capacity part of the
 * reconciler launches the replacements from the current template.
 */
import { randomUUID } from 'node:crypto';
import type { AutoScalingGroupRecord, InstanceRefreshRecord } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import { findTemplate, findVersion } from '../templates/templates.js';
import { CAUSES } from './activities.js';
import { findGroup, groupStore, updateGroup, validation } from './groups.js';
import type { TemplateSpec } from './groups.js';
import type { Patch } from './members.js';
import { applyPatches, callerOf, markTerminating, suspended } from './members.js';
import { kickScaling } from './wake.js';

export const refreshStore = (ctx: Context) => ctx.store.collection<InstanceRefreshRecord>('instance-refresh');
const ACTIVE = ['Pending', 'InProgress', 'Cancelling'];

export interface RefreshRequest {
  groupName?: string;
  strategy?: string;
  minHealthyPercentage?: number;
  maxHealthyPercentage?: number;
  instanceWarmup?: number;
  skipMatching?: boolean;
  desiredTemplate?: TemplateSpec;
}

async function activeRefresh(ctx: Context, g: AutoScalingGroupRecord): Promise<InstanceRefreshRecord | undefined> {
  return (await refreshStore(ctx).list(g)).find((r) => r.groupId === g.id && ACTIVE.includes(r.status));
}

export async function startInstanceRefresh(ctx: Context, caller: Caller, req: RefreshRequest): Promise<InstanceRefreshRecord> {
  const g = await findGroup(ctx, caller, req.groupName);
  if (req.strategy !== undefined && req.strategy !== 'Rolling') throw validation(`Invalid strategy: ${req.strategy}`);
  const min = req.minHealthyPercentage ?? 90;
  const max = req.maxHealthyPercentage ?? 100;
  if (!Number.isInteger(min) || min < 0 || min > 100) throw validation('MinHealthyPercentage must be between 0 and 100');
  if (max !== 100) throw validation('Kiln replaces before it launches: MaxHealthyPercentage must be 100');
  if (min === 100) throw validation('MinHealthyPercentage must be less than 100 when MaxHealthyPercentage is 100');
  if (await activeRefresh(ctx, g)) {
    throw new Invalid('InstanceRefreshInProgress', 'An Instance Refresh is already in progress and blocks the execution of this Instance Refresh.');
  }
  if (req.desiredTemplate) await updateGroup(ctx, caller, g.name, { launchTemplate: req.desiredTemplate });
  const cur = (await groupStore(ctx).get(g.id))!;
  const target = await targetVersion(ctx, cur);
  const r: InstanceRefreshRecord = {
    id: randomUUID(), account: g.account, region: g.region, groupId: g.id, groupName: g.name, status: 'Pending', startTime: new Date().toISOString(),
    minHealthyPercentage: min, maxHealthyPercentage: max, instanceWarmup: req.instanceWarmup, skipMatching: req.skipMatching ?? false,
    toReplace: cur.members.filter((m) => !m.lifecycleState.startsWith('Terminating') && (!req.skipMatching || m.templateVersion !== target)).map((m) => m.instanceId),
  };
  await refreshStore(ctx).insert(r);
  kickScaling(ctx);
  return r;
}

export async function describeInstanceRefreshes(ctx: Context, caller: Caller, groupName: string | undefined, ids?: string[]) {
  const g = await findGroup(ctx, caller, groupName);
  const all = (await refreshStore(ctx).list(caller)).filter((r) => r.groupId === g.id && (!ids?.length || ids.includes(r.id)));
  return { group: g, refreshes: all.sort((a, b) => b.startTime.localeCompare(a.startTime)) };
}

export async function cancelInstanceRefresh(ctx: Context, caller: Caller, groupName: string | undefined): Promise<string> {
  const g = await findGroup(ctx, caller, groupName);
  const r = await activeRefresh(ctx, g);
  if (!r || r.status === 'Cancelling') {
    throw new Invalid('ActiveInstanceRefreshNotFound', `No in progress or pending Instance Refresh found for Auto Scaling group ${g.name}`);
  }
  await refreshStore(ctx).update(r.id, (x) => ({ ...x, status: 'Cancelling' }));
  kickScaling(ctx);
  return r.id;
}

/** The version number the group's template spec names now. */
async function targetVersion(ctx: Context, g: AutoScalingGroupRecord): Promise<string> {
  const t = await findTemplate(ctx, callerOf(g), { id: g.launchTemplate.id });
  return String(findVersion(t, g.launchTemplate.version).versionNumber);
}

/** What is left of a refresh's instances to replace, and how far it is (PercentageComplete, InstancesToUpdate). */
export function refreshProgress(r: InstanceRefreshRecord, g: AutoScalingGroupRecord | undefined): { left: number; percentage: number } {
  if (r.status === 'Successful') return { left: 0, percentage: 100 };
  const live = new Set(g?.members.filter((m) => !m.lifecycleState.startsWith('Terminating')).map((m) => m.instanceId) ?? []);
  const left = r.toReplace.filter((id) => live.has(id)).length;
  return { left, percentage: r.toReplace.length ? Math.floor(100 * (r.toReplace.length - left) / r.toReplace.length) : 100 };
}

/** One step of the group's refresh, if it has one under way. */
export async function refreshStep(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  const r = await activeRefresh(ctx, g);
  if (!r) return g;
  const end = (status: InstanceRefreshRecord['status'], statusReason?: string) =>
    refreshStore(ctx).update(r.id, (x) => ({ ...x, status, statusReason, endTime: new Date().toISOString() }));
  if (r.status === 'Cancelling') { await end('Cancelled', 'Cancelled by a user request.'); return g; }
  if (g.deleting) { await end('Cancelled', 'The Auto Scaling group is being deleted.'); return g; }
  if (suspended(g, 'InstanceRefresh')) return g;
  if (r.status === 'Pending') await refreshStore(ctx).update(r.id, (x) => ({ ...x, status: 'InProgress' }));
  const warmup = (r.instanceWarmup ?? g.defaultInstanceWarmup ?? g.healthCheckGracePeriod) * 1000;
  const old = new Set(r.toReplace);
  const active = g.members.filter((m) => !m.lifecycleState.startsWith('Terminating'));
  const left = active.filter((m) => old.has(m.instanceId));
  const healthy = active.filter((m) => m.lifecycleState === 'InService' && m.health === 'Healthy'
    && (old.has(m.instanceId) || Date.now() >= Date.parse(m.inServiceAt ?? m.launchedAt) + warmup));
  const settled = !g.launching.length && healthy.length === active.length && active.length === g.members.length && active.length >= g.desiredCapacity;
  if (!left.length) {
    if (settled) await end('Successful');
    return g;
  }
  const minHealthy = Math.ceil(g.desiredCapacity * r.minHealthyPercentage / 100);
  let batch = healthy.length - minHealthy;
  if (batch < 1 && settled) batch = 1;
  if (batch < 1) return g;
  const patches = new Map<string, Patch>();
  for (const m of left.filter((x) => x.lifecycleState === 'InService').slice(0, batch)) markTerminating(g, m, CAUSES.refresh(m.instanceId), patches);
  return patches.size ? applyPatches(ctx, g.id, patches) : g;
}
