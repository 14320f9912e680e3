/**
 * Tags on any taggable resource (images, snapshots, volumes, instances, key
 * pairs), addressed by id: CreateTags, DeleteTags and DescribeTags. A change
 * checks every resource first and then retags them all in one transaction, so
 * a bad id, or a resource over the limit, changes nothing.
 */
import type { Owned, Tag } from '../../model/records.js';
import type { Collection } from '../../store/store.js';
import type { Caller, Context } from '../core/context.js';
import type { ResourceKind } from '../core/errors.js';
import { beforeChange, Invalid, MalformedId, NotFound } from '../core/errors.js';
import { ID_PREFIXES, isValidId } from '../core/ids.js';

type Tagged = Owned & { tags: Tag[] };

export type TaggedType = 'image' | 'instance' | 'snapshot' | 'volume' | 'key-pair' | 'security-group';

const MAX_TAGS = 50;

const TAGGED: ResourceKind[] = ['image', 'snapshot', 'volume', 'instance', 'key-pair', 'security-group'];
/** Id prefix -> kind, from the one table of prefixes. */
const KINDS: Record<string, ResourceKind> = Object.fromEntries(TAGGED.map((k) => [ID_PREFIXES[k], k]));

function collectionFor(ctx: Context, kind: ResourceKind): Collection<Tagged> {
  const { store } = ctx;
  const colls = { image: store.images, snapshot: store.snapshots, volume: store.volumes, instance: store.instances, 'key-pair': store.collection<Tagged>('key-pair'),
    'security-group': store.collection<Tagged>('security-group') };
  return colls[kind] as unknown as Collection<Tagged>;
}

function target(ctx: Context, id: string): { id: string; kind: ResourceKind; coll: Collection<Tagged> } {
  const kind = KINDS[id.slice(0, id.indexOf('-'))];
  if (!kind) throw new Invalid('InvalidID', `The ID '${id}' is not valid`);
  if (!isValidId(kind, id)) throw new MalformedId(kind, id);
  return { id, kind, coll: collectionFor(ctx, kind) };
}

/** Adds or overwrites tags by key; a resource holds at most 50. */
export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const map = new Map(existing.map((t) => [t.key, t.value]));
  for (const t of added) map.set(t.key, t.value);
  if (map.size > MAX_TAGS) throw new Invalid('TagLimitExceeded', `The maximum number of tags per resource (${MAX_TAGS}) has been exceeded`);
  return [...map].map(([key, value]) => ({ key, value }));
}

/** Applies `change` to the tags of every resource in `ids`, all or none. */
async function retag(ctx: Context, caller: Caller, ids: string[] | undefined, change: (tags: Tag[]) => Tag[]): Promise<void> {
  if (!ids?.length) throw new Invalid('MissingParameter', 'The request must contain the parameter resourceIdSet');
  const targets = ids.map((id) => target(ctx, id));
  await ctx.store.transaction(async () => {
    for (const t of targets) {
      const rec = await t.coll.get(t.id);
      if (!rec || rec.account !== caller.account || rec.region !== caller.region) throw new NotFound(t.kind, [t.id]);
      change(rec.tags);
    }
    beforeChange(caller);
    for (const t of targets) await t.coll.update(t.id, (r) => ({ ...r, tags: change(r.tags) }));
  });
}

export async function createTags(ctx: Context, caller: Caller, ids: string[] | undefined, tags: Tag[]): Promise<void> {
  if (!tags.length) throw new Invalid('MissingParameter', 'The request must contain the parameter tagSet');
  await retag(ctx, caller, ids, (current) => mergeTags(current, tags));
}

/** A key alone deletes the tag; a key with a value (even empty) deletes it only when the value matches; no tags deletes all. */
export async function deleteTags(ctx: Context, caller: Caller, ids: string[] | undefined, spec: Array<{ key?: string; value?: string }>): Promise<void> {
  await retag(ctx, caller, ids, (tags) => (spec.length === 0 ? [] : tags.filter((t) =>
    !spec.some((s) => s.key === t.key && (s.value === undefined || s.value === t.value)))));
}

/** One tag of one resource, as DescribeTags lists it; `resourceTags` lets `tag:<key>` pick resources by their other tags. */
export interface TagRow { resourceId: string; resourceType: TaggedType; key: string; value: string; resourceTags: Tag[] }

/** The tags of the caller's images (not deregistered), instances, snapshots, volumes and key pairs in its region. */
export async function tagRows(ctx: Context, caller: Caller): Promise<TagRow[]> {
  const scope = { account: caller.account, region: caller.region };
  const types: TaggedType[] = ['image', 'instance', 'snapshot', 'volume', 'key-pair', 'security-group'];
  const rows: TagRow[] = [];
  for (const resourceType of types) {
    let recs = await collectionFor(ctx, resourceType).list(scope);
    if (resourceType === 'image') recs = recs.filter((i) => (i as unknown as { state: string }).state !== 'deregistered');
    for (const r of recs) for (const t of r.tags) rows.push({ resourceId: r.id, resourceType, key: t.key, value: t.value, resourceTags: r.tags });
  }
  return rows;
}
