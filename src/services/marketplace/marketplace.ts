/**
 * The marketplace: a vendor account publishes a product (a product code, a
 * title, an hourly price) backed by images it owns; those images then carry
 * the product code, show owner alias `aws-marketplace` and are public. Another
 * account launches them only once subscribed (else OptInRequired, as on AWS);
 * images captured from such instances keep the code, so the same holds for
 * them. Running time of instances of product images is metered per instance
 * and reported to the vendor per product and launching account.
 *
 * Products and subscriptions are not regional on AWS; their records use the
 * region GLOBAL.
 */
import { randomBytes } from 'node:crypto';
import { getAccount } from '../accounts/accounts.js';
import type { Caller, Context } from '../core/context.js';
import { Invalid, MalformedId, NotFound } from '../core/errors.js';
import { isValidId, nowIso } from '../core/ids.js';
import type { ImageRecord, InstanceRecord } from '../../model/records.js';
import { DuplicateError } from '../../store/store.js';
import type { ProductRecord, SubscriptionRecord, UsageRecord } from '../../model/extra-records.js';

export const GLOBAL = 'global';

const products = (ctx: Context) => ctx.store.collection<ProductRecord>('product');
const subscriptions = (ctx: Context) => ctx.store.collection<SubscriptionRecord>('subscription');
const usage = (ctx: Context) => ctx.store.collection<UsageRecord>('usage');
const subscriptionId = (account: string, code: string) => `${account}:${code}`;

const CODE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const CODE_RE = /^[a-z0-9]{25}$/;

/** A product code in AWS's shape: 25 lower-case letters and digits. */
export function newProductCode(): string {
  return [...randomBytes(25)].map((b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
}

export const marketplaceCodes = (img: ImageRecord | undefined): string[] =>
  (img?.productCodes ?? []).filter((p) => p.type === 'marketplace').map((p) => p.code);

export interface NewProduct {
  vendor: string;
  title: string;
  description?: string;
  price: number;
  imageIds: string[];
  /** Given for fixtures; generated when absent. */
  productCode?: string;
}

function validateProduct(req: NewProduct): void {
  if (typeof req.title !== 'string' || !req.title.trim() || req.title.length > 255) {
    throw new Invalid('InvalidParameterValue', 'A product needs a title of 1-255 characters');
  }
  if (req.description !== undefined && (typeof req.description !== 'string' || req.description.length > 1000)) {
    throw new Invalid('InvalidParameterValue', 'A product description is at most 1000 characters');
  }
  if (typeof req.price !== 'number' || !Number.isFinite(req.price) || req.price < 0 || req.price > 10000) {
    throw new Invalid('InvalidParameterValue', `Invalid hourly price '${String(req.price)}': a number of USD from 0 to 10000`);
  }
  if (!Array.isArray(req.imageIds) || !req.imageIds.length) throw new Invalid('MissingParameter', 'A product needs at least one image');
  if (req.productCode !== undefined && !CODE_RE.test(req.productCode)) {
    throw new Invalid('InvalidParameterValue', `Invalid product code '${req.productCode}': 25 lower-case letters and digits`);
  }
}

/** The vendor's images to back a product: each owned by the vendor, usable, and in no other product. */
async function productImages(ctx: Context, vendor: string, ids: string[]): Promise<ImageRecord[]> {
  const out: ImageRecord[] = [];
  for (const id of new Set(ids)) {
    if (!isValidId('image', id)) throw new MalformedId('image', id);
    const img = await ctx.store.images.get(id);
    if (!img || img.account !== vendor || img.state === 'deregistered') throw new NotFound('image', [id]);
    if (img.state === 'failed' || img.state === 'disabled') {
      throw new Invalid('IncorrectState', `Image ${id} is ${img.state}; a product needs pending or available images`);
    }
    if (marketplaceCodes(img).length) {
      throw new Invalid('InvalidParameterValue', `Image ${id} already belongs to product ${marketplaceCodes(img).join(', ')}`);
    }
    out.push(img);
  }
  return out;
}

/** Publishes a product: records it and marks its images (product code, alias aws-marketplace, public). */
export async function publishProduct(ctx: Context, req: NewProduct): Promise<ProductRecord> {
  validateProduct(req);
  await getAccount(ctx, req.vendor);
  const images = await productImages(ctx, req.vendor, req.imageIds);
  const code = req.productCode ?? newProductCode();
  const product: ProductRecord = {
    id: code, account: req.vendor, region: GLOBAL, title: req.title.trim(), description: req.description,
    price: req.price, imageIds: images.map((i) => i.id), createdAt: nowIso(),
  };
  try {
    await products(ctx).insert(product);
  } catch (err) {
    if (err instanceof DuplicateError) throw new Invalid('ProductAlreadyExists', `Product ${code} already exists`);
    throw err;
  }
  for (const img of images) {
    await ctx.store.images.update(img.id, (r) => ({
      ...r, productCodes: [...(r.productCodes ?? []), { code, type: 'marketplace' }], ownerAlias: 'aws-marketplace', isPublic: true,
    }));
  }
  return product;
}

export async function listProducts(ctx: Context, vendor?: string): Promise<ProductRecord[]> {
  return products(ctx).list(vendor ? { account: vendor } : {});
}

/** A product as a buyer sees it: the vendor's name, the price, and whether this account may launch it. */
export interface ProductView {
  productCode: string;
  title: string;
  description?: string;
  vendor: { id: string; alias?: string };
  /** USD per instance-hour. */
  price: number;
  imageIds: string[];
  /** Subscribed, or the vendor itself: its images launch without OptInRequired. */
  subscribed: boolean;
  createdAt: string;
}

/** Every product, as `account` sees it (the marketplace tab of the AMI Catalog). */
export async function productsFor(ctx: Context, account: string): Promise<ProductView[]> {
  const mine = new Set((await listSubscriptions(ctx, account)).map((s) => s.productCode));
  const views: ProductView[] = [];
  for (const p of await listProducts(ctx)) {
    const vendor = await ctx.store.accounts.get(p.account);
    views.push({
      productCode: p.id, title: p.title, description: p.description, vendor: { id: p.account, alias: vendor?.alias },
      price: p.price, imageIds: p.imageIds, subscribed: p.account === account || mine.has(p.id), createdAt: p.createdAt,
    });
  }
  return views.sort((a, b) => a.title.localeCompare(b.title));
}

async function getProduct(ctx: Context, code: string): Promise<ProductRecord> {
  const product = await products(ctx).get(code);
  if (!product) throw new Invalid('NoSuchProduct', `Product ${code} does not exist`);
  return product;
}

/** Subscribes the account to the product (idempotent: an existing subscription is returned as it is). */
export async function subscribe(ctx: Context, account: string, code: string): Promise<SubscriptionRecord> {
  await getAccount(ctx, account);
  await getProduct(ctx, code);
  const id = subscriptionId(account, code);
  const existing = await subscriptions(ctx).get(id);
  if (existing) return existing;
  const rec: SubscriptionRecord = { id, account, region: GLOBAL, productCode: code, createdAt: nowIso() };
  try {
    await subscriptions(ctx).insert(rec);
  } catch (err) {
    if (err instanceof DuplicateError) return (await subscriptions(ctx).get(id))!;
    throw err;
  }
  return rec;
}

/** Ends a subscription: new launches of the product's images fail again; running instances keep running. */
export async function unsubscribe(ctx: Context, account: string, code: string): Promise<void> {
  if (!await subscriptions(ctx).delete(subscriptionId(account, code))) {
    throw new Invalid('NoSuchSubscription', `Account ${account} is not subscribed to product ${code}`);
  }
}

export async function listSubscriptions(ctx: Context, account?: string): Promise<SubscriptionRecord[]> {
  return subscriptions(ctx).list(account ? { account } : {});
}

/**
 * Refuses the launch (OptInRequired) unless the caller may use every
 * marketplace product code the image carries: it is the product's vendor or
 * subscribed to it.
 */
export async function requireSubscription(ctx: Context, caller: Caller, image: ImageRecord): Promise<void> {
  for (const code of marketplaceCodes(image)) {
    const product = await products(ctx).get(code);
    if (product?.account === caller.account) continue;
    if (await subscriptions(ctx).get(subscriptionId(caller.account, code))) continue;
    throw new Invalid('OptInRequired', 'In order to use this AWS Marketplace product you need to accept terms and subscribe. '
      + `To do so please visit https://aws.amazon.com/marketplace/pp?sku=${code}`);
  }
}

/**
 * Called after every instance state change: opens a running interval when an
 * instance of a product image enters `running`, closes it when it leaves.
 * Never throws (metering must not break the lifecycle); failures are logged.
 */
export async function meterInstance(ctx: Context, inst: InstanceRecord): Promise<void> {
  try {
    const now = Date.now();
    const running = inst.state === 'running';
    const existing = await usage(ctx).get(inst.id);
    if (!existing) {
      if (!running) return;
      const codes = marketplaceCodes(await ctx.store.images.get(inst.imageId));
      if (!codes.length) return;
      const rec: UsageRecord = {
        id: inst.id, account: inst.account, region: inst.region, imageId: inst.imageId, productCodes: codes,
        seconds: 0, runningSince: new Date(now).toISOString(),
      };
      await usage(ctx).insert(rec);
      return;
    }
    await usage(ctx).update(inst.id, (r) => {
      if (running) return r.runningSince ? r : { ...r, runningSince: new Date(now).toISOString() };
      if (!r.runningSince) return r;
      return { ...r, seconds: r.seconds + Math.max(0, now - Date.parse(r.runningSince)) / 1000, runningSince: undefined };
    });
  } catch (err) {
    ctx.log(`kiln: could not meter instance ${inst.id}: ${(err as Error).message}`);
  }
}

export interface UsageRow {
  productCode: string;
  title: string;
  /** The launching account. */
  account: string;
  instances: number;
  /** Instance-hours, including the current intervals of running instances. */
  hours: number;
  /** hours x the product's hourly price, USD. */
  charge: number;
}

/** Instance-hours of the vendor's products, per product and launching account. */
export async function usageReport(ctx: Context, vendor: string, now = Date.now()): Promise<UsageRow[]> {
  await getAccount(ctx, vendor);
  const mine = new Map((await listProducts(ctx, vendor)).map((p) => [p.id, p]));
  const rows = new Map<string, UsageRow & { seconds: number }>();
  for (const u of await usage(ctx).list()) {
    let seconds = u.seconds;
    if (u.runningSince && (await ctx.store.instances.get(u.id))?.state === 'running') {
      seconds += Math.max(0, now - Date.parse(u.runningSince)) / 1000;
    }
    for (const code of u.productCodes) {
      const product = mine.get(code);
      if (!product) continue;
      const key = `${code}/${u.account}`;
      const row = rows.get(key) ?? { productCode: code, title: product.title, account: u.account, instances: 0, hours: 0, charge: 0, seconds: 0 };
      row.instances += 1;
      row.seconds += seconds;
      rows.set(key, row);
    }
  }
  return [...rows.values()].map(({ seconds, ...row }) => {
    const hours = seconds / 3600;
    return { ...row, hours: round(hours), charge: round(hours * mine.get(row.productCode)!.price) };
  });
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;
