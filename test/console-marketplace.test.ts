/**
 * The AMI Catalog's AWS Marketplace tab in a real browser (playwright-core driving Debian's chromium) against
 * `kiln serve`: a vendor account publishes a product (its copy of the catalog image, through the admin API, as
 * `kiln marketplace publish` does); the buyer finds it with its vendor and price, selects it, and the launch is
 * refused with OptInRequired; Subscribe shows the terms, the product turns Subscribed (checked through the buyer's
 * own marketplace API), and the same launch now runs, with an added volume, shutdown behaviour, termination
 * protection, metadata version and subnet set on the launch page; the AMI picker then offers it under Recents.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  CopyImageCommand, CreateTagsCommand, DescribeImagesCommand, DescribeInstanceAttributeCommand, DescribeInstancesCommand, EC2Client, ModifyInstanceAttributeCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { until } from './harness.js';
import { tempDirs } from './temp.js';
import { admin, closeConsole, consoleSkip, createAccount, LONG, openConsole, row, scope, shot, signIn } from './console-browser.js';

const skip = await consoleSkip();

let kiln: KilnProcess | undefined;
let page: Page;

after(closeConsole);
const tmp = tempDirs('kiln-console-market-'); // its cleanup runs after the console's: instances are gone by then

before(async () => {
  if (skip) return;
  ({ kiln, page } = await openConsole(join(await tmp(), 'data')));
});

test('the Marketplace tab: a vendor\'s product, OptInRequired before subscribing, Subscribe, and the launch runs', { skip, timeout: 300_000 }, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const keys = await createAccount('410000000001', 'acme-soft');
  const vendor = new EC2Client({ endpoint: kiln!.endpoint, region: 'us-east-1', credentials: keys, maxAttempts: 1 });
  const base = (await vendor.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const ami = (await vendor.send(new CopyImageCommand({ SourceImageId: base, SourceRegion: 'us-east-1', Name: 'acme-appliance' }))).ImageId!;
  await until('the vendor\'s copy', async () => (await vendor.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0]?.State === 'available');
  const { product } = await admin('POST', 'marketplace/products',
    { vendor: '410000000001', title: 'Acme Appliance', description: 'A router in a box', price: 0.12, imageIds: [ami] }, 201);

  await signIn('test', 'test');
  await page.getByRole('link', { name: 'AMI Catalog' }).click();
  await page.getByRole('tab', { name: 'AWS Marketplace AMIs' }).click();
  const listing = row('Acme Appliance');
  for (const text of ['acme-soft', '$0.120/hr', ami, 'Not subscribed']) await listing.getByText(text).waitFor();
  await shot('marketplace');

  // Not subscribed: Select leads to the launch page, and RunInstances refuses with AWS's code.
  await listing.getByRole('button', { name: 'Select Acme Appliance' }).click();
  await page.getByRole('heading', { name: 'Launch an instance' }).waitFor();
  await page.getByText(`acme-appliance (${ami})`).waitFor();
  await page.getByRole('button', { name: 'Launch instance' }).click();
  await page.getByText('OptInRequired').waitFor();
  assert.equal(await page.getByTestId('launched').count(), 0);

  await page.getByRole('link', { name: 'AMI Catalog' }).click();
  await page.getByRole('tab', { name: 'AWS Marketplace AMIs' }).click();
  await listing.getByRole('radio').check();
  await page.getByRole('button', { name: 'Subscribe' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('$0.120/hr').waitFor();
  await dialog.getByRole('button', { name: 'Subscribe' }).click();
  await page.getByText(/^Subscribed to Acme Appliance/).waitFor();
  await listing.getByText('Subscribed', { exact: true }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Subscribe' }).isDisabled(), true);

  // This launch also sets what Launch's storage and advanced details offer: an added volume, shutdown behaviour,
  // termination protection, metadata version.
  await listing.getByRole('button', { name: 'Select Acme Appliance' }).click();
  await page.getByText(`acme-appliance (${ami})`).waitFor();
  await page.getByRole('button', { name: 'Add new volume' }).click();
  await page.getByLabel('Volume 2 size').fill('2');
  for (const [field, choice] of [['Shutdown behavior', 'Terminate'], ['Termination protection', 'Enable'], ['Metadata version', 'V1 and V2 (token optional)']]) {
    await page.getByRole('button', { name: new RegExp(`^${field}`) }).click();
    await page.getByRole('option', { name: choice }).click();
  }
  await page.getByText('2 volume(s) - 1, 2 GiB').waitFor();
  await page.getByRole('button', { name: /^Subnet/ }).click();
  await page.getByRole('option', { name: /us-east-1b/ }).click();
  await page.getByRole('button', { name: 'Launch instance' }).click();
  const alert = page.getByTestId('launched');
  const id = /i-[0-9a-f]+/.exec(await alert.innerText({ timeout: 60_000 }))![0];
  await alert.getByRole('link', { name: id }).click();
  await row(id).getByText('running').waitFor(LONG);
  const buyer = new EC2Client({ endpoint: kiln!.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const inst = (await buyer.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
  assert.deepEqual([inst.ImageId, inst.ProductCodes?.map((p) => p.ProductCodeId)], [ami, [product.id]]);
  assert.deepEqual(inst.BlockDeviceMappings?.map((b) => b.DeviceName), ['/dev/xvda', '/dev/sdf']);
  assert.equal(inst.MetadataOptions?.HttpTokens, 'optional');
  assert.equal(inst.Placement?.AvailabilityZone, 'us-east-1b', 'in the subnet chosen');
  const attr = (Attribute: 'disableApiTermination' | 'instanceInitiatedShutdownBehavior') => buyer.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute }));
  assert.equal((await attr('instanceInitiatedShutdownBehavior')).InstanceInitiatedShutdownBehavior?.Value, 'terminate');
  assert.equal((await attr('disableApiTermination')).DisableApiTermination?.Value, true);
  assert.equal(await buyer.send(new TerminateInstancesCommand({ InstanceIds: [id] })).then(() => 'none', (e: Error) => e.name), 'OperationNotPermitted');
  await buyer.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } }));

  // The AMI picker now offers Recents, with this AMI first.
  await page.getByRole('link', { name: 'Launch instance' }).click();
  await page.getByRole('button', { name: 'Recents' }).waitFor();
  await page.getByText(`acme-appliance (${ami})`).waitFor();

  // AMIs > Public images: the property filter over a tag, and the Tags column turned on in the table's preferences.
  await vendor.send(new CreateTagsCommand({ Resources: [ami], Tags: [{ Key: 'team', Value: 'acme' }] }));
  await page.getByRole('link', { name: 'AMIs', exact: true }).click();
  await scope('Public images');
  await row(ami).waitFor();
  await page.getByRole('button', { name: 'Preferences' }).click();
  await page.getByRole('dialog').getByRole('checkbox', { name: 'Tags' }).check();
  await page.getByRole('dialog').getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('columnheader', { name: 'Tags' }).waitFor();
  await row(ami).getByText('team=acme').waitFor();
  await page.getByPlaceholder('Find AMI by attribute or tag').fill('Tag: team = acme');
  await page.keyboard.press('Enter');
  await page.getByText('1 match', { exact: true }).first().waitFor();
  assert.equal(await page.getByRole('row').count(), 2, 'the header and the one tagged AMI');
  assert.deepEqual(errors, []);
});
