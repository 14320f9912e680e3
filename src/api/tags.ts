import type { Tag as SdkTag, TagSpecification } from '@aws-sdk/client-ec2';
import type { Tag } from '../model/records.js';
import { mergeTags } from '../services/tags/tags.js';
import { ApiError } from './errors.js';

export function toSdkTags(tags: Tag[]): SdkTag[] {
  return tags.map((t) => ({ Key: t.key, Value: t.value }));
}

/** Validates tags as AWS does (key 1-128, value <= 256, no `aws:` prefix, at most 50). */
export function fromSdkTags(tags: SdkTag[] | undefined): Tag[] {
  const out: Tag[] = [];
  for (const t of tags ?? []) {
    const key = t.Key ?? '';
    const value = t.Value ?? '';
    if (!key || key.length > 128) throw new ApiError('InvalidParameterValue', `Tag key must be between 1 and 128 characters: '${key}'`);
    if (value.length > 256) throw new ApiError('InvalidParameterValue', `Tag value exceeds the maximum length of 256 characters for key '${key}'`);
    if (key.toLowerCase().startsWith('aws:')) throw new ApiError('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use`);
    out.push({ key, value });
  }
  return mergeTags([], out);
}


/**
 * The tags a TagSpecification list gives each resource type, refusing types the
 * action cannot tag (as AWS does).
 */
export function tagsFromSpecs(specs: TagSpecification[] | undefined, allowed: string[]): Record<string, Tag[]> {
  const out: Record<string, Tag[]> = {};
  for (const s of specs ?? []) {
    const type = s.ResourceType ?? '';
    if (!allowed.includes(type)) {
      throw new ApiError('InvalidParameterValue', `'${type}' is not a valid taggable resource type for this operation.`);
    }
    out[type] = mergeTags(out[type] ?? [], fromSdkTags(s.Tags));
  }
  return out;
}
