/**
 * The reconciler: every tick (and at once after any change) each group's
 * members are compared with their instances and with the desired capacity.
 * Every launch and termination is written down first, as an activity and in
 * the group record (a launch's intent carries its ClientToken), and only then
 * carried out; a restart carries out what is written again, and the ClientToken
 * makes a repeated launch answer with the instance the first attempt made. So a
 * crash in the middle neither loses nor doubles an instance.
 */
import type { AutoScalingGroupRecord, GroupMember, LifecycleState, ScalingActivityRecord } from '../../model/scaling-records.js';
import type { Context } from '../core/context.js';
import { changeState, guestExited } from '../instances/instances.js';
import { defaultSubnets, vpcRange } from '../network/network.js';
import { activityStore, CAUSES, finishActivity, newActivity } from './activities.js';
import { callerOf, suspended } from './members.js';
import { groupStore, removeGroup } from './groups.js';
import type { Patch } from './members.js';
import { applyPatches, markTerminating } from './members.js';
import { startWaits, waitOutcome } from './hooks.js';
import { launchIntent } from './launching.js';
import { refreshStep } from './refresh.js';
import { scheduledStep } from './scheduled.js';
import { onWake } from './wake.js';

const TICK_MS = 1500;
const RETRY_LAUNCH_MS = 10_000;

export interface Reconciler { stop(): Promise<void>; tick(): Promise<void> }

/** Starts the reconciler over every group in the store; `stop` waits for a tick under way. */
export function startScaling(ctx: Context, everyMs = TICK_MS): Reconciler {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const tick = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) { again = true; return running; }
    running = (async () => {
      do {
        again = false;
        for (const g of await groupStore(ctx).list()) {
          await reconcileGroup(ctx, g.id).catch((err: Error) => ctx.log(`kiln: auto scaling group ${g.name}: ${err.stack ?? err.message}`));
        }
      } while (again && !stopped);
    })().finally(() => { running = undefined; });
    return running;
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  onWake(ctx, () => void tick());
  void tick();
  return {
    tick,
    stop: async () => { stopped = true; clearInterval(timer); onWake(ctx, undefined); await running; },
  };
}

const isTerminating = (s: LifecycleState) => s.startsWith('Terminating');

async function reconcileGroup(ctx: Context, id: string): Promise<void> {
  let g = await groupStore(ctx).get(id);
  if (!g) return;
  g = await observe(ctx, g);
  g = await scheduledStep(ctx, g);
  g = await replaceUnhealthy(ctx, g);
  g = await refreshStep(ctx, g);
  g = await balance(ctx, g);
  g = await rebalanceZones(ctx, g);
  // Recorded launches are carried out unless Launch is suspended (then they wait, as new ones do).
  if (!suspended(g, 'Launch')) await Promise.all(g.launching.map((intent) => launchIntent(ctx, g!, intent, RETRY_LAUNCH_MS)));
  await terminateMarked(ctx, (await groupStore(ctx).get(id))!);
  const now = await groupStore(ctx).get(id);
  if (now?.deleting && !now.members.length && !now.launching.length) await removeGroup(ctx, id);
}

/** Members against their instances: launched, in service, unhealthy, gone; hook waits that ended. */
async function observe(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  const patches = new Map<string, Patch>();
  const now = new Date().toISOString();
  for (const m of g.members) {
    const rec = await ctx.store.instances.get(m.instanceId);
    const state = rec?.state ?? 'terminated';
    const from = m.lifecycleState;
    if (isTerminating(from)) {
      if (state === 'terminated') {
        await finishActivity(ctx, m.activityId, 'Successful');
        patches.set(m.instanceId, { from, remove: true });
      } else if (from === 'Terminating' && !m.waits) {
        const waits = startWaits(g, 'autoscaling:EC2_INSTANCE_TERMINATING');
        patches.set(m.instanceId, { from, set: waits.length && state === 'running' ? { lifecycleState: 'Terminating:Wait', waits } : { lifecycleState: 'Terminating:Proceed' } });
      } else if (from === 'Terminating:Wait' && waitOutcome(g, m.waits)) {
        patches.set(m.instanceId, { from, set: { lifecycleState: 'Terminating:Proceed' } });
      }
      continue;
    }
    if (from === 'Pending') {
      if (state === 'running') {
        const waits = startWaits(g, 'autoscaling:EC2_INSTANCE_LAUNCHING');
        if (waits.length) patches.set(m.instanceId, { from, set: { lifecycleState: 'Pending:Wait', waits } });
        else {
          await finishActivity(ctx, m.activityId, 'Successful');
          patches.set(m.instanceId, { from, set: { lifecycleState: 'InService', inServiceAt: now, activityId: undefined } });
        }
      } else if (state !== 'pending') {
        // The launch did not come up (the instance ended before it ran): the capacity part launches again.
        await finishActivity(ctx, m.activityId, 'Failed', rec?.stateReason?.message ?? `Instance ${m.instanceId} ended before it was running.`);
        patches.set(m.instanceId, { from, remove: true });
      }
      continue;
    }
    if (from === 'Pending:Wait') {
      const outcome = waitOutcome(g, m.waits);
      if (outcome === 'CONTINUE') {
        await finishActivity(ctx, m.activityId, 'Successful');
        patches.set(m.instanceId, { from, set: { lifecycleState: 'InService', inServiceAt: now, waits: undefined, activityId: undefined } });
        continue;
      }
      if (outcome === 'ABANDON') {
        await finishActivity(ctx, m.activityId, 'Cancelled', 'Instance failed to complete user\'s Lifecycle Action: Lifecycle Action with token was abandoned: Lifecycle Action Completed with ABANDON Result');
        markTerminating(g, m, CAUSES.abandoned(), patches);
        continue;
      }
    }
    if (m.health === 'Healthy' && !suspended(g, 'HealthCheck')) {
      const graceOver = Date.now() >= Date.parse(m.inServiceAt ?? m.launchedAt) + g.healthCheckGracePeriod * 1000;
      let cause: string | undefined;
      const runtime = state === 'running' ? await ctx.runtime.state(m.instanceId).catch(() => 'absent' as const) : undefined;
      if (state !== 'running' && state !== 'pending') cause = CAUSES.stopped();
      // Its init has exited (a shutdown from inside) and the instance service has not caught up yet: it will stop the
      // instance (or terminate it, as its shutdown behaviour says), and the next tick sees that.
      else if (runtime === 'stopped') ctx.tasks.start(`guest exit ${m.instanceId}`, () => guestExited(ctx, m.instanceId));
      else if (runtime === 'absent') cause = CAUSES.statusCheck();
      if (cause && (graceOver || state !== 'running')) patches.set(m.instanceId, { from, set: { health: 'Unhealthy', healthCause: cause } });
    }
  }
  if (!patches.size) return g;
  const ended = [...patches.values()].some((p) => p.remove);
  return applyPatches(ctx, g.id, patches, (x) => ended ? { ...x, lastScaledAt: now } : x);
}

/** Unhealthy members are taken out of service (and so replaced), unless ReplaceUnhealthy is suspended. */
async function replaceUnhealthy(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  if (suspended(g, 'ReplaceUnhealthy')) return g;
  const patches = new Map<string, Patch>();
  for (const m of g.members) {
    if (m.health === 'Unhealthy' && !isTerminating(m.lifecycleState)) markTerminating(g, m, m.healthCause ?? CAUSES.stopped(), patches);
  }
  return patches.size ? applyPatches(ctx, g.id, patches) : g;
}

/** The zone with the fewest members and launches, in the group's order. */
function nextZone(g: AutoScalingGroupRecord, extra: string[]): string {
  const count = (z: string) => g.members.filter((m) => !isTerminating(m.lifecycleState) && m.availabilityZone === z).length
    + g.launching.filter((l) => l.availabilityZone === z).length + extra.filter((e) => e === z).length;
  return [...g.availabilityZones].sort((a, b) => count(a) - count(b))[0]!;
}

/** Members to take out when scaling in: the fullest zone first, then the oldest template version, then the oldest launch. */
function scaleInOrder(g: AutoScalingGroupRecord, active: GroupMember[]): GroupMember[] {
  const perZone = (z: string) => active.filter((m) => m.availabilityZone === z).length;
  return active.filter((m) => !m.protectedFromScaleIn).sort((a, b) => perZone(b.availabilityZone) - perZone(a.availabilityZone)
    || Number(a.templateVersion) - Number(b.templateVersion) || a.launchedAt.localeCompare(b.launchedAt));
}

/** Launches or terminations written down to bring the capacity to the desired one. */
async function balance(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  const active = g.members.filter((m) => !isTerminating(m.lifecycleState));
  const have = active.length + g.launching.length;
  const desired = g.deleting ? 0 : g.desiredCapacity;
  const lead = g.pendingCause ? `${g.pendingCause}  ` : '';
  if (have < desired && !g.deleting && !suspended(g, 'Launch') && !(g.retryLaunchAt && Date.now() < Date.parse(g.retryLaunchAt))) {
    const zones: string[] = [];
    for (let i = have; i < desired; i++) zones.push(nextZone(g, zones));
    const acts: ScalingActivityRecord[] = zones.map((z) => {
      const subnetId = g.subnetIds.length ? subnetFor(ctx, g, z) : undefined;
      const a = newActivity(g, {
        kind: 'launch', description: 'Launching a new EC2 instance', cause: `${lead}${CAUSES.started(have, desired)}`, statusCode: 'WaitingForInstanceId',
        availabilityZone: z, subnetId, details: JSON.stringify({ ...(subnetId ? { 'Subnet ID': subnetId } : {}), 'Availability Zone': z }),
      });
      return { ...a, clientToken: a.id };
    });
    return ctx.store.transaction(async () => {
      for (const a of acts) await activityStore(ctx).insert(a);
      return groupStore(ctx).update(g.id, (x) => ({
        ...x, pendingCause: undefined, launching: [...x.launching, ...acts.map((a) => ({ activityId: a.id, availabilityZone: a.availabilityZone!, subnetId: a.subnetId }))],
      }));
    });
  }
  if (have > desired && !suspended(g, 'Terminate')) {
    const patches = new Map<string, Patch>();
    const victims = scaleInOrder(g, active).slice(0, have - desired);
    let n = have;
    for (const m of victims) { markTerminating(g, m, `${lead}${CAUSES.shrunk(n, n - 1)}`, patches); n--; }
    if (patches.size) return applyPatches(ctx, g.id, patches, (x) => ({ ...x, pendingCause: undefined }));
  }
  if (g.pendingCause && have === desired) return groupStore(ctx).update(g.id, (x) => ({ ...x, pendingCause: undefined }));
  return g;
}

/**
 * AZRebalance: once the group is settled (every member InService, nothing
 * launching), a member in a zone the group no longer has, or in a zone
 * holding two more than the emptiest, is taken out; the capacity part then
 * launches into the emptiest zone. (AWS launches first and lets the group
 * exceed its capacity by 10% meanwhile; Kiln terminates first.)
 */
async function rebalanceZones(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  if (suspended(g, 'AZRebalance') || g.deleting || g.launching.length || g.members.some((m) => m.lifecycleState !== 'InService')) return g;
  if (g.members.length < g.desiredCapacity) return g;
  const count = (z: string) => g.members.filter((m) => m.availabilityZone === z).length;
  const stray = g.members.find((m) => !g.availabilityZones.includes(m.availabilityZone));
  const zones = [...g.availabilityZones].sort((a, b) => count(b) - count(a));
  const full = zones[0]!;
  const victim = stray ?? (count(full) - count(zones.at(-1)!) > 1 ? scaleInOrder(g, g.members.filter((m) => m.availabilityZone === full))[0] : undefined);
  if (!victim) return g;
  const patches = new Map<string, Patch>();
  markTerminating(g, victim, CAUSES.rebalance(), patches);
  return applyPatches(ctx, g.id, patches);
}

/** The group's subnet in `zone` (groups.ts checks that each is a subnet of the account's VPC). */
function subnetFor(ctx: Context, g: AutoScalingGroupRecord, zone: string): string | undefined {
  const inZone = new Set(defaultSubnets(callerOf(g), vpcRange(ctx)).filter((s) => s.availabilityZone === zone).map((s) => s.subnetId));
  return g.subnetIds.find((id) => inZone.has(id)) ?? g.subnetIds[0];
}

/** Members whose termination may go ahead (no hook holds them) and whose instance still runs: terminated now. */
async function terminateMarked(ctx: Context, g: AutoScalingGroupRecord): Promise<void> {
  for (const m of g.members) {
    if (m.lifecycleState !== 'Terminating:Proceed') continue;
    const rec = await ctx.store.instances.get(m.instanceId);
    if (!rec || rec.state === 'terminated' || rec.state === 'shutting-down') continue;
    await changeState(ctx, callerOf(g), [m.instanceId], 'terminate')
      .catch((err: Error) => ctx.log(`kiln: auto scaling could not terminate ${m.instanceId}: ${err.message}`));
  }
}
