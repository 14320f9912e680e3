/** Finding a caller's instances as AWS shows them (terminated ones fade out after an hour). */
import type { InstanceRecord } from '../../model/records.js';
import type { Caller, Context } from '../core/context.js';
import { MalformedId, NotFound } from '../core/errors.js';
import { isValidId } from '../core/ids.js';

/** The caller's instances; with `ids`, exactly those or NotFound/Malformed as AWS answers. */
export async function visibleInstances(ctx: Context, caller: Caller, ids?: string[]): Promise<InstanceRecord[]> {
  const now = Date.now();
  if (ids?.length) {
    for (const id of ids) if (!isValidId('instance', id)) throw new MalformedId('instance', id);
    const found = await Promise.all(ids.map((id) => ctx.store.instances.get(id)));
    const missing = ids.filter((_, i) => !found[i] || found[i]!.account !== caller.account || found[i]!.region !== caller.region || gone(found[i]!, now));
    if (missing.length) throw new NotFound('instance', missing);
    return found as InstanceRecord[];
  }
  return (await ctx.store.instances.list(caller)).filter((i) => !gone(i, now));
}

/** AWS keeps showing a terminated instance for about an hour; Kiln keeps the record (metering reads it) but shows it no more. */
export const TERMINATED_VISIBLE_MS = 60 * 60 * 1000;
const gone = (i: InstanceRecord, now: number) =>
  i.state === 'terminated' && now - Date.parse(i.terminatedAt ?? i.launchTime) >= TERMINATED_VISIBLE_MS;

/** Instances that count against the live-instance limit: neither terminated nor on their way there. */
export async function liveInstanceCount(ctx: Context, owner: Caller): Promise<number> {
  return (await ctx.store.instances.list(owner)).filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').length;
}
