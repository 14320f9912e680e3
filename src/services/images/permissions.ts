/**
 * Launch permissions: who besides the owner may see and launch an image. An
 * image is launchable by its owner, by everyone when public (group `all`), by
 * the accounts named in its grants, and by members of the organizations and
 * OUs named there (ARNs end in `organization/o-...` and `ou/o-.../ou-...`).
 */
import type { Caller } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import type { Grants, ImageRecord } from '../../model/records.js';
import { noGrants } from '../../model/records.js';

const ORG_ARN = /^arn:aws:organizations::\d{12}:organization\/(o-[a-z0-9]{10,32})$/;
const OU_ARN = /^arn:aws:organizations::\d{12}:ou\/(o-[a-z0-9]{10,32})\/(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$/;

export const grantsOf = (img: ImageRecord): Grants => img.launchPermission ?? noGrants();

/** How the caller comes to have launch permission: an explicit grant, or via its organization or OU. */
export function sharedWith(img: ImageRecord, caller: Caller): 'user' | 'org' | 'ou' | undefined {
  const g = grantsOf(img);
  if (g.userIds.includes(caller.account)) return 'user';
  if (caller.org && g.organizationArns.some((a) => ORG_ARN.exec(a)?.[1] === caller.org)) return 'org';
  if (caller.ou && g.organizationalUnitArns.some((a) => OU_ARN.exec(a)?.[2] === caller.ou)) return 'ou';
  return undefined;
}

/** Whether `caller` holds launch permission for the image (owner, public, or shared), ignoring its state. */
export function hasLaunchPermission(img: ImageRecord, caller: Caller): boolean {
  if (img.region !== caller.region) return false;
  return img.account === caller.account || img.isPublic || sharedWith(img, caller) !== undefined;
}

/** One launch permission entry as the API carries it (exactly one of the four fields). */
export interface PermissionItem { UserId?: string; Group?: string; OrganizationArn?: string; OrganizationalUnitArn?: string }

function badItem(value: string, type: string): Invalid {
  return new Invalid('InvalidAMIAttributeItemValue', `Invalid attribute item value "${value}" for ${type} item type.`);
}

/** Validates every item first, so that one bad item changes nothing. */
export function validateItems(items: PermissionItem[]): void {
  for (const it of items) {
    const set = [it.UserId, it.Group, it.OrganizationArn, it.OrganizationalUnitArn].filter((v) => v !== undefined);
    if (set.length !== 1) {
      throw new Invalid('InvalidParameterCombination', 'Each launch permission must name exactly one of UserId, Group, OrganizationArn or OrganizationalUnitArn');
    }
    if (it.UserId !== undefined && !/^\d{12}$/.test(it.UserId)) throw badItem(it.UserId, 'userId');
    if (it.Group !== undefined && it.Group !== 'all') throw badItem(it.Group, 'group');
    if (it.OrganizationArn !== undefined && !ORG_ARN.test(it.OrganizationArn)) throw badItem(it.OrganizationArn, 'organizationArn');
    if (it.OrganizationalUnitArn !== undefined && !OU_ARN.test(it.OrganizationalUnitArn)) {
      throw badItem(it.OrganizationalUnitArn, 'organizationalUnitArn');
    }
  }
}

export interface Permissions { isPublic: boolean; grants: Grants }

/** The permissions after adding and removing items (already validated). */
export function applyItems(current: Permissions, add: PermissionItem[], remove: PermissionItem[]): Permissions {
  const g: Grants = {
    userIds: [...current.grants.userIds], organizationArns: [...current.grants.organizationArns],
    organizationalUnitArns: [...current.grants.organizationalUnitArns],
  };
  let isPublic = current.isPublic;
  const lists = (it: PermissionItem): [string[], string] | undefined =>
    it.UserId !== undefined ? [g.userIds, it.UserId]
      : it.OrganizationArn !== undefined ? [g.organizationArns, it.OrganizationArn]
        : it.OrganizationalUnitArn !== undefined ? [g.organizationalUnitArns, it.OrganizationalUnitArn] : undefined;
  for (const it of add) {
    if (it.Group === 'all') isPublic = true;
    const l = lists(it);
    if (l && !l[0].includes(l[1])) l[0].push(l[1]);
  }
  for (const it of remove) {
    if (it.Group === 'all') isPublic = false;
    const l = lists(it);
    if (l) {
      const i = l[0].indexOf(l[1]);
      if (i >= 0) l[0].splice(i, 1);
    }
  }
  return { isPublic, grants: g };
}

/** The image's launch permissions as the API lists them. */
export function permissionItems(img: ImageRecord): PermissionItem[] {
  const g = grantsOf(img);
  return [
    ...(img.isPublic ? [{ Group: 'all' }] : []),
    ...g.userIds.map((UserId) => ({ UserId })),
    ...g.organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...g.organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
}

export const sharingEntries = (p: Permissions): number =>
  p.grants.userIds.length + p.grants.organizationArns.length + p.grants.organizationalUnitArns.length;
