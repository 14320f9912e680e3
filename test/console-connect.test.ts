/**
 * Instances > Connect in a real browser (playwright-core driving Debian's chromium) against `kiln serve` from the
 * package's bin: sign in, an instance launched from the catalog image (through the SDK), select it, Connect; the
 * terminal (xterm.js) on the Connect page runs what is typed in the instance and shows its output; leaving the page
 * ends the shell. Saves docs/console/connect.png.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { tempDirs } from './temp.js';
import { closeConsole, consoleSkip, LONG, openConsole, row, shot, signIn } from './console-browser.js';

const skip = await consoleSkip();

let kiln: KilnProcess | undefined;
let page: Page;
let ec2: EC2Client;
after(closeConsole);
const tmp = tempDirs('kiln-console-connect-');

before(async () => {
  if (skip) return;
  ({ kiln, page } = await openConsole(join(await tmp(), 'data')));
  ec2 = new EC2Client({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});

test('Instances > Connect: a terminal in the page runs commands in the instance', { skip, timeout: 300_000 }, async () => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({
    ImageId: image, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'console-connect' }] }],
  }));
  const id = Instances[0]!.InstanceId!;

  await signIn('test', 'test');
  await page.getByRole('link', { name: 'Instances' }).click();
  await row(id).getByText('running').waitFor(LONG);
  await row(id).getByRole('radio').check();
  await page.getByRole('button', { name: 'Connect', exact: true }).click();
  await page.waitForURL(`**/connect/${id}`);
  await page.getByText('Connected', { exact: true }).waitFor();

  const terminal = page.getByTestId('terminal');
  await terminal.click();
  await page.keyboard.type('echo "made in $(cat /run/kiln/instance-id): $((6*7))"');
  await page.keyboard.press('Enter');
  await terminal.getByText(new RegExp(`made in ${id}:\\s42`)).first().waitFor();
  await page.keyboard.type('ls /');
  await page.keyboard.press('Enter');
  await terminal.getByText(/\bbin\b/).first().waitFor();
  await shot('connect');

  // Typing `exit` ends the shell, and the page says the session closed.
  await page.keyboard.type('exit');
  await page.keyboard.press('Enter');
  await page.getByText('Session closed', { exact: true }).waitFor();
  // Reconnect opens a new session.
  await page.getByRole('button', { name: 'Reconnect' }).click();
  await page.getByText('Connected', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Back to instances' }).click();
  await row(id).waitFor();
  assert.deepEqual(errors, []);
});
