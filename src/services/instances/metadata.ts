/**
 * What the instance metadata service (server/imds.ts) knows of the instance
 * at an address: the instance that holds it (addresses are unique on the
 * host, and an instance cannot send from another's), with its details.
 */
import type { InstanceAttributesRecord } from '../../model/extra-records.js';
import type { Context } from '../core/context.js';
import type { InstanceDetails } from './instances.js';
import { detailsOf } from './instances.js';

export async function instanceAtAddress(ctx: Context, ip: string): Promise<InstanceDetails | undefined> {
  const holders = (await ctx.store.collection<InstanceAttributesRecord>('instance-attributes').list()).filter((a) => a.privateIp === ip);
  for (const a of holders) {
    const inst = await ctx.store.instances.get(a.id);
    if (inst && (inst.state === 'running' || inst.state === 'pending')) return detailsOf(ctx, inst);
  }
  return undefined;
}
