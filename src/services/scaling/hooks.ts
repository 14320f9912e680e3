/**
 * Lifecycle hooks: a member launching (or terminating) waits in Pending:Wait
 * (Terminating:Wait) until every hook of that transition is completed with
 * CompleteLifecycleAction or its HeartbeatTimeout passes (then the hook's
 * DefaultResult). RecordLifecycleActionHeartbeat pushes the timeout back. Any
 * ABANDON of a launch terminates the instance; of a termination, it only ends
 * the wait, as on AWS.
 */
import { randomUUID } from 'node:crypto';
import type { AutoScalingGroupRecord, GroupMember, HookWait, Transition } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import { findGroup, groupStore, validation } from './groups.js';
import type { HookRequest } from './hook-spec.js';
import { hookFrom, MAX_HOOKS } from './hook-spec.js';
export { TRANSITIONS } from './hook-spec.js';
import { kickScaling } from './wake.js';

export async function putLifecycleHook(ctx: Context, caller: Caller, req: HookRequest): Promise<void> {
  const g = await findGroup(ctx, caller, req.groupName);
  await groupStore(ctx).update(g.id, (cur) => {
    const prior = cur.hooks.find((h) => h.name === req.name);
    const hook = hookFrom(req, prior);
    if (!prior && cur.hooks.length >= MAX_HOOKS) throw new Invalid('LimitExceeded', `Lifecycle hook limit of ${MAX_HOOKS} reached for the group.`);
    return { ...cur, hooks: prior ? cur.hooks.map((h) => h.name === hook.name ? hook : h) : [...cur.hooks, hook] };
  });
}

export async function describeLifecycleHooks(ctx: Context, caller: Caller, groupName: string | undefined, names?: string[]) {
  const g = await findGroup(ctx, caller, groupName);
  return { group: g, hooks: g.hooks.filter((h) => !names?.length || names.includes(h.name)) };
}

export async function deleteLifecycleHook(ctx: Context, caller: Caller, groupName: string | undefined, name: string | undefined): Promise<void> {
  const g = await findGroup(ctx, caller, groupName);
  if (!g.hooks.some((h) => h.name === name)) throw validation(`No Lifecycle Hook found with name ${name} for group ${g.name}`);
  // Members waiting on the hook stop waiting on it.
  await groupStore(ctx).update(g.id, (cur) => ({
    ...cur, hooks: cur.hooks.filter((h) => h.name !== name),
    members: cur.members.map((m) => m.waits ? { ...m, waits: m.waits.filter((w) => w.hook !== name) } : m),
  }));
  kickScaling(ctx);
}

export interface ActionRef { groupName?: string; hookName?: string; instanceId?: string; token?: string }

/** CompleteLifecycleAction (with a result) or RecordLifecycleActionHeartbeat (without one). */
export async function lifecycleAction(ctx: Context, caller: Caller, ref: ActionRef, result?: string): Promise<void> {
  if (result !== undefined && result !== 'CONTINUE' && result !== 'ABANDON') throw validation(`Invalid LifecycleActionResult: ${result}`);
  if (!ref.instanceId && !ref.token) throw validation('Either InstanceId or LifecycleActionToken is required');
  const g = await findGroup(ctx, caller, ref.groupName);
  const hook = g.hooks.find((h) => h.name === ref.hookName);
  if (!hook) throw validation(`No Lifecycle Hook found with name ${ref.hookName} for group ${g.name}`);
  const waiting = (m: GroupMember) => (m.waits ?? []).some((w) => w.hook === hook.name && !w.result && (ref.token ? w.token === ref.token : m.instanceId === ref.instanceId));
  await groupStore(ctx).update(g.id, (cur) => {
    if (!cur.members.some(waiting)) {
      throw validation(`No active Lifecycle Action found with ${ref.token ? `token ${ref.token}` : `instance ID ${ref.instanceId}`}`);
    }
    return {
      ...cur, members: cur.members.map((m) => !waiting(m) ? m : {
        ...m, waits: m.waits!.map((w): HookWait => w.hook !== hook.name ? w : result
          ? { ...w, result: result as HookWait['result'] }
          : { ...w, deadline: new Date(Date.now() + hook.heartbeatTimeout * 1000).toISOString() }),
      }),
    };
  });
  kickScaling(ctx);
}

/** The waits a member starts for `transition` (none when the group has no such hook). */
export function startWaits(g: AutoScalingGroupRecord, transition: Transition): HookWait[] {
  return g.hooks.filter((h) => h.transition === transition)
    .map((h) => ({ hook: h.name, token: randomUUID(), deadline: new Date(Date.now() + h.heartbeatTimeout * 1000).toISOString() }));
}

/** How a member's waits end: undefined while one still waits, else ABANDON if any hook abandons, else CONTINUE. */
export function waitOutcome(g: AutoScalingGroupRecord, waits: HookWait[] = []): 'CONTINUE' | 'ABANDON' | undefined {
  const now = Date.now();
  let out: 'CONTINUE' | 'ABANDON' = 'CONTINUE';
  for (const w of waits) {
    const hook = g.hooks.find((h) => h.name === w.hook);
    const r = w.result ?? (Date.parse(w.deadline) <= now ? hook?.defaultResult ?? 'CONTINUE' : undefined);
    if (!r) return undefined;
    if (r === 'ABANDON') out = 'ABANDON';
  }
  return out;
}
