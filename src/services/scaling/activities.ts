/**
 * Scaling activities: the record each launch and termination starts with
 * (written before the instance is touched, so a restart finds the intent),
 * and their Cause and Description texts, as AWS words them.
 */
import { randomUUID } from 'node:crypto';
import type { AutoScalingGroupRecord, ScalingActivityRecord } from '../../model/scaling-records.js';
import type { Context } from '../core/context.js';

export const activityStore = (ctx: Context) => ctx.store.collection<ScalingActivityRecord>('scaling-activity');

/** AWS's timestamps inside Cause texts: ISO 8601 to the second. */
export const causeTime = (d = new Date()) => `${d.toISOString().slice(0, 19)}Z`;

export const CAUSES = {
  created: (from: number, to: number) => `At ${causeTime()} a user request created an AutoScalingGroup changing the desired capacity from ${from} to ${to}.`,
  setDesired: (from: number, to: number) => `At ${causeTime()} a user request explicitly set group desired capacity changing the desired capacity from ${from} to ${to}.`,
  updated: (g: { minSize: number; maxSize: number; desiredCapacity: number }, from: number) =>
    `At ${causeTime()} a user request update of AutoScalingGroup constraints to min: ${g.minSize}, max: ${g.maxSize}, desired: ${g.desiredCapacity} changing the desired capacity from ${from} to ${g.desiredCapacity}.`,
  scheduled: (name: string, g: { minSize: number; maxSize: number; desiredCapacity: number }, from: number) =>
    `At ${causeTime()} a scheduled action update of AutoScalingGroup constraints to min: ${g.minSize}, max: ${g.maxSize}, desired: ${g.desiredCapacity} changing the desired capacity from ${from} to ${g.desiredCapacity}. At ${causeTime()} the scheduled action ${name} executed.`,
  started: (from: number, to: number) =>
    `At ${causeTime()} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${from} to ${to}.`,
  shrunk: (from: number, to: number) =>
    `At ${causeTime()} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${from} to ${to}.`,
  stopped: () => `At ${causeTime()} an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`,
  statusCheck: () => `At ${causeTime()} an instance was taken out of service in response to an EC2 instance status checks failure.`,
  userHealth: () => `At ${causeTime()} an instance was taken out of service in response to a user health-check.`,
  userTerminate: (id: string, from: number, to?: number) => to === undefined
    ? `At ${causeTime()} instance ${id} was taken out of service in response to a user request.`
    : `At ${causeTime()} instance ${id} was taken out of service in response to a user request, shrinking the capacity from ${from} to ${to}.`,
  refresh: (id: string) => `At ${causeTime()} an instance was taken out of service in response to an instance refresh.  At ${causeTime()} instance ${id} was selected for termination.`,
  rebalance: () => `At ${causeTime()} an instance was taken out of service in response to a rebalancing of the group across Availability Zones.`,
  abandoned: () => `At ${causeTime()} an instance was taken out of service in response to a launch lifecycle action being abandoned.`,
  deleting: () => `At ${causeTime()} a user request deleted the AutoScalingGroup and its instances (ForceDelete).`,
};

/** A new activity for `group`, not yet stored. */
export function newActivity(group: AutoScalingGroupRecord, fields: Pick<ScalingActivityRecord, 'kind' | 'description' | 'cause'> & Partial<ScalingActivityRecord>): ScalingActivityRecord {
  return {
    id: randomUUID(), account: group.account, region: group.region, groupId: group.id, groupName: group.name, groupArn: group.arn,
    startTime: new Date().toISOString(), statusCode: 'InProgress', progress: 0, details: '{}', ...fields,
  };
}

/** Ends an activity with a status (once: a finished one stays as it ended). */
export async function finishActivity(ctx: Context, id: string | undefined, statusCode: 'Successful' | 'Failed' | 'Cancelled', statusMessage?: string): Promise<void> {
  if (!id) return;
  const cur = await activityStore(ctx).get(id);
  if (!cur || cur.endTime) return;
  await activityStore(ctx).update(id, (a) => ({ ...a, statusCode, statusMessage, progress: 100, endTime: new Date().toISOString() }));
}

/** A group's activities, newest first (DescribeScalingActivities). */
export async function groupActivities(ctx: Context, scope: { account: string; region: string }, groupName?: string, ids?: string[]): Promise<ScalingActivityRecord[]> {
  const all = await activityStore(ctx).list(scope);
  return all.filter((a) => (!groupName || a.groupName === groupName) && (!ids?.length || ids.includes(a.id)))
    .sort((a, b) => b.startTime.localeCompare(a.startTime));
}
