/**
 * Changes to a group's members as the reconciler and the instance refresh
 * make them: each written only if the member is still in the state it was
 * seen in (an API request may have moved it meanwhile).
 */
import type { AutoScalingGroupRecord, GroupMember, LifecycleState, ScalingActivityRecord } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { activityStore, newActivity } from './activities.js';
import { groupStore } from './groups.js';

export const suspended = (g: AutoScalingGroupRecord, p: string) => g.suspended.some((s) => s.process === p);
export const callerOf = (g: AutoScalingGroupRecord): Caller => ({ account: g.account, region: g.region });

/** A change to one member, applied only if it is still in the state it was seen in. */
export interface Patch { from: LifecycleState; set?: Partial<GroupMember>; remove?: boolean; activity?: ScalingActivityRecord }

/** The patches that still apply, with the activities they start, in one transaction. */
export async function applyPatches(ctx: Context, id: string, patches: Map<string, Patch>, more: (g: AutoScalingGroupRecord) => AutoScalingGroupRecord = (g) => g) {
  return ctx.store.transaction(async () => {
    const applied: ScalingActivityRecord[] = [];
    const g = await groupStore(ctx).update(id, (cur) => more({
      ...cur,
      members: cur.members.flatMap((m) => {
        const p = patches.get(m.instanceId);
        if (!p || p.from !== m.lifecycleState) return [m];
        if (p.activity) applied.push(p.activity);
        return p.remove ? [] : [{ ...m, ...p.set }];
      }),
    }));
    for (const a of applied) await activityStore(ctx).insert(a);
    return g;
  });
}

/** A termination written down: the activity, and the member Terminating with it. */
export function markTerminating(g: AutoScalingGroupRecord, m: GroupMember, cause: string, patches: Map<string, Patch>): void {
  const act = newActivity(g, {
    kind: 'terminate', instanceId: m.instanceId, description: `Terminating EC2 instance: ${m.instanceId}`, cause,
    details: JSON.stringify({ 'Availability Zone': m.availabilityZone }),
  });
  patches.set(m.instanceId, { from: m.lifecycleState, set: { lifecycleState: 'Terminating', activityId: act.id, waits: undefined }, activity: act });
}

