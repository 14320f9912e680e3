/**
 * Marketplace products through the services, with a recording runtime (the
 * instances' volumes and the captures are real; only runc is not): publishing
 * marks the vendor's images, launching needs a subscription (OptInRequired
 * otherwise, except for the vendor), images captured from product instances
 * keep the product code, and running time is metered per product and account.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { toApiError } from '../../api/errors.js';
import type { App } from '../../server/app.js';
import { createApp } from '../../server/app.js';
import { createAccount } from '../accounts/accounts.js';
import { createImageFromInstance } from '../instances/capture.js';
import type { Caller } from '../core/context.js';
import { ownerAlias, visibleImages } from '../images/images.js';
import { changeState } from '../instances/instances.js';
import { runInstances as run } from '../instances/launch.js';
import {
  listProducts, listSubscriptions, publishProduct, requireSubscription, subscribe, unsubscribe, usageReport,
} from './marketplace.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';
import type { ProductRecord } from '../../model/extra-records.js';

/** RunInstances' records (the service answers with their details). */
const runInstances = async (...a: Parameters<typeof run>) => (await run(...a)).map((d) => d.inst);


const vendor: Caller = { account: '210000000001', region: 'us-east-1' };
const buyer: Caller = { account: '210000000002', region: 'us-east-1' };
const other: Caller = { account: '210000000003', region: 'us-east-1' };
let app: App;
let dir: string;
let baseImage: string;
let vendorImage: string;
let product: ProductRecord;

const settle = () => app.ctx.tasks.idle();
const launch = async (who: Caller, imageId: string) => {
  const [inst] = await runInstances(app.ctx, who, { imageId, minCount: 1, maxCount: 1, instanceType: 't3.micro' });
  await settle();
  return inst;
};
const optIn = (code: string) => (err: unknown) => {
  const api = toApiError(err);
  assert.equal(api.code, 'OptInRequired');
  assert.equal(api.status, 401);
  assert.ok(api.message.endsWith(`https://aws.amazon.com/marketplace/pp?sku=${code}`));
  return true;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-mp-'));
  app = await createApp({ dataDir: dir, regions: ['us-east-1'], runtime: new RecordingRuntime(), log: () => undefined });
  await app.ready;
  for (const c of [vendor, buyer, other]) await createAccount(app.ctx, { id: c.account });
  baseImage = (await visibleImages(app.ctx, vendor)).find((i) => i.account === CATALOG_ACCOUNT)!.id;
  const built = await launch(vendor, baseImage);
  vendorImage = (await createImageFromInstance(app.ctx, vendor, { instanceId: built.id, name: 'vendor-appliance', noReboot: true })).id;
  await settle();
  await changeState(app.ctx, vendor, [built.id], 'terminate');
  await settle();
});
after(async () => { await app.close(); await rm(dir, { recursive: true, force: true }); });

test('publishing marks the images: product code, owner alias aws-marketplace, public', async () => {
  product = await publishProduct(app.ctx, { vendor: vendor.account, title: 'Appliance', description: 'A box', price: 0.05, imageIds: [vendorImage] });
  assert.match(product.id, /^[a-z0-9]{25}$/);
  assert.equal(product.account, vendor.account);
  const img = (await app.ctx.store.images.get(vendorImage))!;
  assert.deepEqual(img.productCodes, [{ code: product.id, type: 'marketplace' }]);
  assert.equal(ownerAlias(img), 'aws-marketplace');
  assert.equal(img.isPublic, true);
  assert.ok((await visibleImages(app.ctx, buyer)).some((i) => i.id === vendorImage), 'other accounts see the product image');
  assert.deepEqual((await listProducts(app.ctx, vendor.account)).map((p) => p.id), [product.id]);
  assert.deepEqual(await listProducts(app.ctx, buyer.account), []);
});

test('publishing refuses others\' images, images already in a product, bad prices and unknown vendors', async () => {
  const codeOf = (code: string) => (err: unknown) => { assert.equal(toApiError(err).code, code); return true; };
  const req = { vendor: buyer.account, title: 'Stolen', price: 1, imageIds: [vendorImage] };
  await assert.rejects(publishProduct(app.ctx, req), codeOf('InvalidAMIID.NotFound'));
  await assert.rejects(publishProduct(app.ctx, { ...req, imageIds: [baseImage] }), codeOf('InvalidAMIID.NotFound'));
  await assert.rejects(publishProduct(app.ctx, { ...req, imageIds: ['ami-bad'] }), codeOf('InvalidAMIID.Malformed'));
  await assert.rejects(publishProduct(app.ctx, { ...req, vendor: vendor.account }), codeOf('InvalidParameterValue'));
  await assert.rejects(publishProduct(app.ctx, { ...req, vendor: vendor.account, price: -1 }), codeOf('InvalidParameterValue'));
  await assert.rejects(publishProduct(app.ctx, { ...req, vendor: vendor.account, imageIds: [] }), codeOf('MissingParameter'));
  await assert.rejects(publishProduct(app.ctx, { ...req, vendor: '999999999999' }), codeOf('NoSuchAccount'));
  await assert.rejects(publishProduct(app.ctx, { ...req, vendor: vendor.account, productCode: 'SHOUTING' }), codeOf('InvalidParameterValue'));
  await assert.rejects(subscribe(app.ctx, buyer.account, 'nosuchproduct000000000000'), codeOf('NoSuchProduct'));
  await assert.rejects(unsubscribe(app.ctx, other.account, product.id), codeOf('NoSuchSubscription'));
});

test('launching needs a subscription (OptInRequired), except for the vendor; captures keep the code', async () => {
  await assert.rejects(runInstances(app.ctx, buyer, { imageId: vendorImage, minCount: 1, maxCount: 1 }), optIn(product.id));
  assert.deepEqual(await app.ctx.store.instances.list(buyer), [], 'a refused launch leaves no instance');
  const own = await launch(vendor, vendorImage);
  assert.equal((await app.ctx.store.instances.get(own.id))!.state, 'running');

  const sub = await subscribe(app.ctx, buyer.account, product.id);
  assert.deepEqual(await subscribe(app.ctx, buyer.account, product.id), sub, 'subscribing again is a no-op');
  assert.deepEqual((await listSubscriptions(app.ctx, buyer.account)).map((s) => s.productCode), [product.id]);
  const inst = await launch(buyer, vendorImage);
  assert.equal((await app.ctx.store.instances.get(inst.id))!.state, 'running');

  const derived = await createImageFromInstance(app.ctx, buyer, { instanceId: inst.id, name: 'buyer-custom', noReboot: true });
  await settle();
  const rec = (await app.ctx.store.images.get(derived.id))!;
  assert.equal(rec.state, 'available');
  assert.deepEqual(rec.productCodes, [{ code: product.id, type: 'marketplace' }]);
  await requireSubscription(app.ctx, buyer, rec);
  await assert.rejects(requireSubscription(app.ctx, other, rec), optIn(product.id));

  await unsubscribe(app.ctx, buyer.account, product.id);
  await assert.rejects(runInstances(app.ctx, buyer, { imageId: derived.id, minCount: 1, maxCount: 1 }), optIn(product.id));
  assert.equal((await app.ctx.store.instances.get(inst.id))!.state, 'running', 'running instances keep running');
  await subscribe(app.ctx, buyer.account, product.id);
  await changeState(app.ctx, vendor, [own.id], 'terminate');
  await changeState(app.ctx, buyer, [inst.id], 'terminate');
  await settle();
});

test('usage: running time per product and launching account; stopped time is not counted', async () => {
  const inst = await launch(buyer, vendorImage);
  const before = await usageReport(app.ctx, vendor.account);
  const hourLater = await usageReport(app.ctx, vendor.account, Date.now() + 3600_000);
  const row = (rows: typeof before, account: string) => rows.find((r) => r.account === account && r.productCode === product.id)!;
  assert.equal(row(hourLater, buyer.account).instances, 2, 'the earlier instance and this one');
  const grown = row(hourLater, buyer.account).hours - row(before, buyer.account).hours;
  assert.ok(grown > 0.99 && grown < 1.01, `a running instance accrues (grew ${grown} h in an hour)`);
  assert.ok(Math.abs(row(hourLater, buyer.account).charge - row(hourLater, buyer.account).hours * 0.05) < 1e-5);
  assert.ok(row(before, vendor.account), 'the vendor\'s own instance is metered too');

  await changeState(app.ctx, buyer, [inst.id], 'stop');
  await settle();
  const stopped = row(await usageReport(app.ctx, vendor.account), buyer.account).hours;
  const stoppedLater = row(await usageReport(app.ctx, vendor.account, Date.now() + 3600_000), buyer.account).hours;
  assert.equal(stoppedLater, stopped, 'a stopped instance accrues nothing');
  assert.ok(stopped < 0.01);
  await changeState(app.ctx, buyer, [inst.id], 'start');
  await settle();
  const restarted = row(await usageReport(app.ctx, vendor.account, Date.now() + 1800_000), buyer.account).hours;
  assert.ok(restarted - stopped > 0.49, 'started again, it accrues again');
  await changeState(app.ctx, buyer, [inst.id], 'terminate');
  await settle();
  assert.deepEqual(await usageReport(app.ctx, buyer.account), [], 'a buyer has no products to report');
});
