/**
 * The browser side of test/console.test.ts: the steps a user takes in the web console (sign in, pick an ownership
 * filter, launch from the selected AMI, read a system log ...), driven with playwright-core over one page.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DescribeInstancesCommand, EC2Client, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { KilnProcess } from './harness.js';
import { spawnKiln, until } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the README's screenshots go. */
export const SHOTS = 'docs/console';
export const LONG = { timeout: 120_000 };

let page: Page;
let kiln: KilnProcess;

let browser: Browser | undefined;

/** Starts `kiln serve` over `dataDir` and a chromium page on it, which the steps below act on. */
export async function openConsole(dataDir: string): Promise<{ kiln: KilnProcess; page: Page }> {
  const k = await spawnKiln(dataDir);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const p = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  p.setDefaultTimeout(30_000);
  useBrowser(p, k);
  return { kiln: k, page: p };
}

/** Closes the browser, terminates every instance the default account still has, and stops the server (whatever fails on the way). */
export async function closeConsole(): Promise<void> {
  try {
    await browser?.close();
    if (kiln) await terminateAll(kiln);
  } finally {
    await kiln?.stop();
  }
}

/** The page and server the steps below act on. */
export function useBrowser(p: Page, k: KilnProcess): void {
  page = p;
  kiln = k;
}

export async function signIn(id: string, secret: string): Promise<void> {
  await page.goto(kiln.endpoint);
  await page.getByLabel('Access key ID').fill(id);
  await page.getByLabel('Secret access key').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Amazon Machine Images/ }).waitFor();
}

export async function signOut(): Promise<void> {
  await page.getByRole('button', { name: /^Account \d+/ }).click();
  await page.getByRole('menuitem', { name: 'Sign out' }).click();
  await page.getByLabel('Access key ID').waitFor();
}

export async function scope(label: string): Promise<void> {
  await page.getByRole('button', { name: /Ownership/ }).click();
  await page.getByRole('option', { name: label }).click();
}

export const row = (text: string | RegExp) => page.getByRole('row').filter({ hasText: text });

export async function shot(name: string, fullPage = false): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

/** Launches from the AMI selected on the AMIs page; returns the new instance's id once it is running. */
export async function launchSelected(userData: string, screenshot?: string, more?: () => Promise<void>): Promise<string> {
  await page.getByRole('button', { name: 'Launch instance from AMI' }).click();
  await page.getByRole('heading', { name: 'Launch an instance' }).waitFor();
  await page.getByLabel('Name', { exact: true }).fill('console-web');
  if (userData) await page.getByLabel('User data').fill(userData);
  await more?.();
  await page.getByText(/t3\.micro · \d+ vCPU/).first().waitFor();
  if (screenshot) await shot(screenshot, true);
  await page.getByRole('button', { name: 'Launch instance' }).click();
  const alert = page.getByTestId('launched');
  const id = /i-[0-9a-f]+/.exec(await alert.innerText({ timeout: 60_000 }))![0];
  await alert.getByRole('link', { name: id }).click();
  await row(id).getByText('running').waitFor(LONG);
  return id;
}

/** A call to the admin API with the server's admin token (as the `kiln` admin commands make); its JSON. */
export async function admin(method: string, path: string, body: unknown, status: number): Promise<any> {
  const token = (await readFile(join(kiln.output().match(/data in ([^)]+)\)/)![1]!, 'admin-token'), 'utf8')).trim();
  const res = await fetch(`${kiln.endpoint}/_kiln/admin/${path}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(res.status, status, await res.clone().text());
  return res.json();
}

/** A new account through the admin API (as `kiln accounts create` does); its access key. */
export async function createAccount(id: string, alias?: string): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  return ((await admin('POST', 'accounts', { id, alias }, 201)) as { accessKey: { accessKeyId: string; secretAccessKey: string } }).accessKey;
}

/** Actions > `name` on the page's table. */
export async function pickAction(name: string): Promise<void> {
  await page.getByRole('button', { name: 'Actions' }).click();
  await page.getByRole('menuitem', { name }).click();
}

/** Instances > (select id) > Actions > Monitor and troubleshoot > Get system log, refreshed until it shows `text`; the log. */
export async function systemLog(id: string, text: string): Promise<string> {
  await row(id).getByRole('radio').check();
  await page.getByRole('button', { name: 'Actions' }).click();
  await page.getByRole('menuitem', { name: 'Monitor and troubleshoot' }).click();
  await page.getByRole('menuitem', { name: 'Get system log' }).click();
  const log = page.getByTestId('system-log');
  for (let i = 0; i < 30 && !(await log.innerText()).includes(text); i++) {
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh' }).last().click();
  }
  const out = await log.innerText();
  await page.getByRole('button', { name: 'Close' }).click();
  return out;
}


/** Terminates every instance the default account has on `k` and waits until they are gone (instances outlive the server, as a user's must). */
export async function terminateAll(k: KilnProcess): Promise<void> {
  const ec2 = new EC2Client({ endpoint: k.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const ids = async () => ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? [])
    .filter((i) => i.State?.Name !== 'terminated').map((i) => i.InstanceId!);
  const live = await ids();
  if (live.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: live }));
  await until('the instances to terminate', async () => (await ids()).length === 0, 120_000, 500);
}

/**
 * Dismisses the flash messages before a screenshot: best effort (a click the page swallows is tried again, for up to
 * 15 s; what is left then stays in the picture), since nothing is asserted on it.
 */
export async function clearFlashes(): Promise<void> {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const dismiss = page.getByRole('button', { name: 'Dismiss', exact: true });
  const deadline = Date.now() + 15_000;
  for (let n = await dismiss.count(); n > 0 && Date.now() < deadline; n = await dismiss.count()) {
    await dismiss.first().click({ force: true, timeout: 2000 }).catch(() => undefined);
    await until('the flash message to go', async () => (await dismiss.count()) < n, 2000, 50).catch(() => undefined);
  }
  await page.emulateMedia({ reducedMotion: null });
}

/** Why a console test cannot run here (for node:test's `skip`), or false; `needs`: what else than chromium and the built console it takes. */
export async function consoleSkip(...needs: Parameters<typeof skipUnless>): Promise<string | false> {
  return await skipUnless(...(needs.length ? needs : ['instances', 'build'] as const))
    || skipOrFail(!existsSync(CHROMIUM) && `${CHROMIUM} is absent (Debian package chromium)`)
    || skipOrFail(!existsSync('dist-console/index.html') && 'the console is not built: run `npm run setup`');
}
