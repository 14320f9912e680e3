/**
 * A group's tags on their own (CreateOrUpdateTags, DeleteTags, DescribeTags):
 * each names its group as ResourceId (ResourceType auto-scaling-group);
 * PropagateAtLaunch ones go onto instances launched from then on, as on AWS.
 */
import type { AutoScalingGroupRecord, GroupTag } from '../../model/scaling-records.js';
import type { Caller, Context } from '../core/context.js';
import { checkTags, findGroup, groupStore, validation } from './groups.js';

export interface TagRef { resourceId?: string; resourceType?: string; key?: string; value?: string; propagateAtLaunch?: boolean }

async function byGroup(ctx: Context, caller: Caller, tags: TagRef[] | undefined): Promise<Map<string, { group: AutoScalingGroupRecord; tags: TagRef[] }>> {
  if (!tags?.length) throw validation('Tags is required');
  const out = new Map<string, { group: AutoScalingGroupRecord; tags: TagRef[] }>();
  for (const t of tags) {
    if (t.resourceType !== undefined && t.resourceType !== 'auto-scaling-group') throw validation(`Invalid resource type: ${t.resourceType}`);
    if (!t.key) throw validation('Tag key cannot be empty');
    const group = out.get(t.resourceId ?? '')?.group ?? await findGroup(ctx, caller, t.resourceId);
    out.set(group.name, { group, tags: [...(out.get(group.name)?.tags ?? []), t] });
  }
  return out;
}

export async function createOrUpdateTags(ctx: Context, caller: Caller, tags: TagRef[] | undefined): Promise<void> {
  for (const { group, tags: ts } of (await byGroup(ctx, caller, tags)).values()) {
    const given: GroupTag[] = ts.map((t) => ({ key: t.key!, value: t.value ?? '', propagateAtLaunch: t.propagateAtLaunch ?? false }));
    checkTags(given);
    await groupStore(ctx).update(group.id, (g) => ({ ...g, tags: [...g.tags.filter((x) => !given.some((y) => y.key === x.key)), ...given] }));
  }
}

export async function deleteTags(ctx: Context, caller: Caller, tags: TagRef[] | undefined): Promise<void> {
  for (const { group, tags: ts } of (await byGroup(ctx, caller, tags)).values()) {
    await groupStore(ctx).update(group.id, (g) => ({ ...g, tags: g.tags.filter((x) => !ts.some((t) => t.key === x.key)) }));
  }
}

/** DescribeTags: every tag of the caller's groups, filtered by auto-scaling-group, key, value and propagate-at-launch (values OR'd, filters AND'd). */
export async function describeGroupTags(ctx: Context, caller: Caller, filters: Array<{ name?: string; values?: string[] }> = []) {
  const all = (await groupStore(ctx).list(caller)).flatMap((group) => group.tags.map((tag) => ({ group, tag })));
  const field: Record<string, (x: { group: AutoScalingGroupRecord; tag: GroupTag }) => string> = {
    'auto-scaling-group': (x) => x.group.name, key: (x) => x.tag.key, value: (x) => x.tag.value, 'propagate-at-launch': (x) => String(x.tag.propagateAtLaunch),
  };
  for (const f of filters) if (!f.name || !field[f.name]) throw validation(`Filter name ${f.name} is invalid`);
  return all.filter((x) => filters.every((f) => (f.values ?? []).includes(field[f.name!]!(x))));
}
