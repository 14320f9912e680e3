/**
 * `kiln accounts ...`: accounts and their access keys, through the running
 * server's admin API.
 */
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, ADMIN_USAGE, UsageError, adminCall, adminTarget, print, runAdminCommand } from './admin-client.js';

export const ACCOUNTS_USAGE = `usage:
  kiln accounts create [--id 111122223333] [--alias NAME] [--org o-... [--ou ou-...]]
                       [--access-key-id KEY --secret-access-key SECRET]   a new account and its first access key
  kiln accounts list                                                       accounts and their access key ids
  kiln accounts show --id ID                                               one account
  kiln accounts rotate-key --id ID [--delete-old]                          add a new access key (and delete the others)
  kiln accounts delete-key --id ID --access-key-id KEY                     remove one access key
${ADMIN_USAGE}`;

const OPTIONS = {
  ...ADMIN_OPTIONS,
  id: { type: 'string' },
  alias: { type: 'string' },
  org: { type: 'string' },
  ou: { type: 'string' },
  'access-key-id': { type: 'string' },
  'secret-access-key': { type: 'string' },
  'delete-old': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function needId(values: Values): string {
  if (!values.id) throw new UsageError('--id ACCOUNT is required');
  return values.id;
}

const SUBCOMMANDS: Record<string, (values: Values) => Promise<void>> = {
  create: async (values) => {
    if (!!values['access-key-id'] !== !!values['secret-access-key']) {
      throw new UsageError('--access-key-id and --secret-access-key go together');
    }
    const target = await adminTarget(values);
    print(await adminCall(target, 'POST', 'accounts', {
      id: values.id, alias: values.alias, org: values.org, ou: values.ou,
      accessKeyId: values['access-key-id'], secretAccessKey: values['secret-access-key'],
    }));
  },
  list: async (values) => print(await adminCall(await adminTarget(values), 'GET', 'accounts')),
  show: async (values) => {
    const id = needId(values);
    print(await adminCall(await adminTarget(values), 'GET', `accounts/${encodeURIComponent(id)}`));
  },
  'rotate-key': async (values) => {
    const id = needId(values);
    const target = await adminTarget(values);
    const { account } = await adminCall(target, 'GET', `accounts/${encodeURIComponent(id)}`);
    const { accessKey } = await adminCall(target, 'POST', `accounts/${encodeURIComponent(id)}/access-keys`, {
      accessKeyId: values['access-key-id'], secretAccessKey: values['secret-access-key'],
    });
    const deleted: string[] = [];
    if (values['delete-old']) {
      for (const k of account.accessKeys as Array<{ accessKeyId: string }>) {
        await adminCall(target, 'DELETE', `accounts/${encodeURIComponent(id)}/access-keys/${encodeURIComponent(k.accessKeyId)}`);
        deleted.push(k.accessKeyId);
      }
    }
    print({ account: id, accessKey, deletedAccessKeys: deleted });
  },
  'delete-key': async (values) => {
    const id = needId(values);
    const key = values['access-key-id'];
    if (!key) throw new UsageError('--access-key-id KEY is required');
    print(await adminCall(await adminTarget(values), 'DELETE', `accounts/${encodeURIComponent(id)}/access-keys/${encodeURIComponent(key)}`));
  },
};

export function accountsCommand(argv: string[]): Promise<number> {
  return runAdminCommand(ACCOUNTS_USAGE, async () => {
    const [sub, ...rest] = argv;
    const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true });
    if (sub === undefined) throw new UsageError('which accounts command?');
    if (values.help || ['help', '--help', '-h'].includes(sub)) return void console.log(ACCOUNTS_USAGE);
    const fn = SUBCOMMANDS[sub];
    if (!fn) throw new UsageError(`unknown accounts command '${sub}'`);
    await fn(values);
  });
}
