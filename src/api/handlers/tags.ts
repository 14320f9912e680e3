import type { CreateTagsRequest, DeleteTagsRequest } from '@aws-sdk/client-ec2';
import type { Caller, Context } from '../../services/context.js';
import { MalformedId, NotFound } from '../../services/errors.js';
import type { ResourceKind } from '../../services/errors.js';
import { isValidId } from '../../services/ids.js';
import type { Owned, Tag } from '../../services/model.js';
import type { Collection } from '../../store/store.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { fromSdkTags, mergeTags } from '../tags.js';

type Tagged = Owned & { tags: Tag[] };

function collectionFor(ctx: Context, id: string): { kind: ResourceKind; coll: Collection<Tagged> } {
  const prefix = id.slice(0, id.indexOf('-'));
  const kinds: Record<string, ResourceKind> = { ami: 'image', snap: 'snapshot', vol: 'volume', i: 'instance' };
  const kind = kinds[prefix];
  if (!kind) throw new ApiError('InvalidID', `The ID '${id}' is not valid`);
  if (!isValidId(kind, id)) throw new MalformedId(kind, id);
  const coll = { image: ctx.store.images, snapshot: ctx.store.snapshots, volume: ctx.store.volumes, instance: ctx.store.instances }[kind];
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

export const HANDLERS: Record<string, Handler> = {
  CreateTags: createTags,
  DeleteTags: deleteTags,
};
