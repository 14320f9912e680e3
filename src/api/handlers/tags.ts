/** CreateTags, DeleteTags and DescribeTags, through the tags service. */
import type { CreateTagsRequest, DeleteTagsRequest, DescribeTagsRequest, DescribeTagsResult } from '@aws-sdk/client-ec2';
import type { TagRow } from '../../services/tags/tags.js';
import { createTags as create, deleteTags as remove, tagRows } from '../../services/tags/tags.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { fromSdkTags } from '../tags.js';

export const createTags: Handler<CreateTagsRequest, object> = async (ctx, caller, input) => {
  await create(ctx, caller, input.Resources, fromSdkTags(input.Tags));
  return {};
};

export const deleteTags: Handler<DeleteTagsRequest, object> = async (ctx, caller, input) => {
  await remove(ctx, caller, input.Resources, (input.Tags ?? []).map((t) => ({ key: t.Key, value: t.Value })));
  return {};
};

const TAG_FILTERS: FilterFields<TagRow> = {
  'key': (r) => r.key,
  'value': (r) => r.value,
  'resource-id': (r) => r.resourceId,
  'resource-type': (r) => r.resourceType,
};

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
