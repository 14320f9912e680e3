/**
 * A marketplace product end to end, with `kiln serve` and `kiln accounts` /
 * `kiln marketplace` from the package's bin and the stock aws-cli on real
 * instances: a vendor builds an image and publishes it; another account's
 * run-instances is refused with OptInRequired until it subscribes; its
 * instance then runs, and an image captured from it keeps the product code;
 * the vendor's usage report shows the buyer's instance.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { aws, until } from './harness.js';
import { tempDirs } from './temp.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('aws-cli', 'build', 'instances');

const VENDOR = '310000000001';
const BUYER = '310000000002';
let dataDir: string;
let server: ChildProcess | undefined;
let endpoint: string;
const keys: Record<string, [string, string]> = {};

after(async () => {
  if (!server) return;
  for (const id of [VENDOR, BUYER]) {
    const ids = (await ec2(id, 'describe-instances', '--query', 'Reservations[].Instances[].InstanceId').catch(() => [])) as string[];
    if (ids.length) {
      await ec2(id, 'terminate-instances', '--instance-ids', ...ids);
      await ec2(id, 'wait', 'instance-terminated', '--instance-ids', ...ids);
    }
  }
  const exited = new Promise((res) => server!.once('exit', res));
  server.kill('SIGTERM');
  await exited;
});

// Registered after the hook that stops the server, so its directories are removed only once nothing runs in them.
const tmp = tempDirs('kiln-marketplace-cli-');

before(async () => {
  if (skip) return;
  dataDir = join(await tmp(), 'data');
  server = spawn(process.execPath, ['bin/kiln.js', 'serve', '--port', '0', '--data', dataDir, '--no-debian', '--no-nat', '--pool', 'copy'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let printed = '';
  server.stdout!.on('data', (c: Buffer) => { printed += c.toString(); });
  server.stderr!.on('data', (c: Buffer) => { printed += c.toString(); });
  endpoint = await until('kiln to listen', async () => /listening on (http:\/\/\S+)/.exec(printed)?.[1], 60_000, 50);
  await until('kiln to be ready', async () => (await fetch(`${endpoint}/_kiln/health`)).status === 200, 120_000, 100);
  for (const id of [VENDOR, BUYER]) {
    const out = JSON.parse(await kiln('accounts', 'create', '--id', id));
    keys[id] = [out.accessKey.accessKeyId, out.accessKey.secretAccessKey];
  }
});

/** `kiln ...` against the test server; resolves with stdout, rejects with the process error (stderr, code). */
async function kiln(...args: string[]): Promise<string> {
  const { stdout } = await execFileP(process.execPath, ['bin/kiln.js', ...args, '--endpoint', endpoint, '--data', dataDir],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  return stdout;
}

const ec2 = (account: string, ...args: string[]) => aws(endpoint, ['ec2', ...args], { keys: keys[account] });

async function launch(account: string, imageId: string): Promise<string> {
  const run = await ec2(account, 'run-instances', '--image-id', imageId, '--instance-type', 't3.micro');
  const id = run.Instances[0].InstanceId as string;
  await ec2(account, 'wait', 'instance-running', '--instance-ids', id);
  return id;
}

async function capture(account: string, instanceId: string, name: string): Promise<string> {
  const { ImageId } = await ec2(account, 'create-image', '--instance-id', instanceId, '--name', name, '--no-reboot');
  await ec2(account, 'wait', 'image-available', '--image-ids', ImageId);
  return ImageId as string;
}

test('publish, OptInRequired, subscribe, launch, capture keeps the product code, usage (aws-cli)', { skip, timeout: 600_000 }, async () => {
  const base = (await ec2(VENDOR, 'describe-images', '--owners', 'amazon')).Images[0].ImageId as string;
  const builder = await launch(VENDOR, base);
  const appliance = await capture(VENDOR, builder, 'vendor-appliance-v1');
  await ec2(VENDOR, 'terminate-instances', '--instance-ids', builder);

  const { product } = JSON.parse(await kiln('marketplace', 'publish', '--vendor', VENDOR, '--title', 'Appliance',
    '--description', 'A packaged appliance', '--price', '0.05', '--image', appliance));
  const code = product.id as string;
  assert.match(code, /^[a-z0-9]{25}$/);
  assert.deepEqual(JSON.parse(await kiln('marketplace', 'products', '--vendor', VENDOR)).products.map((p: { id: string }) => p.id), [code]);

  const listed = await ec2(BUYER, 'describe-images', '--owners', 'aws-marketplace');
  const shown = listed.Images.find((i: { ImageId: string }) => i.ImageId === appliance);
  assert.ok(shown, 'the buyer finds the product image under --owners aws-marketplace');
  assert.equal(shown.ImageOwnerAlias, 'aws-marketplace');
  assert.deepEqual(shown.ProductCodes, [{ ProductCodeId: code, ProductCodeType: 'marketplace' }]);

  const refused = await ec2(BUYER, 'run-instances', '--image-id', appliance, '--instance-type', 't3.micro').then(() => undefined, (e: { stderr: string }) => e);
  assert.ok(refused, 'run-instances without a subscription fails');
  assert.match(refused.stderr, /\(OptInRequired\)/);
  assert.ok(refused.stderr.includes(`pp?sku=${code}`));

  const { subscription } = JSON.parse(await kiln('marketplace', 'subscribe', '--account', BUYER, '--product', code));
  assert.equal(subscription.productCode, code);
  const inst = await launch(BUYER, appliance);
  const running = (await ec2(BUYER, 'describe-instances', '--filters', `Name=product-code,Values=${code}`)).Reservations[0].Instances[0];
  assert.deepEqual([running.InstanceId, running.ProductCodes], [inst, [{ ProductCodeId: code, ProductCodeType: 'marketplace' }]]);
  const derived = await capture(BUYER, inst, 'buyer-custom-v1');
  const img = (await ec2(BUYER, 'describe-images', '--image-ids', derived)).Images[0];
  assert.deepEqual(img.ProductCodes, [{ ProductCodeId: code, ProductCodeType: 'marketplace' }]);

  const { usage } = JSON.parse(await kiln('marketplace', 'usage', '--vendor', VENDOR));
  const row = usage.find((r: { account: string }) => r.account === BUYER);
  assert.equal(row.productCode, code);
  assert.equal(row.instances, 1);
  assert.ok(row.hours > 0);

  await kiln('marketplace', 'unsubscribe', '--account', BUYER, '--product', code);
  const again = await ec2(BUYER, 'run-instances', '--image-id', derived, '--instance-type', 't3.micro').then(() => undefined, (e: { stderr: string }) => e);
  assert.match(again?.stderr ?? '', /\(OptInRequired\)/, 'the captured image needs the subscription too');
});
