/**
 * The default account's well-known key (test/test, made at first start so that aws-cli and the SDKs work at once)
 * is for a server only its own host reaches. When `kiln serve` listens beyond loopback, anyone who reaches the port
 * knows that key: unless the operator says they know (`--allow-default-keys`), it is replaced by a random key, which
 * is printed once. The replacement is stored: a later start on loopback keeps the new key.
 */
import { addAccessKey, deleteAccessKey } from '../services/accounts/accounts.js';
import type { Context } from '../services/core/context.js';
import { DEFAULT_ACCOUNT } from '../model/records.js';
import { isLoopbackBind } from './origins.js';

export const WELL_KNOWN_KEY = { accessKeyId: 'test', secretAccessKey: 'test' };

export type DefaultKeys =
  /** The default account still has test/test, and may: loopback, or the operator allowed it. */
  | { kind: 'well-known' }
  /** test/test was there and is replaced by this key. */
  | { kind: 'replaced'; accessKeyId: string; secretAccessKey: string }
  /** The default account has no test/test key (replaced before, or removed by the operator). */
  | { kind: 'own' };

export async function guardDefaultKeys(ctx: Context, host: string, allowDefaultKeys: boolean): Promise<DefaultKeys> {
  const account = await ctx.store.accounts.get(DEFAULT_ACCOUNT);
  const wellKnown = account?.keys.some((k) => k.accessKeyId === WELL_KNOWN_KEY.accessKeyId && k.secretAccessKey === WELL_KNOWN_KEY.secretAccessKey);
  if (!wellKnown) return { kind: 'own' };
  if (isLoopbackBind(host) || allowDefaultKeys) return { kind: 'well-known' };
  const key = await addAccessKey(ctx, DEFAULT_ACCOUNT);
  await deleteAccessKey(ctx, DEFAULT_ACCOUNT, WELL_KNOWN_KEY.accessKeyId);
  return { kind: 'replaced', accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}

/** What `kiln serve` prints about the default account's keys. */
export function describeDefaultKeys(keys: DefaultKeys, endpoint: string, host: string): string[] {
  const use = `aws --endpoint-url ${endpoint} ec2 ...`;
  switch (keys.kind) {
    case 'well-known': return [
      `kiln: account ${DEFAULT_ACCOUNT}: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test; ${use}`,
      ...(isLoopbackBind(host) ? [] : [`kiln: warning: listening on ${host} with the well-known test/test key (--allow-default-keys): anyone who reaches the port can use account ${DEFAULT_ACCOUNT}`]),
    ];
    case 'replaced': return [
      `kiln: account ${DEFAULT_ACCOUNT}: the well-known test/test key is replaced, since this server listens on ${host} (not loopback only); its new key, shown this once:`,
      `kiln: account ${DEFAULT_ACCOUNT}: AWS_ACCESS_KEY_ID=${keys.accessKeyId} AWS_SECRET_ACCESS_KEY=${keys.secretAccessKey}; ${use}`,
    ];
    case 'own': return [`kiln: account ${DEFAULT_ACCOUNT}: use its own access keys ('kiln accounts rotate-key --id ${DEFAULT_ACCOUNT}' makes one); ${use}`];
  }
}
