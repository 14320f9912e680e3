import type { CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult, ResourceType } from '@aws-sdk/client-ec2';
import type { Caller, Context } from '../../services/context.js';
import { MalformedId, NotFound } from '../../services/errors.js';
import type { ResourceKind } from '../../services/errors.js';
import { isValidId } from '../../services/ids.js';
import type { Owned, Tag } from '../../services/model.js';
import type { Collection } from '../../store/store.js';
import { ApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { fromSdkTags, mergeTags } from '../tags.js';

type Tagged = Owned & { tags: Tag[] };

function collectionFor(ctx: Context, id: string): { kind: ResourceKind; coll: Collection<Tagged> } {
  const prefix = id.slice(0, id.indexOf('-'));
  const kinds: Record<string, ResourceKind> = { ami: 'image', snap: 'snapshot', vol: 'volume', i: 'instance', key: 'key-pair' };
  const kind = kinds[prefix];
  if (!kind) throw new ApiError('InvalidID', `The ID '${id}' is not valid`);
  if (!isValidId(kind, id)) throw new MalformedId(kind, id);
  const coll = {
    image: ctx.store.images, snapshot: ctx.store.snapshots, volume: ctx.store.volumes, instance: ctx.store.instances,
    'key-pair': ctx.store.collection<Tagged>('key-pair'),
  }[kind];
  return { kind, coll: coll as unknown as Collection<Tagged> };
}

/** Checks every resource first (so a bad id changes nothing), then applies `change` to each. */
async function retag(ctx: Context, caller: Caller, ids: string[] | undefined, change: (tags: Tag[]) => Tag[]): Promise<void> {
  if (!ids?.length) throw new ApiError('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const targets = ids.map((id) => ({ id, ...collectionFor(ctx, id) }));
  for (const t of targets) {
    const rec = await t.coll.get(t.id);
    if (!rec || rec.account !== caller.account || rec.region !== caller.region) throw new NotFound(t.kind, [t.id]);
    change(rec.tags);
  }
  for (const t of targets) await t.coll.update(t.id, (r) => ({ ...r, tags: change(r.tags) }));
}

export const createTags: Handler<CreateTagsRequest, object> = async (ctx, caller, input) => {
  if (!input.Tags?.length) throw new ApiError('MissingParameter', 'The request must contain the parameter tagSet');
  const added = fromSdkTags(input.Tags);
  await retag(ctx, caller, input.Resources, (tags) => mergeTags(tags, added));
  return {};
};

/** A key alone deletes the tag; a key with a value (even empty) deletes it only when the value matches; no tags deletes all. */
export const deleteTags: Handler<DeleteTagsRequest, object> = async (ctx, caller, input) => {
  const spec = input.Tags ?? [];
  await retag(ctx, caller, input.Resources, (tags) => (spec.length === 0 ? [] : tags.filter((t) =>
    !spec.some((s) => s.Key === t.key && (s.Value === undefined || s.Value === t.value)))));
  return {};
};

/** One tag of one resource, as DescribeTags lists it; `resourceTags` lets `tag:<key>` pick resources by their other tags. */
interface TagRow { resourceId: string; resourceType: ResourceType; key: string; value: string; resourceTags: Tag[] }

const TAG_FILTERS: FilterFields<TagRow> = {
  'key': (r) => r.key,
  'value': (r) => r.value,
  'resource-id': (r) => r.resourceId,
  'resource-type': (r) => r.resourceType,
};

/** The tags of the caller's images (not deregistered), instances, snapshots, volumes and key pairs in its region. */
async function tagRows(ctx: Context, caller: Caller): Promise<TagRow[]> {
  const scope = { account: caller.account, region: caller.region };
  const sources: Array<[ResourceType, Tagged[]]> = [
    ['image', (await ctx.store.images.list(scope)).filter((i) => i.state !== 'deregistered')],
    ['instance', await ctx.store.instances.list(scope)],
    ['snapshot', await ctx.store.snapshots.list(scope)],
    ['volume', await ctx.store.volumes.list(scope)],
    ['key-pair', await ctx.store.collection<Tagged>('key-pair').list(scope)],
  ];
  return sources.flatMap(([resourceType, recs]) => recs.flatMap((r) =>
    r.tags.map((t) => ({ resourceId: r.id, resourceType, key: t.key, value: t.value, resourceTags: r.tags }))));
}

export const describeTags: Handler<DescribeTagsRequest, DescribeTagsResult> = async (ctx, caller, input) => {
  const rows = applyFilters(await tagRows(ctx, caller), input.Filters, TAG_FILTERS, (r) => r.resourceTags);
  const page = paginate(rows, 'tags', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return {
    Tags: page.items.map((r) => ({ ResourceId: r.resourceId, ResourceType: r.resourceType, Key: r.key, Value: r.value })),
    NextToken: page.nextToken,
  };
};

export const HANDLERS: Record<string, Handler> = {
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
};
