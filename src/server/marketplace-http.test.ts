/**
 * The buyer's marketplace API over a real server: signed with the account's
 * own keys for `aws-marketplace`, it lists products with the vendor and
 * whether this account may launch them, and subscribing there is what turns
 * RunInstances' OptInRequired into a launch (checked with DryRun: no
 * instance is started). Wrong signatures, another service's scope and bad
 * bodies are refused with codes; unsubscribing closes the product again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CopyImageCommand, DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Kiln } from '../../test/harness.js';
import { startKiln, until } from '../../test/harness.js';
import { Sha256 } from '../../test/sha256.js';
import { createAccount } from '../services/accounts/accounts.js';
import { publishProduct } from '../services/marketplace/marketplace.js';

const VENDOR = { id: '310000000001', alias: 'acme-soft', accessKeyId: 'AKIAVENDOR', secretAccessKey: 'vendor-secret' };
const BUYER = { id: '310000000002', accessKeyId: 'AKIABUYER', secretAccessKey: 'buyer-secret' };
let kiln: Kiln;
let code = '';
let imageId = '';

before(async () => {
  kiln = await startKiln();
  await createAccount(kiln.app.ctx, VENDOR);
  await createAccount(kiln.app.ctx, BUYER);
  const vendor = kiln.client('us-east-1', VENDOR);
  const base = (await vendor.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  imageId = (await vendor.send(new CopyImageCommand({ SourceImageId: base, SourceRegion: 'us-east-1', Name: 'acme-appliance' }))).ImageId!;
  await until('the copy', async () => (await vendor.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0]?.State === 'available');
  code = (await publishProduct(kiln.app.ctx, { vendor: VENDOR.id, title: 'Acme Appliance', description: 'A router in a box', price: 0.12, imageIds: [imageId] })).id;
});
after(async () => { await kiln?.close(); });

async function market(method: string, path: string, body?: unknown, keys = BUYER, service = 'aws-marketplace'): Promise<{ status: number; json: any }> {
  const url = new URL(`${kiln.endpoint}/_kiln/marketplace/${path}`);
  const text = body === undefined ? undefined : JSON.stringify(body);
  const signer = new SignatureV4({ service, region: 'us-east-1', sha256: Sha256, credentials: keys });
  const signed = await signer.sign({
    method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: url.pathname, query: {},
    headers: { host: url.host, ...(text ? { 'content-type': 'application/json' } : {}) }, body: text,
  });
  const res = await fetch(url, { method, headers: signed.headers, body: text });
  return { status: res.status, json: await res.json() };
}

/** The error code of a dry-run RunInstances of the product's image (DryRunOperation: it would launch). */
const launch = (keys = BUYER) => kiln.client('us-east-1', keys).send(new RunInstancesCommand({
  ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, DryRun: true,
})).then(() => 'none', (err: { name?: string }) => err.name);

test('a buyer lists products with their vendor and price; subscribing there opens the launch; unsubscribing closes it', async () => {
  const listed = await market('GET', 'products');
  assert.equal(listed.status, 200);
  const product = listed.json.products.find((p: any) => p.productCode === code);
  assert.deepEqual({ ...product, createdAt: undefined }, {
    productCode: code, title: 'Acme Appliance', description: 'A router in a box', vendor: { id: VENDOR.id, alias: 'acme-soft' },
    price: 0.12, imageIds: [imageId], subscribed: false, createdAt: undefined,
  });
  assert.equal(await launch(), 'OptInRequired');
  assert.equal(await launch(VENDOR), 'DryRunOperation', 'the vendor launches its own product');
  assert.equal((await market('GET', 'products', undefined, VENDOR)).json.products[0].subscribed, true);

  const made = await market('POST', 'subscriptions', { productCode: code });
  assert.equal(made.status, 201);
  assert.equal(made.json.subscription.productCode, code);
  assert.equal(made.json.subscription.account, BUYER.id);
  assert.equal((await market('POST', 'subscriptions', { productCode: code })).status, 201, 'subscribing again is idempotent');
  assert.equal((await market('GET', 'products')).json.products[0].subscribed, true);
  assert.deepEqual((await market('GET', 'subscriptions')).json.subscriptions.map((s: any) => s.productCode), [code]);
  assert.equal(await launch(), 'DryRunOperation');

  assert.equal((await market('DELETE', `subscriptions/${code}`)).status, 200);
  assert.equal(await launch(), 'OptInRequired');
  assert.equal((await market('DELETE', `subscriptions/${code}`)).json.error.code, 'NoSuchSubscription');
});

test('refused: an unknown product, a bad body, a wrong secret, a key scoped to ec2, an unknown path or method', async () => {
  const unknown = await market('POST', 'subscriptions', { productCode: 'a'.repeat(25) });
  assert.deepEqual([unknown.status, unknown.json.error.code], [404, 'NoSuchProduct']);
  assert.equal((await market('POST', 'subscriptions', {})).json.error.code, 'MissingParameter');
  const wrong = await market('GET', 'products', undefined, { ...BUYER, secretAccessKey: 'not-it' });
  assert.deepEqual([wrong.status, wrong.json.error.code], [403, 'SignatureDoesNotMatch']);
  const ec2Scoped = await market('GET', 'products', undefined, BUYER, 'ec2');
  assert.deepEqual([ec2Scoped.status, ec2Scoped.json.error.code], [401, 'AuthFailure']);
  assert.equal((await market('GET', 'nothing-here')).status, 404);
  assert.equal((await market('PUT', 'products')).status, 405);
  const unsigned = await fetch(`${kiln.endpoint}/_kiln/marketplace/products`);
  assert.equal(((await unsigned.json()) as any).error.code, 'MissingAuthenticationToken');
});
