/**
 * The web console in a real browser (playwright-core driving Debian's chromium) against `kiln serve` started from the
 * package's bin: sign in; the catalog image under Public images; launch from it with user data; Instances > Actions >
 * Image and templates > Create image; the AMI becomes available under Owned by me; launch from it (new security group,
 * bigger root volume), and its system log shows what the first instance wrote; share it with a second account
 * (and an organization) through Edit AMI permissions and see it there under Private images; make it public and see it under a third
 * account's Community AMIs; tags, copy to another region, deprecation, disable, deregistration protection; deregister
 * it with its snapshots. Then instance states, key pairs, volumes and snapshots (with their permissions). Saves the
 * README's screenshots.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DescribeImagesCommand, DescribeSnapshotAttributeCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { tempDirs } from './temp.js';
import { closeConsole, consoleSkip, createAccount, launchSelected, LONG, openConsole, pickAction, row, scope, shot, signIn, signOut, systemLog } from './console-browser.js';

const skip = await consoleSkip();

const ORG_ARN = 'arn:aws:organizations::123456789012:organization/o-console0001';
let kiln: KilnProcess | undefined;
let page: Page;
/** The instance the story launched from the catalog image. */
let first = '';
after(closeConsole);
const tmp = tempDirs('kiln-console-');

before(async () => {
  if (skip) return;
  ({ kiln, page } = await openConsole(join(await tmp(), 'data')));
});

test('the server serves the console beside the API: no-cache index.html, immutable assets, a CSP, routes to index.html', { skip }, async () => {
  const index = await fetch(`${kiln!.endpoint}/`);
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  assert.match(index.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
  const js = await fetch(`${kiln!.endpoint}${asset}`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(await (await fetch(`${kiln!.endpoint}/instances`)).text(), html);
  assert.equal((await fetch(`${kiln!.endpoint}/assets/nothing.js`)).status, 404);
  // Not the console's: the API answers (unsigned, refused).
  assert.notEqual((await fetch(`${kiln!.endpoint}/?Action=DescribeImages`)).status, 200);
});

test('the console story: launch, create image, launch from it, share it, make it public, deregister it', { skip, timeout: 900_000 }, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn('test', 'test');
  await page.getByRole('button', { name: 'Account 000000000000' }).waitFor();

  await scope('Public images');
  const minimal = row(/kiln-minimal-/);
  await minimal.waitFor();
  await minimal.getByRole('radio').check();
  await page.getByRole('tab', { name: 'Storage' }).click();
  await page.getByText('/dev/xvda').first().waitFor();

  // The first instance writes a file and an rc.local that prints it on every boot, and echoes a marker now.
  const userData = [
    '#!/bin/sh',
    'echo "written by the first instance" > /root/console.txt',
    'printf \'#!/bin/sh\\necho "rc.local: $(cat /root/console.txt)"\\n\' > /etc/rc.local',
    'chmod +x /etc/rc.local',
    'echo KILN-CONSOLE-FIRST-BOOT',
  ].join('\n');
  first = await launchSelected(userData, 'launch');
  assert.match(await systemLog(first, 'KILN-CONSOLE-FIRST-BOOT'), /KILN-CONSOLE-FIRST-BOOT/);
  await shot('instances');

  await page.getByRole('button', { name: 'Actions' }).click();
  await page.getByRole('menuitem', { name: 'Image and templates' }).click();
  await page.getByRole('menuitem', { name: 'Create image' }).click();
  await page.getByLabel('Image name').fill('console-golden');
  await page.getByLabel('Image description').fill('made in the web console');
  await page.getByText('/dev/xvda').waitFor();
  await page.getByRole('button', { name: 'Add new tag' }).click();
  await page.getByLabel('Tag key').fill('built-by');
  await page.getByLabel('Tag value').fill('console');
  await shot('create-image', true);
  await page.getByRole('button', { name: 'Create image' }).click();
  await page.getByText(/Currently creating AMI ami-/).waitFor();
  const golden = row('console-golden');
  await golden.getByText('available').waitFor({ timeout: 300_000 });
  const amiId = /ami-[0-9a-f]+/.exec(await golden.innerText())![0];

  await golden.getByRole('radio').check();
  await shot('amis');
  // The second instance gets a new security group allowing SSH from 10.0.0.0/8, and a 2 GiB root volume.
  const second = await launchSelected('', undefined, async () => {
    await page.getByText('Create security group').click();
    await page.getByLabel('Allow SSH traffic from CIDR').fill('10.0.0.0/8');
    await page.getByLabel('Root volume size').fill('2');
    await page.getByText('New security group, SSH from 10.0.0.0/8').waitFor();
  });
  await row(second).getByRole('radio').check();
  await page.getByRole('tab', { name: 'Security' }).click();
  await page.getByRole('cell', { name: /^launch-wizard-/ }).waitFor();
  await page.getByRole('link', { name: 'Volumes' }).click();
  await row(second).getByText('2 GiB').waitFor();
  await page.getByRole('link', { name: 'Instances' }).click();
  const log = await systemLog(second, 'rc.local: written by the first instance');
  assert.match(log, /rc\.local: written by the first instance/, 'the captured file is in the new instance');
  assert.doesNotMatch(log, /KILN-CONSOLE-FIRST-BOOT/, 'the first instance\'s user data does not run again');
  await page.getByRole('button', { name: 'Instance state' }).click();
  await page.getByRole('menuitem', { name: 'Terminate (delete) instance' }).click();
  await page.getByRole('button', { name: 'Terminate (delete)' }).click();
  await row(second).getByText('terminated').waitFor(LONG);

  // Share with a second account (made through the admin API), and see it there under Private images.
  const accessKey = await createAccount('111122223333');
  await page.getByRole('link', { name: 'AMIs' }).click();
  await row(amiId).getByRole('radio').check();
  await pickAction('Edit AMI permissions');
  await page.getByRole('button', { name: 'Add account ID' }).click();
  await page.getByRole('textbox', { name: 'AWS account ID' }).fill('111122223333');
  await page.getByRole('button', { name: 'Add organization/OU ARN' }).click();
  await page.getByRole('textbox', { name: 'Organization or OU ARN' }).fill(ORG_ARN);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText(`AMI permissions of ${amiId} saved.`).waitFor();
  await page.getByRole('tab', { name: 'Permissions' }).click();
  await page.getByRole('cell', { name: '111122223333' }).waitFor();
  await page.getByRole('cell', { name: ORG_ARN }).waitFor();

  await signOut();
  await signIn(accessKey.accessKeyId, accessKey.secretAccessKey);
  await page.getByRole('button', { name: 'Account 111122223333' }).waitFor();
  await scope('Private images');
  await row(amiId).waitFor();
  await page.getByRole('link', { name: 'AMI Catalog' }).click();
  await page.getByRole('tab', { name: 'My AMIs' }).click();
  await row(amiId).waitFor();
  await signOut();

  // Made public, it is a Community AMI for a third account.
  await signIn('test', 'test');
  await row(amiId).getByRole('radio').check();
  await pickAction('Edit AMI permissions');
  await page.getByText('Public', { exact: true }).click();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText(`AMI permissions of ${amiId} saved.`).waitFor();
  await row(amiId).getByText('Public', { exact: true }).waitFor();
  const third = await createAccount('444455556666');
  await signOut();
  await signIn(third.accessKeyId, third.secretAccessKey);
  await page.getByRole('link', { name: 'AMI Catalog' }).click();
  await page.getByRole('tab', { name: 'Community AMIs' }).click();
  await row(amiId).waitFor();
  await signOut();

  await signIn('test', 'test');
  await row(amiId).getByRole('radio').check();
  await pickAction('Manage tags');
  await page.getByRole('button', { name: 'Add new tag' }).click();
  await page.getByLabel('Tag key').last().fill('team');
  await page.getByLabel('Tag value').last().fill('web');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText(`Tags of ${amiId} saved.`).waitFor();
  await page.getByRole('tab', { name: 'Tags' }).click();
  await page.getByRole('cell', { name: 'web' }).waitFor();
  await page.getByRole('cell', { name: 'console', exact: true }).waitFor();

  // Copy AMI into another region, and see it there through the top bar's region selector.
  await pickAction('Copy AMI');
  await page.getByRole('dialog').getByRole('button', { name: 'Region' }).click();
  await page.getByRole('option', { name: 'us-west-2' }).click();
  await page.getByRole('dialog').getByText('Encrypt EBS snapshots of AMI copy').click();
  await page.getByRole('button', { name: 'Copy AMI' }).last().click();
  const copyId = /as (ami-\w+)/.exec(await page.getByText(/Copying ami-\w+ to us-west-2 as ami-/).innerText())![1]!;
  await page.getByRole('button', { name: 'Region' }).click();
  await page.getByRole('menuitem', { name: 'us-west-2' }).click();
  await row('Copy of console-golden').waitFor();
  await row('Copy of console-golden').getByRole('radio').check();
  await page.getByRole('tab', { name: 'Storage' }).click();
  const copied = await new EC2Client({ endpoint: kiln!.endpoint, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
    .send(new DescribeImagesCommand({ ImageIds: [copyId] }));
  assert.equal(copied.Images![0]!.BlockDeviceMappings![0]!.Ebs!.Encrypted, true, 'the copy is encrypted');
  await page.getByRole('button', { name: 'Region' }).click();
  await page.getByRole('menuitem', { name: 'us-east-1' }).click();

  // Lifecycle: deprecation date, disable and re-enable, deregistration protection refusing a deregistration.
  await row(amiId).getByRole('radio').check();
  await pickAction('Manage AMI deprecation');
  await page.getByText('Enable deprecation').click();
  await page.getByLabel('Deprecation date').fill('2031/01/02');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText(`${amiId} is deprecated from 2031-01-02.`).waitFor();
  await page.getByRole('tab', { name: 'Details' }).click();
  await page.getByText(/^2031-01-02T00:00:00/).waitFor();
  await pickAction('Disable AMI');
  await page.getByRole('button', { name: 'Disable AMI' }).last().click();
  await page.getByText(`${amiId} is disabled.`).waitFor();
  await scope('Disabled images');
  await row(amiId).getByRole('radio').check();
  await pickAction('Re-enable AMI');
  await page.getByRole('button', { name: 'Re-enable AMI' }).last().click();
  await page.getByText(`${amiId} is enabled again.`).waitFor();
  await scope('Owned by me');
  await row(amiId).getByText('available').waitFor();
  await row(amiId).getByRole('radio').check();
  await pickAction('Manage deregistration protection');
  await page.getByText('Enable', { exact: true }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText(`Deregistration protection of ${amiId} enabled.`).waitFor();
  await pickAction('Deregister AMI');
  await page.getByLabel('Confirm deregistration').fill('delete');
  await page.getByRole('button', { name: 'Deregister AMI' }).last().click();
  await page.getByText(/^OperationNotPermitted/).first().waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await pickAction('Manage deregistration protection');
  await page.getByText('Disable', { exact: true }).click();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText(`Deregistration protection of ${amiId} disabled.`).waitFor();

  await pickAction('Deregister AMI');
  await page.getByText('Delete associated snapshots').click();
  await page.getByLabel('Confirm deregistration').fill('delete');
  await page.getByRole('button', { name: 'Deregister AMI' }).last().click();
  await page.getByText(`Deregistered ${amiId} and deleted its snapshots.`).waitFor();
  await row(amiId).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.getByText('No snapshots').waitFor();
  assert.deepEqual(errors, []);
});

test('stop, start and reboot; the instance detail; dark mode; key pairs (created, downloaded once, deleted); volumes and snapshots; and the AMI Catalog\'s Select into Launch', { skip, timeout: 300_000 }, async () => {
  await page.getByRole('link', { name: 'Key pairs' }).click();
  await page.getByRole('button', { name: 'Create key pair' }).click();
  await page.getByLabel('Key pair name').fill('console-key');
  await page.getByRole('dialog').getByRole('button', { name: 'Create key pair' }).click();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'console-key.pem' }).click()]);
  assert.equal(download.suggestedFilename(), 'console-key.pem');
  assert.match(await readFile((await download.path())!, 'utf8'), /^-----BEGIN (RSA )?PRIVATE KEY-----/);
  // An API error is a flash message with AWS's code.
  await page.getByRole('button', { name: 'Create key pair' }).click();
  await page.getByLabel('Key pair name').fill('console-key');
  await page.getByRole('dialog').getByRole('button', { name: 'Create key pair' }).click();
  await page.getByText('InvalidKeyPair.Duplicate').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await row('console-key').getByRole('radio').check();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Deleted key pair console-key.').waitFor();

  await page.getByRole('link', { name: 'Instances' }).click();
  await row(first).getByRole('radio').check();
  for (const [action, state] of [['Stop instance', 'stopped'], ['Start instance', 'running'], ['Reboot instance', 'running']] as const) {
    await page.getByRole('button', { name: 'Instance state' }).click();
    await page.getByRole('menuitem', { name: action }).click();
    await page.getByText(`${action.split(' ')[0]} of ${first} requested.`).waitFor();
    await row(first).getByText(state).waitFor(LONG);
  }

  await page.getByRole('tab', { name: 'Storage' }).click();
  await page.getByRole('cell', { name: /^vol-/ }).waitFor();
  await page.getByRole('tab', { name: 'Networking' }).click();
  await page.getByText(/^vpc-/).waitFor();

  await page.getByRole('button', { name: 'Dark mode' }).click();
  await page.locator('body.awsui-dark-mode').waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Light mode' }).click();
  await page.locator('body.awsui-dark-mode').waitFor({ state: 'detached' });

  // EBS: create a volume, attach it to the running instance, detach, grow it, snapshot it; from the snapshot an image
  // (RegisterImage), a volume and a copy in us-west-2.
  const dialog = page.getByRole('dialog');
  await page.getByRole('link', { name: 'Volumes' }).click();
  await page.getByRole('button', { name: 'Create volume' }).click();
  await dialog.getByRole('button', { name: /Availability Zone/ }).getByText('us-east-1a').waitFor();
  await dialog.getByRole('button', { name: 'Create volume' }).click();
  const vol = /vol-\w+/.exec(await page.getByText(/^Created volume vol-/).innerText())![0];
  await row(vol).getByRole('radio').check();
  await pickAction('Attach volume');
  await dialog.getByRole('button', { name: /^Instance/ }).click();
  await page.getByRole('option', { name: new RegExp(first) }).click();
  await dialog.getByRole('button', { name: 'Attach volume' }).click();
  await row(vol).getByText('in-use').waitFor(LONG);
  await row(vol).getByText(`${first} (/dev/sdf): attached`).waitFor(LONG);
  await pickAction('Detach volume');
  await dialog.getByRole('button', { name: 'Detach' }).click();
  await row(vol).getByText('available').waitFor(LONG);
  await pickAction('Modify volume');
  await page.getByLabel('Size (GiB)').fill('2');
  await dialog.getByRole('button', { name: 'Modify' }).click();
  await page.getByText(`Modifying ${vol}.`).waitFor();
  for (let i = 0; i < 60 && !(await row(vol).getByText('2 GiB').isVisible()); i++) {
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh' }).click();
  }
  await row(vol).getByText('2 GiB').waitFor({ timeout: 1000 });
  await pickAction('Create snapshot');
  await page.getByLabel('Snapshot description').fill('from the console');
  await dialog.getByRole('button', { name: 'Create snapshot' }).click();
  const snap = /snap-\w+/.exec(await page.getByText(/^Creating snapshot snap-/).innerText())![0];

  await page.getByRole('link', { name: 'Snapshots' }).click();
  await page.getByRole('button', { name: 'Create snapshot' }).click();
  await dialog.getByRole('button', { name: /^Volume ID/ }).click();
  await page.getByRole('option', { name: new RegExp(vol) }).click();
  await dialog.getByRole('button', { name: 'Create snapshot' }).click();
  await page.getByText(new RegExp(`^Creating snapshot snap-\\w+ of ${vol}`)).nth(1).waitFor(); // beside the first one's
  await row(snap).getByText('completed').waitFor(LONG);
  await row(snap).getByRole('radio').check();
  await pickAction('Create image from snapshot');
  await dialog.getByLabel('Image name').fill('from-snapshot');
  await dialog.getByRole('button', { name: 'Create image' }).click();
  await page.getByText(new RegExp(`^Registered ami-\\w+ from ${snap}`)).waitFor();
  await pickAction('Create volume from snapshot');
  await dialog.getByRole('button', { name: /Availability Zone/ }).getByText('us-east-1a').waitFor();
  await dialog.getByRole('button', { name: 'Create volume' }).click();
  await page.getByText(new RegExp(`^Created volume vol-\\w+ from ${snap}`)).waitFor();
  await pickAction('Copy snapshot');
  await dialog.getByRole('button', { name: 'Region' }).click();
  await page.getByRole('option', { name: 'us-west-2' }).click();
  await dialog.getByRole('button', { name: 'Copy snapshot' }).click();
  await page.getByText(new RegExp(`^Copying ${snap} to us-west-2 as snap-`)).waitFor();
  await pickAction('Modify permissions');
  await dialog.getByRole('button', { name: 'Add account ID' }).click();
  await dialog.getByRole('textbox', { name: 'AWS account ID' }).fill('111122223333');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText(`Permissions of ${snap} saved.`).waitFor();
  const perms = await new EC2Client({ endpoint: kiln!.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
    .send(new DescribeSnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission' }));
  assert.deepEqual(perms.CreateVolumePermissions, [{ UserId: '111122223333' }]);
  await page.getByRole('link', { name: 'AMIs' }).click();
  await row('from-snapshot').getByText('available').waitFor(LONG);

  await page.getByRole('link', { name: 'AMI Catalog' }).click();
  await row(/kiln-minimal-/).getByRole('button', { name: /^Select/ }).click();
  await page.getByRole('heading', { name: 'Launch an instance' }).waitFor();
  await page.getByText(/kiln-minimal-.*\(ami-/).waitFor();
});
