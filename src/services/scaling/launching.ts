/**
 * Carrying out one recorded launch: RunInstances with the group's launch
 * template, in the intent's zone or subnet, tagged aws:autoscaling:groupName
 * and with the group's PropagateAtLaunch tags, under the activity's
 * ClientToken. The instance joins the group as Pending in the same write
 * that retires the intent; a failure ends the activity Failed and holds
 * further launches back for a while.
 */
import type { AutoScalingGroupRecord } from '../../model/scaling-records.js';
import type { Context } from '../core/context.js';
import { launchInstances } from '../templates/template-launch.js';
import { activityStore } from './activities.js';
import { groupStore } from './groups.js';

type Intent = AutoScalingGroupRecord['launching'][number];

export async function launchIntent(ctx: Context, g: AutoScalingGroupRecord, intent: Intent, retryMs: number): Promise<void> {
  const act = await activityStore(ctx).get(intent.activityId);
  const caller = { account: g.account, region: g.region };
  const tags = [{ key: 'aws:autoscaling:groupName', value: g.name }, ...g.tags.filter((t) => t.propagateAtLaunch).map((t) => ({ key: t.key, value: t.value }))];
  const instanceType = g.mixed?.overrides?.[0]?.instanceType;
  try {
    const [d] = await launchInstances(ctx, caller, {
      data: { tagSpecifications: [{ resourceType: 'instance', tags }], ...(intent.subnetId ? {} : { availabilityZone: intent.availabilityZone }), ...(instanceType ? { instanceType } : {}) },
      minCount: 1, maxCount: 1, subnetId: intent.subnetId, clientToken: act?.clientToken ?? intent.activityId,
      launchTemplate: { id: g.launchTemplate.id, version: g.launchTemplate.version },
    });
    const inst = d!.inst;
    const version = inst.tags.find((t) => t.key === 'aws:ec2launchtemplate:version')?.value ?? '0';
    await ctx.store.transaction(async () => {
      await groupStore(ctx).update(g.id, (x) => ({
        ...x, lastScaledAt: new Date().toISOString(), retryLaunchAt: undefined,
        launching: x.launching.filter((l) => l.activityId !== intent.activityId),
        members: x.members.some((m) => m.instanceId === inst.id) ? x.members : [...x.members, {
          instanceId: inst.id, availabilityZone: inst.availabilityZone, lifecycleState: 'Pending', health: 'Healthy', templateVersion: version,
          instanceType: inst.instanceType, protectedFromScaleIn: x.newInstancesProtectedFromScaleIn, launchedAt: new Date().toISOString(), activityId: intent.activityId,
        }],
      }));
      if (act) {
        await activityStore(ctx).update(act.id, (a) => ({
          ...a, instanceId: inst.id, description: `Launching a new EC2 instance: ${inst.id}`, statusCode: 'PreInService', progress: 30,
        }));
      }
    });
  } catch (err) {
    const message = (err as Error).message;
    ctx.log(`kiln: auto scaling group ${g.name} could not launch: ${message}`);
    await ctx.store.transaction(async () => {
      await groupStore(ctx).update(g.id, (x) => ({
        ...x, launching: x.launching.filter((l) => l.activityId !== intent.activityId), retryLaunchAt: new Date(Date.now() + retryMs).toISOString(),
      }));
      if (act) {
        await activityStore(ctx).update(act.id, (a) => ({
          ...a, statusCode: 'Failed', statusMessage: message, progress: 100, endTime: new Date().toISOString(),
          description: `Launching a new EC2 instance.  Status Reason: ${message}`,
        }));
      }
    });
  }
}
