/**
 * Accounts: 12-digit ids, an optional alias, organization/OU membership and
 * access keys. Created by the admin API (and by tests) while the server runs.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from './context.js';
import { Invalid } from './errors.js';
import { nowIso } from './ids.js';
import type { AccountRecord } from './model.js';

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
