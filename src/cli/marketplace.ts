/**
 * `kiln marketplace ...`: products, subscriptions and usage, through the
 * running server's admin API.
 */
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, ADMIN_USAGE, UsageError, adminCall, adminTarget, print, runAdminCommand } from './admin-client.js';

export const MARKETPLACE_USAGE = `usage:
  kiln marketplace publish --vendor ACCOUNT --title TITLE [--description TEXT] --price USD_PER_HOUR
                           --image ami-... [--image ami-...] [--product-code CODE]   publish a product
  kiln marketplace products [--vendor ACCOUNT]                                         list products
  kiln marketplace subscribe --account ACCOUNT --product CODE                          subscribe an account
  kiln marketplace unsubscribe --account ACCOUNT --product CODE                        end a subscription
  kiln marketplace subscriptions [--account ACCOUNT]                                   list subscriptions
  kiln marketplace usage --vendor ACCOUNT                         instance-hours per product and account
${ADMIN_USAGE}`;

const OPTIONS = {
  ...ADMIN_OPTIONS,
  vendor: { type: 'string' },
  title: { type: 'string' },
  description: { type: 'string' },
  price: { type: 'string' },
  image: { type: 'string', multiple: true },
  'product-code': { type: 'string' },
  account: { type: 'string' },
  product: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

function need(values: Values, name: 'vendor' | 'title' | 'price' | 'account' | 'product'): string {
  const v = values[name];
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

const query = (name: string, value: string | undefined) => (value ? `?${name}=${encodeURIComponent(value)}` : '');

const SUBCOMMANDS: Record<string, (values: Values) => Promise<void>> = {
  publish: async (values) => {
    const vendor = need(values, 'vendor');
    const title = need(values, 'title');
    const price = Number(need(values, 'price'));
    if (!Number.isFinite(price)) throw new UsageError(`--price must be a number of USD per hour, not '${values.price}'`);
    if (!values.image?.length) throw new UsageError('--image ami-... is required (once per image)');
    print(await adminCall(await adminTarget(values), 'POST', 'marketplace/products', {
      vendor, title, description: values.description, price, imageIds: values.image, productCode: values['product-code'],
    }));
  },
  products: async (values) => print(await adminCall(await adminTarget(values), 'GET', `marketplace/products${query('vendor', values.vendor)}`)),
  subscribe: async (values) => {
    const body = { account: need(values, 'account'), productCode: need(values, 'product') };
    print(await adminCall(await adminTarget(values), 'POST', 'marketplace/subscriptions', body));
  },
  unsubscribe: async (values) => {
    const path = `marketplace/subscriptions/${encodeURIComponent(need(values, 'account'))}/${encodeURIComponent(need(values, 'product'))}`;
    print(await adminCall(await adminTarget(values), 'DELETE', path));
  },
  subscriptions: async (values) =>
    print(await adminCall(await adminTarget(values), 'GET', `marketplace/subscriptions${query('account', values.account)}`)),
  usage: async (values) => {
    const vendor = need(values, 'vendor');
    print(await adminCall(await adminTarget(values), 'GET', `marketplace/usage${query('vendor', vendor)}`));
  },
};

export function marketplaceCommand(argv: string[]): Promise<number> {
  return runAdminCommand(MARKETPLACE_USAGE, async () => {
    const [sub, ...rest] = argv;
    const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true });
    if (sub === undefined) throw new UsageError('which marketplace command?');
    if (values.help || ['help', '--help', '-h'].includes(sub)) return void console.log(MARKETPLACE_USAGE);
    const fn = SUBCOMMANDS[sub];
    if (!fn) throw new UsageError(`unknown marketplace command '${sub}'`);
    await fn(values);
  });
}
