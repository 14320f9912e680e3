/**
 * Scheduled actions: at StartTime (once), or at each time a Recurrence (a
 * five-field cron expression, in UTC) names between StartTime and EndTime,
 * the group's MinSize, MaxSize and DesiredCapacity become the action's. A
 * one-time action goes once it has run, as on AWS. ScheduledActions
 * suspended: due actions wait.
 */
import type { AutoScalingGroupRecord, ScheduledActionRecord } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { CAUSES } from './activities.js';
import { findGroup, groupStore, validation } from './groups.js';
import { suspended } from './members.js';
import { kickScaling } from './wake.js';

export const scheduledStore = (ctx: Context) => ctx.store.collection<ScheduledActionRecord>('scheduled-action');

export interface ScheduleRequest {
  groupName?: string; name?: string; startTime?: Date; endTime?: Date; recurrence?: string; timeZone?: string;
  minSize?: number; maxSize?: number; desiredCapacity?: number;
}

const RANGES: Array<[number, number]> = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];

/** A cron expression's sets of minutes, hours, days of month, months and days of week; undefined when it is not one. */
function parseCron(expr: string): Array<Set<number>> | undefined {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return undefined;
  const out: Array<Set<number>> = [];
  for (const [i, f] of fields.entries()) {
    const [lo, hi] = RANGES[i]!;
    const set = new Set<number>();
    for (const part of f.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return undefined;
      const a = m[1] === '*' ? lo : Number(m[2]);
      const b = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : a;
      const step = m[4] ? Number(m[4]) : 1;
      if (a < lo || b > (i === 4 ? 7 : hi) || a > b || step < 1) return undefined;
      for (let v = a; v <= b; v += step) set.add(i === 4 ? v % 7 : v);
    }
    out.push(set);
  }
  return out;
}

/** The first minute after `after` that the expression names (within a year), in UTC. */
export function nextCronTime(expr: string, after: Date): Date | undefined {
  const sets = parseCron(expr);
  if (!sets) return undefined;
  const [min, hour, dom, mon, dow] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
  for (let i = 0; i < 366 * 24 * 60; i++, t.setTime(t.getTime() + 60_000)) {
    if (!mon.has(t.getUTCMonth() + 1) || !dom.has(t.getUTCDate()) || !dow.has(t.getUTCDay())) { t.setUTCHours(23, 59); continue; }
    if (!hour.has(t.getUTCHours())) { t.setUTCMinutes(59); continue; }
    if (min.has(t.getUTCMinutes())) return t;
  }
  return undefined;
}

function firstRun(req: ScheduleRequest, now: Date): string | undefined {
  const start = req.startTime && req.startTime > now ? req.startTime : now;
  if (!req.recurrence) return (req.startTime ?? now).toISOString();
  const next = nextCronTime(req.recurrence, new Date(start.getTime() - 60_000));
  return next && (!req.endTime || next <= req.endTime) ? next.toISOString() : undefined;
}

export async function putScheduledAction(ctx: Context, caller: Caller, req: ScheduleRequest): Promise<void> {
  const g = await findGroup(ctx, caller, req.groupName);
  if (!req.name || req.name.length > 255) throw validation('ScheduledActionName must be between 1 and 255 characters');
  if (req.minSize === undefined && req.maxSize === undefined && req.desiredCapacity === undefined) {
    throw validation('At least one of MinSize, MaxSize or DesiredCapacity must be specified');
  }
  const now = new Date();
  if (req.recurrence !== undefined && !parseCron(req.recurrence)) throw validation(`Given recurrence schedule (${req.recurrence}) is invalid.`);
  if (!req.recurrence && req.startTime && req.startTime.getTime() < now.getTime() - 60_000) throw validation('Given start time is in the past');
  if (req.startTime && req.endTime && req.endTime <= req.startTime) throw validation('End time must be after start time');
  if (req.timeZone && req.timeZone !== 'UTC' && req.timeZone !== 'Etc/UTC') throw validation(`Kiln schedules in UTC only, not in ${req.timeZone}`);
  const id = `${g.id}/${req.name}`;
  const rec: ScheduledActionRecord = {
    id, account: g.account, region: g.region, groupId: g.id, groupName: g.name, name: req.name,
    arn: `arn:aws:autoscaling:${g.region}:${g.account}:scheduledUpdateGroupAction:${crypto.randomUUID()}:autoScalingGroupName/${g.name}:scheduledActionName/${req.name}`,
    startTime: req.startTime?.toISOString(), endTime: req.endTime?.toISOString(), recurrence: req.recurrence, timeZone: req.timeZone,
    minSize: req.minSize, maxSize: req.maxSize, desiredCapacity: req.desiredCapacity, nextRun: firstRun(req, now),
  };
  const store = scheduledStore(ctx);
  const prior = await store.get(id);
  if (prior) await store.update(id, () => ({ ...rec, arn: prior.arn }));
  else await store.insert(rec);
  kickScaling(ctx);
}

export async function describeScheduledActions(ctx: Context, caller: Caller, groupName?: string, names?: string[]): Promise<ScheduledActionRecord[]> {
  if (groupName) await findGroup(ctx, caller, groupName);
  return (await scheduledStore(ctx).list(caller)).filter((a) => (!groupName || a.groupName === groupName) && (!names?.length || names.includes(a.name)));
}

export async function deleteScheduledAction(ctx: Context, caller: Caller, groupName: string | undefined, name: string | undefined): Promise<void> {
  const g = await findGroup(ctx, caller, groupName);
  if (!(await scheduledStore(ctx).delete(`${g.id}/${name}`))) throw validation(`Scheduled action name not found - ScheduledAction ${name} not found`);
}

/** Runs the group's due actions; a size that does not fit the bounds is skipped (the action still counts as run). */
export async function scheduledStep(ctx: Context, g: AutoScalingGroupRecord): Promise<AutoScalingGroupRecord> {
  if (suspended(g, 'ScheduledActions') || g.deleting) return g;
  const now = new Date();
  for (const a of await scheduledStore(ctx).list(g)) {
    if (a.groupId !== g.id || !a.nextRun || Date.parse(a.nextRun) > now.getTime()) continue;
    g = await groupStore(ctx).update(g.id, (x) => {
      const minSize = a.minSize ?? x.minSize;
      const maxSize = a.maxSize ?? x.maxSize;
      const desiredCapacity = a.desiredCapacity ?? Math.min(Math.max(x.desiredCapacity, minSize), maxSize);
      if (minSize > maxSize || desiredCapacity < minSize || desiredCapacity > maxSize) return x;
      const next = { ...x, minSize, maxSize, desiredCapacity };
      return { ...next, pendingCause: desiredCapacity !== x.desiredCapacity ? CAUSES.scheduled(a.name, next, x.desiredCapacity) : x.pendingCause };
    });
    const next = a.recurrence ? nextCronTime(a.recurrence, now) : undefined;
    if (next && (!a.endTime || next.getTime() <= Date.parse(a.endTime))) await scheduledStore(ctx).update(a.id, (x) => ({ ...x, nextRun: next.toISOString() }));
    else await scheduledStore(ctx).delete(a.id);
  }
  return g;
}
