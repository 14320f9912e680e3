/**
 * Accounts: 12-digit ids, an optional alias, organization/OU membership and
 * access keys. Created by the admin API (and by tests) while the server runs.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import { nowIso } from '../core/ids.js';
import type { AccountRecord } from '../../model/records.js';

export interface NewAccount {
  id?: string;
  alias?: string;
  org?: string;
  ou?: string;
  /** Given keys are for fixtures and CI; generated when absent. */
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface CreatedAccount { account: AccountRecord; accessKeyId: string; secretAccessKey: string }

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id in AWS's shape: AKIA + 16 upper-case base32 characters. */
export function newAccessKeyId(): string {
  return `AKIA${[...randomBytes(16)].map((b) => ACCESS_KEY_ALPHABET[b % 32]).join('')}`;
}

export const newSecretAccessKey = (): string => randomBytes(30).toString('base64').replace(/[+/=]/g, 'x').slice(0, 40);

export async function createAccount(ctx: Context, opts: NewAccount = {}): Promise<CreatedAccount> {
  const id = opts.id ?? String(100000000000 + Math.floor(Math.random() * 899999999999));
  if (!/^\d{12}$/.test(id)) throw new Invalid('InvalidParameterValue', `Account id must be 12 digits, not '${id}'`);
  if (opts.org !== undefined && !/^o-[a-z0-9]{10,32}$/.test(opts.org)) {
    throw new Invalid('InvalidParameterValue', `Organization id must look like o-xxxxxxxxxx, not '${opts.org}'`);
  }
  if (opts.ou !== undefined && !/^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/.test(opts.ou)) {
    throw new Invalid('InvalidParameterValue', `Organizational unit id must look like ou-xxxx-xxxxxxxx, not '${opts.ou}'`);
  }
  if (opts.ou && !opts.org) throw new Invalid('InvalidParameterCombination', 'An OU needs its organization (--org)');
  if (await ctx.store.accounts.get(id)) throw new Invalid('AccountAlreadyExists', `Account ${id} already exists`);
  const accessKeyId = opts.accessKeyId ?? newAccessKeyId();
  const secretAccessKey = opts.secretAccessKey ?? newSecretAccessKey();
  if (await ctx.store.accounts.byAccessKey(accessKeyId)) throw new Invalid('AccessKeyInUse', `Access key ${accessKeyId} is already in use`);
  const account: AccountRecord = {
    id, alias: opts.alias, org: opts.org, ou: opts.ou, createdAt: nowIso(),
    keys: [{ accessKeyId, secretAccessKey, createdAt: nowIso() }],
  };
  await ctx.store.accounts.put(account);
  return { account, accessKeyId, secretAccessKey };
}

/** An account as the admin API shows it: access key ids, never secrets. */
export interface AccountView {
  id: string;
  alias?: string;
  org?: string;
  ou?: string;
  createdAt?: string;
  accessKeys: Array<{ accessKeyId: string; createdAt: string }>;
}

export function accountView(a: AccountRecord): AccountView {
  return {
    id: a.id, alias: a.alias, org: a.org, ou: a.ou, createdAt: a.createdAt,
    accessKeys: a.keys.map((k) => ({ accessKeyId: k.accessKeyId, createdAt: k.createdAt })),
  };
}

export async function getAccount(ctx: Context, id: string): Promise<AccountRecord> {
  const account = await ctx.store.accounts.get(id);
  if (!account) throw new Invalid('NoSuchAccount', `Account ${id} does not exist`);
  return account;
}

/** Adds an access key to the account (key rotation: add the new one, move clients over, delete the old one). */
export async function addAccessKey(ctx: Context, accountId: string, given: { accessKeyId?: string; secretAccessKey?: string } = {}) {
  const account = await getAccount(ctx, accountId);
  const key = { accessKeyId: given.accessKeyId ?? newAccessKeyId(), secretAccessKey: given.secretAccessKey ?? newSecretAccessKey(), createdAt: nowIso() };
  if (!/^[A-Za-z0-9]{3,128}$/.test(key.accessKeyId)) throw new Invalid('InvalidParameterValue', `Access key id must be 3-128 letters and digits`);
  if (key.secretAccessKey.length < 3) throw new Invalid('InvalidParameterValue', 'Secret access key is too short');
  if (await ctx.store.accounts.byAccessKey(key.accessKeyId)) throw new Invalid('AccessKeyInUse', `Access key ${key.accessKeyId} is already in use`);
  await ctx.store.accounts.put({ ...account, keys: [...account.keys, key] });
  return key;
}

/** Removes one access key; requests signed with it fail from then on. */
export async function deleteAccessKey(ctx: Context, accountId: string, accessKeyId: string): Promise<void> {
  const account = await getAccount(ctx, accountId);
  if (!account.keys.some((k) => k.accessKeyId === accessKeyId)) {
    throw new Invalid('NoSuchAccessKey', `Account ${accountId} has no access key ${accessKeyId}`);
  }
  await ctx.store.accounts.put({ ...account, keys: account.keys.filter((k) => k.accessKeyId !== accessKeyId) });
}
