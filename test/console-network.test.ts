/**
 * The console's Network & Security pages in a real browser (playwright-core driving Debian's chromium) against
 * `kiln serve` started from the package's bin, checked against what the server then holds (the SDK): create a
 * security group with an HTTP rule from a CIDR block and an SSH rule from another group; its rules; Edit inbound
 * rules (one removed, one added) leaves the server exactly those rules; deleting a group another group's rule names
 * (DependencyViolation) and the default group (CannotDelete) show AWS's codes; delete the groups. Then Import key
 * pair, from a file ssh-keygen made and pasted, whose fingerprint is the server's. Launches no instance.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { DescribeKeyPairsCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { until } from './harness.js';
import { tempDirs } from './temp.js';
import { closeConsole, consoleSkip, openConsole, row, shot, signIn } from './console-browser.js';

const skip = await consoleSkip('build');

let kiln: KilnProcess;
let page: Page;
let ec2: EC2Client;
const errors: string[] = [];
after(closeConsole);
const tmp = tempDirs('kiln-console-network-');

before(async () => {
  if (skip) return;
  ({ kiln, page } = await openConsole(join(await tmp(), 'data')));
  ec2 = new EC2Client({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  page.on('pageerror', (e) => errors.push(e.message));
  await signIn('test', 'test');
});

const dialog = () => page.getByRole('dialog');

/** Picks `option` in the dialog's `nth` select whose name has `label` (case-sensitive: 'Type' is not 'Source type'): a Cloudscape Select, a button then a listbox. */
async function choose(label: string, option: string | RegExp, nth = -1): Promise<void> {
  await dialog().getByRole('button', { name: new RegExp(label) }).nth(nth).click();
  await page.getByRole('option', { name: option, exact: typeof option === 'string' }).click();
}

/** A group's inbound rules as the server holds them, each as "protocol from-to peer". */
async function inbound(groupId: string): Promise<string[]> {
  const out = await ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }));
  return (out.SecurityGroupRules ?? []).filter((r) => !r.IsEgress)
    .map((r) => `${r.IpProtocol} ${r.FromPort}-${r.ToPort} ${r.CidrIpv4 ?? r.ReferencedGroupInfo?.GroupId}`).sort();
}

const groupId = async (name: string) =>
  (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }))).SecurityGroups![0]!.GroupId!;

/** Security groups > (select name) > Delete security group > Delete: the flash message it ends with. */
async function deleteGroup(name: string, answer: string | RegExp): Promise<void> {
  await row(name).getByRole('radio').check();
  await page.getByRole('button', { name: 'Delete security group' }).click();
  await dialog().getByRole('button', { name: 'Delete' }).click();
  await page.getByText(answer).first().waitFor();
}

test('security groups: create with rules from a CIDR and a group, edit inbound rules, tags, delete (and AWS\'s codes when it cannot)', { skip, timeout: 300_000 }, async () => {
  await page.getByRole('link', { name: 'Security groups' }).click();
  await row('default VPC security group').waitFor();

  await page.getByRole('button', { name: 'Create security group' }).click();
  await dialog().getByLabel('Security group name').fill('console-admins');
  await dialog().getByLabel('Security group description').fill('the admins\' hosts');
  await dialog().getByRole('button', { name: 'Create security group' }).click();
  await page.getByText(/^Created security group sg-\w+ \(console-admins\)/).waitFor();
  const admins = await groupId('console-admins');

  await page.getByRole('button', { name: 'Create security group' }).click();
  await dialog().getByRole('button', { name: /^VPC/ }).getByText(/^vpc-/).waitFor();
  await dialog().getByLabel('Security group name').fill('console-web');
  await dialog().getByLabel('Security group description').fill('web servers');
  await dialog().getByRole('button', { name: 'Add rule' }).first().click();
  await choose('Type', 'HTTP', 0);
  await dialog().getByLabel('Source CIDR block').fill('203.0.113.0/24');
  await dialog().getByRole('button', { name: 'Add rule' }).first().click();
  await choose('Source type', 'Security group', 1);
  await choose('Source security group', new RegExp(admins));
  await dialog().getByLabel('Rule description').nth(1).fill('from the admins');
  await dialog().getByRole('button', { name: 'Add new tag' }).click();
  await dialog().getByLabel('Tag key').fill('Name');
  await dialog().getByLabel('Tag value').fill('web-tier');
  await dialog().getByRole('button', { name: 'Create security group' }).click();
  await page.getByText(/^Created security group sg-\w+ \(console-web\)/).waitFor();
  const web = await groupId('console-web');
  assert.deepEqual(await inbound(web), [`tcp 22-22 ${admins}`, 'tcp 80-80 203.0.113.0/24']);

  const webRow = row(web);
  await webRow.getByText('2 Permission entries').waitFor();
  await webRow.getByText('web-tier').waitFor();
  await webRow.getByRole('radio').check();
  await page.getByRole('tab', { name: 'Inbound rules' }).click();
  const inRules = page.getByRole('table', { name: 'Inbound rules' });
  await inRules.getByRole('cell', { name: '203.0.113.0/24' }).waitFor();
  await inRules.getByRole('cell', { name: admins }).waitFor();
  await inRules.getByRole('cell', { name: 'from the admins' }).waitFor();
  await inRules.getByRole('cell', { name: 'HTTP', exact: true }).waitFor();

  // Edit inbound rules: the HTTP rule removed, HTTPS from 10.0.0.0/8 added.
  await page.getByRole('button', { name: 'Edit inbound rules' }).click();
  await dialog().getByRole('button', { name: 'Delete' }).first().click();
  await dialog().getByRole('button', { name: 'Add rule' }).click();
  await choose('Type', 'HTTPS');
  await dialog().getByLabel('Source CIDR block').last().fill('10.0.0.0/8');
  await dialog().getByRole('button', { name: 'Save rules' }).click();
  await page.getByText(`Saved the inbound rules of ${web}.`).waitFor();
  assert.deepEqual(await inbound(web), [`tcp 22-22 ${admins}`, 'tcp 443-443 10.0.0.0/8']);
  await inRules.getByRole('cell', { name: '10.0.0.0/8' }).waitFor();
  await inRules.getByRole('cell', { name: '203.0.113.0/24' }).waitFor({ state: 'detached' });
  await shot('security-groups', true);
  await page.getByRole('tab', { name: 'Outbound rules' }).click();
  const outRules = page.getByRole('table', { name: 'Outbound rules' });
  await outRules.getByRole('cell', { name: 'All traffic' }).waitFor();
  await outRules.getByRole('cell', { name: '0.0.0.0/0' }).waitFor();

  await page.getByRole('tab', { name: 'Tags' }).click();
  await page.getByRole('button', { name: 'Manage tags' }).click();
  await dialog().getByRole('button', { name: 'Add new tag' }).click();
  await dialog().getByLabel('Tag key').last().fill('team');
  await dialog().getByLabel('Tag value').last().fill('platform');
  await dialog().getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText(`Tags of ${web} saved.`).waitFor();
  await page.getByRole('cell', { name: 'platform' }).waitFor();

  // What the server refuses is a flash message with AWS's code; the dialog stays for Cancel.
  await deleteGroup('console-admins', /^DependencyViolation/);
  await dialog().getByRole('button', { name: 'Cancel' }).click();
  await deleteGroup('default VPC security group', /^CannotDelete/);
  await dialog().getByRole('button', { name: 'Cancel' }).click();

  await deleteGroup(web, `Deleted security group ${web} (console-web).`);
  await row(web).waitFor({ state: 'detached' });
  await deleteGroup('console-admins', `Deleted security group ${admins} (console-admins).`);
  const left = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups!.map((g) => g.GroupName);
  assert.deepEqual(left, ['default']);
  assert.deepEqual(errors, []);
});

test('key pairs: import a public key from a file and pasted; the fingerprint is the server\'s (and OpenSSH\'s)', { skip, timeout: 120_000 }, async () => {
  const dir = await tmp();
  const key = join(dir, 'console-imported');
  await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'console@test', '-f', key]);
  const openssh = (await promisify(execFile)('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${key}.pub`])).stdout.split(' ')[1]!;

  // Its own page load (the session stays in sessionStorage): whatever the test before left open is gone.
  await page.goto(`${kiln!.endpoint}/key-pairs`);
  await page.getByRole('button', { name: 'Import key pair' }).click();
  await dialog().getByLabel('Key pair name').fill('console-imported');
  await dialog().locator('input[type=file]').setInputFiles(`${key}.pub`);
  await until('the chosen file in the text area', async () => /^ssh-ed25519 \S+ console@test$/.test(await dialog().getByLabel('Public key contents').inputValue()));
  await dialog().getByRole('button', { name: 'Import key pair' }).click();
  await page.getByText(/^Imported key pair console-imported/).waitFor();

  const [k] = (await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['console-imported'] }))).KeyPairs!;
  assert.equal(k!.KeyType, 'ed25519');
  assert.equal(`SHA256:${k!.KeyFingerprint!.replace(/=+$/, '')}`, openssh, 'AWS\'s ED25519 fingerprint is OpenSSH\'s SHA-256, padded');
  await row('console-imported').getByText(k!.KeyFingerprint!).waitFor();

  // Pasted, under another name; then the name again: InvalidKeyPair.Duplicate.
  for (const [name, answer] of [['console-pasted', /^Imported key pair console-pasted/], ['console-pasted', /^InvalidKeyPair\.Duplicate/]] as const) {
    await page.getByRole('button', { name: 'Import key pair' }).click();
    await dialog().getByLabel('Key pair name').fill(name);
    await dialog().getByLabel('Public key contents').fill(await readFile(`${key}.pub`, 'utf8'));
    await dialog().getByRole('button', { name: 'Import key pair' }).click();
    await page.getByText(answer).first().waitFor();
  }
  await dialog().getByRole('button', { name: 'Cancel' }).click();
  await row('console-pasted').getByText(k!.KeyFingerprint!).waitFor();

  await row('console-imported').getByRole('radio').check();
  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog().getByRole('button', { name: 'Delete' }).click();
  await page.getByText('Deleted key pair console-imported.').waitFor();
  assert.deepEqual((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs!.map((x) => x.KeyName), ['console-pasted']);
  assert.deepEqual(errors, []);
});
