/**
 * The web console's Launch Templates and Auto Scaling Groups pages in a real browser (playwright-core driving
 * Debian's chromium) against `kiln serve` started from the package's bin: sign in; create a launch template from the
 * catalog's minimal (busybox) image picked in the form, a second version (a bigger type) from the first, make it the
 * default; launch an instance from the template and make a template from that instance (GetLaunchTemplateData);
 * create a group of 2 from the template, see both InService and the launches in its Activity tab; edit desired to 1
 * and see it scale in; refresh its instance (Start instance refresh); delete the group (forced) and the templates.
 * After each step the server's state is checked with the SDK. Saves the README's screenshots
 * docs/console/launch-templates.png and auto-scaling-groups.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import * as asg from '@aws-sdk/client-auto-scaling';
import {
  DescribeImagesCommand, DescribeInstancesCommand, DescribeLaunchTemplatesCommand, DescribeLaunchTemplateVersionsCommand, DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand, EC2Client,
} from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { until } from './harness.js';
import { tempDirs } from './temp.js';
import { LONG, clearFlashes, closeConsole, consoleSkip, openConsole, pickAction, row, shot, signIn } from './console-browser.js';

const skip = await consoleSkip();

let kiln: KilnProcess | undefined;
let page: Page;
let ec2: EC2Client;
let scaling: asg.AutoScalingClient;
const keys = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };

const liveInstances = async () => ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? [])
  .filter((i) => i.State?.Name !== 'terminated');
const groups = async () => (await scaling.send(new asg.DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
const templates = async () => (await ec2.send(new DescribeLaunchTemplatesCommand({}))).LaunchTemplates ?? [];
const versions = async (name: string) => (await ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateName: name }))).LaunchTemplateVersions ?? [];

after(async () => {
  // No group may relaunch what closeConsole terminates (every instance: they outlive the server, as a user's must).
  if (kiln) {
    for (const g of await groups().catch(() => [])) {
      await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: g.AutoScalingGroupName, ForceDelete: true })).catch(() => undefined);
    }
    await until('every group gone', async () => (await groups()).length === 0, 120_000, 500).catch(() => undefined);
  }
  await closeConsole();
});
const tmp = tempDirs('kiln-console-scaling-');

before(async () => {
  if (skip) return;
  ({ kiln, page } = await openConsole(join(await tmp(), 'data')));
  ec2 = new EC2Client({ endpoint: kiln.endpoint, ...keys });
  scaling = new asg.AutoScalingClient({ endpoint: kiln.endpoint, ...keys });
});

/** Opens the select labelled `label`, clicks the option matching `option` and waits until the select shows it. */
async function choose(label: RegExp, option: RegExp, scope: Page | Locator = page): Promise<void> {
  const select = scope.getByRole('button', { name: label });
  await select.click();
  const chosen = page.getByRole('option', { name: option }).first();
  const text = (await chosen.innerText()).split('\n')[0]!.trim();
  await chosen.click();
  await select.getByText(text, { exact: false }).first().waitFor();
}

/** Waits (the page polls; nothing here reloads it) until `locator` matches exactly `n` elements. */
async function count(locator: Locator, n: number, what: string, timeoutMs = LONG.timeout): Promise<void> {
  await until(what, async () => (await locator.count()) === n, timeoutMs, 250);
}

test('launch templates and an Auto Scaling group through the console: create, version, default, scale out and in, refresh, delete', { skip, timeout: 900_000 }, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const dialog = page.getByRole('dialog');
  await signIn('test', 'test');
  const minimal = ((await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images ?? []).find((i) => i.Name?.startsWith('kiln-minimal-'))!;
  assert.ok(minimal, 'the catalog has the minimal image');
  const defaultGroup = ((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []).find((g) => g.GroupName === 'default')!;

  // Create launch template: the catalog image picked from the Quick Start group, user data, the default security group.
  await page.getByRole('link', { name: 'Launch Templates' }).click();
  await page.getByText('No launch templates').waitFor();
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByLabel('Launch template name').fill('console-web');
  await page.getByLabel('Template version description').fill('first');
  await choose(/^Amazon Machine Image/, /kiln-minimal-/);
  await page.getByRole('button', { name: /^Instance type/ }).getByText(/t3\.micro · \d+ vCPU/).waitFor();
  await page.getByRole('button', { name: /^Common security groups/ }).getByText('default').waitFor();
  await page.getByLabel('User data').fill('#!/bin/sh\necho from-the-template\n');
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByText(/^Created launch template console-web \(lt-\w+\)\.$/).waitFor();
  const [made] = await templates();
  assert.equal(made?.LaunchTemplateName, 'console-web');
  assert.deepEqual([made.DefaultVersionNumber, made.LatestVersionNumber], [1, 1]);
  const v1 = (await versions('console-web'))[0]!;
  assert.equal(v1.VersionDescription, 'first');
  assert.deepEqual(
    [v1.LaunchTemplateData?.ImageId, v1.LaunchTemplateData?.InstanceType, v1.LaunchTemplateData?.SecurityGroupIds, v1.LaunchTemplateData?.KeyName],
    [minimal.ImageId, 't3.micro', [defaultGroup.GroupId], undefined]);
  assert.equal(Buffer.from(v1.LaunchTemplateData!.UserData!, 'base64').toString(), '#!/bin/sh\necho from-the-template\n');

  // Modify template (Create new version): from version 1, a bigger type; the rest comes along.
  await row('console-web').getByRole('radio').check();
  await page.getByRole('cell', { name: '1 (Default)' }).waitFor();
  await pickAction('Modify template (Create new version)');
  await page.getByRole('button', { name: /^Source template version/ }).getByText('1 (Default)').waitFor();
  await page.getByRole('button', { name: /^Amazon Machine Image/ }).getByText(minimal.Name!).waitFor();
  await page.getByRole('button', { name: /^Instance type/ }).getByText(/t3\.micro · \d+ vCPU/).waitFor();
  await page.getByLabel('Template version description').fill('second');
  await choose(/^Instance type/, /^t3\.small/);
  await page.getByRole('button', { name: 'Create template version' }).click();
  await page.getByText('Created version 2 of console-web.').waitFor();
  const v2 = (await versions('console-web')).find((v) => v.VersionNumber === 2)!;
  assert.deepEqual([v2.VersionDescription, v2.DefaultVersion, v2.LaunchTemplateData?.InstanceType, v2.LaunchTemplateData?.ImageId,
    v2.LaunchTemplateData?.UserData],
    ['second', false, 't3.small', minimal.ImageId, v1.LaunchTemplateData?.UserData]);

  // Set default version.
  await row('console-web').getByRole('radio').check();
  await pickAction('Set default version');
  await choose(/^Template version/, /^2/, dialog);
  await dialog.getByRole('button', { name: 'Set as default version' }).click();
  await page.getByText('Version 2 is now the default of console-web.').waitFor();
  await page.getByRole('cell', { name: '2 (Default)' }).waitFor();
  assert.equal((await templates())[0]?.DefaultVersionNumber, 2);
  await clearFlashes();
  await shot('launch-templates');

  // Launch instance from template ($Default: version 2), then Instances > Create template from instance.
  await pickAction('Launch instance from template');
  await dialog.getByRole('button', { name: 'Launch instance' }).click();
  const launched = /i-[0-9a-f]+/.exec(await page.getByText(/^Launched i-\w+ from console-web \(version Default\)\.$/).innerText())![0];
  const [one] = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [launched] }))).Reservations![0]!.Instances!;
  assert.deepEqual([one!.InstanceType, one!.ImageId], ['t3.small', minimal.ImageId]);
  await page.getByRole('link', { name: 'Instances', exact: true }).click();
  await row(launched).getByText('running').waitFor(LONG);
  await row(launched).getByRole('radio').check();
  await page.getByRole('button', { name: 'Actions' }).click();
  await page.getByRole('menuitem', { name: 'Image and templates' }).click();
  await page.getByRole('menuitem', { name: 'Create template from instance' }).click();
  await page.getByRole('button', { name: /^Instance type/ }).getByText(/t3\.small/).waitFor();
  await page.getByRole('button', { name: /^Amazon Machine Image/ }).getByText(minimal.Name!).waitFor();
  await page.getByLabel('Launch template name').fill('from-instance');
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByText(/^Created launch template from-instance \(lt-\w+\)\.$/).waitFor();
  const copy = (await versions('from-instance'))[0]!.LaunchTemplateData!;
  assert.deepEqual([copy.ImageId, copy.InstanceType, copy.UserData, copy.NetworkInterfaces?.[0]?.Groups],
    [minimal.ImageId, 't3.small', v1.LaunchTemplateData?.UserData, [defaultGroup.GroupId]]);

  // Create Auto Scaling group: 2 (1 to 3) from console-web's default version over every subnet.
  const subnets = ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).map((s) => s.SubnetId!);
  await page.getByRole('link', { name: 'Auto Scaling Groups' }).click();
  await page.getByText('No Auto Scaling groups').waitFor();
  await page.getByRole('button', { name: 'Create Auto Scaling group' }).click();
  await page.getByLabel('Auto Scaling group name').fill('console-asg');
  await choose(/^Launch template/, /^console-web/);
  await page.getByRole('button', { name: /^Version/ }).getByText('Default (2)').waitFor();
  await page.getByRole('button', { name: /^Availability Zones and subnets/ }).click();
  for (const s of subnets) await page.getByRole('option', { name: new RegExp(s) }).click();
  await page.keyboard.press('Escape');
  await page.getByLabel('Desired capacity', { exact: true }).fill('2');
  await page.getByLabel('Max desired capacity').fill('3');
  await page.getByRole('button', { name: 'Create Auto Scaling group' }).click();
  await page.getByText('Created Auto Scaling group console-asg.').waitFor();
  const [group] = await groups();
  assert.deepEqual([group?.AutoScalingGroupName, group?.DesiredCapacity, group?.MinSize, group?.MaxSize,
    group?.LaunchTemplate?.LaunchTemplateName, group?.LaunchTemplate?.Version],
    ['console-asg', 2, 1, 3, 'console-web', '$Default']);
  assert.deepEqual(group!.VPCZoneIdentifier!.split(',').sort(), [...subnets].sort());

  // The page polls while the group scales: both instances InService in Instance management, the launches in Activity.
  await row('console-asg').getByRole('radio').check();
  await page.getByRole('tab', { name: 'Instance management' }).click();
  const panel = page.getByRole('tabpanel');
  await count(panel.getByRole('row').filter({ hasText: 'InService' }), 2, 'two instances InService in the page');
  await panel.getByRole('row').filter({ hasText: 'HEALTHY' }).first().waitFor();
  const members = (await groups())[0]!.Instances!;
  assert.deepEqual(members.map((i) => i.LifecycleState), ['InService', 'InService']);
  const running = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: members.map((i) => i.InstanceId!) }))).Reservations!.flatMap((r) => r.Instances!);
  assert.deepEqual(running.map((i) => [i.State?.Name, i.InstanceType]), [['running', 't3.small'], ['running', 't3.small']]);
  await clearFlashes();
  await shot('auto-scaling-groups');
  await page.getByRole('tab', { name: 'Activity' }).click();
  await count(panel.getByRole('row').filter({ hasText: /Launching a new EC2 instance: i-/ }).filter({ hasText: 'Successful' }), 2, 'two successful launches in Activity');
  await panel.getByText(/in response to a difference between desired and actual capacity, increasing the capacity from 0 to 2/).first().waitFor();

  // Edit: desired 1; the group scales in, and the page follows.
  await page.getByRole('button', { name: 'Edit' }).click();
  await dialog.getByLabel('Desired capacity', { exact: true }).fill('1');
  await dialog.getByRole('button', { name: 'Update' }).click();
  await page.getByText('Updated console-asg: desired 1, min 1, max 3.').waitFor();
  assert.equal((await groups())[0]?.DesiredCapacity, 1);
  await count(panel.getByRole('row').filter({ hasText: /Terminating EC2 instance: i-/ }).filter({ hasText: 'Successful' }), 1, 'the scale-in in Activity');
  await page.getByRole('tab', { name: 'Instance management' }).click();
  await count(panel.getByRole('row').filter({ hasText: /i-[0-9a-f]+/ }), 1, 'one instance left in the page');
  await until('one member left', async () => (await groups())[0]?.Instances?.length === 1, 60_000, 250);
  const left = (await groups())[0]!.Instances![0]!.InstanceId!;
  assert.deepEqual((await liveInstances()).map((i) => i.InstanceId).sort(), [launched, left].sort(), 'the scaled-in instance is gone');

  // Start instance refresh (minimum healthy 50%, no warmup): the one instance is replaced, and the refresh ends Successful.
  await page.getByRole('tab', { name: 'Instance refresh' }).click();
  await panel.getByRole('button', { name: 'Start instance refresh' }).click();
  await dialog.getByLabel('Minimum healthy percentage').fill('50');
  await dialog.getByLabel('Instance warmup').fill('0');
  await dialog.getByRole('button', { name: 'Start instance refresh' }).click();
  const refreshId = /[0-9a-f-]{36}/.exec(await page.getByText(/^Started instance refresh [0-9a-f-]+ of console-asg\.$/).innerText())![0];
  const refreshRow = panel.getByRole('row').filter({ hasText: refreshId });
  for (let i = 0; i < 120 && !(await refreshRow.getByText('Successful').isVisible()); i++) {
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh instance refreshes' }).click();
  }
  await refreshRow.getByText('100%').waitFor({ timeout: 1000 });
  const [refresh] = (await scaling.send(new asg.DescribeInstanceRefreshesCommand({ AutoScalingGroupName: 'console-asg' }))).InstanceRefreshes!;
  assert.deepEqual([refresh?.InstanceRefreshId, refresh?.Status, refresh?.Preferences?.MinHealthyPercentage], [refreshId, 'Successful', 50]);
  const fresh = await until('the replacement InService', async () => {
    const now = (await groups())[0]!.Instances!;
    return now.length === 1 && now[0]!.InstanceId !== left && now[0]!.LifecycleState === 'InService' && now[0]!.InstanceId!;
  }, 60_000, 250);

  // Delete (forced, typed confirmation): the group goes with its instance.
  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByLabel('Confirm deletion').fill('delete');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Deleting console-asg and terminating its instances.').waitFor();
  await row('console-asg').waitFor({ state: 'detached', timeout: LONG.timeout });
  assert.deepEqual(await groups(), []);
  await until('the group\'s instances terminated', async () => !(await liveInstances()).some((i) => i.InstanceId === left || i.InstanceId === fresh), 60_000, 250);

  // Delete template (typed confirmation), both of them.
  await page.getByRole('link', { name: 'Launch Templates' }).click();
  for (const name of ['console-web', 'from-instance']) {
    await row(name).getByRole('radio').check();
    await pickAction('Delete template');
    await dialog.getByLabel('Confirm deletion').fill('Delete');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText(new RegExp(`^Deleted launch template ${name} \\(lt-\\w+\\)\\.$`)).waitFor();
    await row(name).waitFor({ state: 'detached' });
  }
  assert.deepEqual(await templates(), []);
  assert.deepEqual(errors, []);
});

test('the server\'s errors are flash messages with their codes: a duplicate template name', { skip, timeout: 120_000 }, async () => {
  const dialog = page.getByRole('dialog');
  await page.getByRole('link', { name: 'Launch Templates' }).click();
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByLabel('Launch template name').fill('twice');
  await choose(/^Amazon Machine Image/, /kiln-minimal-/);
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByText(/^Created launch template twice/).waitFor();
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByLabel('Launch template name').fill('twice');
  await choose(/^Amazon Machine Image/, /kiln-minimal-/);
  await page.getByRole('button', { name: 'Create launch template' }).click();
  await page.getByText('InvalidLaunchTemplateName.AlreadyExistsException', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await row('twice').getByRole('radio').check();
  await pickAction('Delete template');
  await dialog.getByLabel('Confirm deletion').fill('Delete');
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await row('twice').waitFor({ state: 'detached' });
  assert.deepEqual(await templates(), []);
});
