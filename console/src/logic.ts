/**
 * The console's request-building logic, free of React so that Node's test runner checks it
 * (test/console-logic.test.ts): what each form turns into for the EC2 API.
 */
import type {
  BlockDeviceMapping, DescribeImagesCommandInput, EbsBlockDevice, Image, LaunchPermission, ResourceType, Tag, TagSpecification,
} from '@aws-sdk/client-ec2';

export type Tags = Array<{ key: string; value: string }>;

/** The AMIs page's ownership filter: DescribeImages' input for each choice, and what to keep of its answer. */
export function scopeQuery(scope: string, account: string): { input: DescribeImagesCommandInput; keep: (i: Image) => boolean } {
  // Private images are those shared with me: launchable by me, not public, not mine.
  if (scope === 'private') return { input: { ExecutableUsers: ['self'] }, keep: (i) => !i.Public && i.OwnerId !== account };
  if (scope === 'public') return { input: { Filters: [{ Name: 'is-public', Values: ['true'] }] }, keep: () => true };
  if (scope === 'disabled') return { input: { Owners: ['self'], IncludeDisabled: true }, keep: (i) => i.State === 'disabled' };
  return { input: { Owners: ['self'] }, keep: () => true };
}

/** User data as RunInstances takes it: the UTF-8 bytes, base64 (undefined for none). */
export function encodeUserData(text: string): string | undefined {
  if (!text) return undefined;
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** GetConsoleOutput's base64 output as text. */
export function decodeOutput(b64: string | undefined): string {
  if (!b64) return '';
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** A TagSpecifications entry for one resource type (none when there are no tags). Blank keys are dropped. */
export function tagSpecs(ResourceType: ResourceType, tags: Tags): TagSpecification[] {
  const Tags = tags.filter((t) => t.key.trim()).map((t) => ({ Key: t.key.trim(), Value: t.value }));
  return Tags.length ? [{ ResourceType, Tags }] : [];
}

/** CreateImage's TagSpecifications: one set of tags for the image and its snapshots, or one set each. */
export function imageTagSpecs(together: boolean, image: Tags, snapshots: Tags): TagSpecification[] {
  return [...tagSpecs('image', image), ...tagSpecs('snapshot', together ? image : snapshots)];
}

/** An organization or OU ARN as a launch permission (an OU's ARN names `ou/`). */
export function arnPermission(arn: string): LaunchPermission {
  return /:ou\//.test(arn) ? { OrganizationalUnitArn: arn } : { OrganizationArn: arn };
}

/**
 * Edit AMI permissions: the ModifyImageAttribute LaunchPermission for going from `current` to these accounts,
 * organization/OU ARNs and visibility; undefined when nothing changes.
 */
export function permissionChanges(current: LaunchPermission[], accounts: string[], isPublic: boolean, arns: string[] = []): { Add?: LaunchPermission[]; Remove?: LaunchPermission[] } | undefined {
  const diff = (before: Set<string>, after: Set<string>, make: (v: string) => LaunchPermission) => ({
    add: [...after].filter((a) => !before.has(a)).map(make), remove: [...before].filter((a) => !after.has(a)).map(make),
  });
  const clean = (list: string[]) => new Set(list.map((a) => a.trim()).filter(Boolean));
  const users = diff(new Set(current.flatMap((p) => (p.UserId ? [p.UserId] : []))), clean(accounts), (UserId) => ({ UserId }));
  const orgs = diff(new Set(current.flatMap((p) => p.OrganizationArn ?? p.OrganizationalUnitArn ?? [])), clean(arns), arnPermission);
  const wasPublic = current.some((p) => p.Group === 'all');
  const Add = [...users.add, ...orgs.add];
  const Remove = [...users.remove, ...orgs.remove];
  if (isPublic && !wasPublic) Add.push({ Group: 'all' });
  if (!isPublic && wasPublic) Remove.push({ Group: 'all' });
  if (!Add.length && !Remove.length) return undefined;
  return { ...(Add.length ? { Add } : {}), ...(Remove.length ? { Remove } : {}) };
}

/** Manage tags: the keys to delete (gone from the list) and the tags to create or overwrite. */
export function tagChanges(before: Tag[], edited: Tags): { remove: Tag[]; set: Tag[] } {
  const set = edited.filter((t) => t.key.trim()).map((t) => ({ Key: t.key.trim(), Value: t.value }));
  return { remove: before.filter((t) => !set.some((s) => s.Key === t.Key)).map((t) => ({ Key: t.Key })), set };
}

/** The image's root device mapping. */
export function rootOf(image: Image | undefined): BlockDeviceMapping | undefined {
  return image?.BlockDeviceMappings?.find((b) => b.DeviceName === image.RootDeviceName) ?? image?.BlockDeviceMappings?.[0];
}

/** Launch's Configure storage: a root mapping for RunInstances only when size or type differ from the image's (undefined: as the image says). */
export function rootMapping(image: Image | undefined, size: string, type: string): BlockDeviceMapping[] | undefined {
  const root = rootOf(image);
  if (!root?.DeviceName) return undefined;
  const n = Number.parseInt(size, 10);
  const Ebs: EbsBlockDevice = {};
  if (n > 0 && n !== root.Ebs?.VolumeSize) Ebs.VolumeSize = n;
  if (type && type !== root.Ebs?.VolumeType) Ebs.VolumeType = type as EbsBlockDevice['VolumeType'];
  return Object.keys(Ebs).length ? [{ DeviceName: root.DeviceName, Ebs }] : undefined;
}

/** Prefix of the AMIs property filter's tag properties ("tag:team = web"), as DescribeImages' tag filters are named. */
export const TAG_PROPERTY = 'tag:';

/** The images with each tag as a property of its own (`tag:<key>`), and the tag keys present, for the property filter. */
export function withTagProperties(images: Image[]): { rows: Array<Image & Record<string, unknown>>; keys: string[] } {
  const keys = new Set<string>();
  const rows = images.map((i) => {
    const row: Image & Record<string, unknown> = { ...i };
    for (const t of i.Tags ?? []) {
      if (!t.Key) continue;
      keys.add(t.Key);
      row[`${TAG_PROPERTY}${t.Key}`] = t.Value ?? '';
    }
    return row;
  });
  return { rows, keys: [...keys].sort() };
}
