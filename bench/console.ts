/**
 * The web console's figures, each beside an empty Cloudscape page that Vite builds in the same run (the console's
 * index.html shell, global styles, one AppLayout holding a Header, react-dom/client): what Cloudscape and React cost
 * before the console adds anything.
 *
 *   the bundle: the JS and CSS files in dist-console/, raw and gzip'd (node:zlib)
 *       vs the same of the empty page's bundle
 *   page.goto() -> the sign-in form visible, and -> signed in (test/test) with the AMIs table's heading and rows shown,
 *   against a real `kiln serve` (its bin, as a user starts it), in Debian's chromium through playwright-core, each the
 *   median of 5 samples in a fresh browser context (cold cache), and again in a second page of that context (warm)
 *       vs page.goto() -> the empty page's Header visible, served from 127.0.0.1 by node:http with the console's own
 *          handler (src/server/console.ts: the same headers, cache-control and CSP)
 *
 *   node --import tsx bench/run.ts console     (or bench/console.ts alone, or as part of `npm run bench`)
 *
 * Loopback only, and no instances: the account's AMIs are copies of the catalog's minimal image (CopyImage).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CopyImageCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import react from '@vitejs/plugin-react';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { CONSOLE_DIR, serveConsole } from '../src/server/console.js';
import type { KilnProcess } from '../test/harness.js';
import { spawnKiln, until } from '../test/harness.js';
import { CHROMIUM } from '../test/console-browser.js';
import { countRow, median, row } from './common.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SAMPLES = 5;
/** The account's AMIs: one page of the table (its page size is 20). */
const AMIS = 20;

const EMPTY_PAGE = `import '@cloudscape-design/global-styles/index.css';
import { applyMode, Mode } from '@cloudscape-design/global-styles';
import { createRoot } from 'react-dom/client';
import AppLayout from '@cloudscape-design/components/app-layout';
import Header from '@cloudscape-design/components/header';

applyMode(Mode.Light);
createRoot(document.getElementById('root')!).render(
  <AppLayout navigationHide toolsHide content={<Header variant="h1">Empty page</Header>} />,
);
`;

interface Bundle { files: number; raw: number; gzip: number }

/** The JS and CSS files below `dir`: how many, their bytes, and their bytes gzip'd one by one (what a compressing proxy would send; Kiln sends them raw). */
async function bundleSize(dir: string): Promise<Bundle> {
  const names = (await readdir(dir, { recursive: true })).filter((f) => ['.js', '.css'].includes(extname(f)));
  const bodies = await Promise.all(names.map((f) => readFile(join(dir, f))));
  return { files: names.length, raw: bodies.reduce((n, b) => n + b.length, 0), gzip: bodies.reduce((n, b) => n + gzipSync(b).length, 0) };
}

/** Builds the empty Cloudscape page with Vite in `dir` (the console's index.html, the console's React plugin); its output directory. */
async function buildEmptyPage(dir: string): Promise<string> {
  const html = (await readFile(join(ROOT, 'console', 'index.html'), 'utf8')).replace('/src/main.tsx', '/main.tsx');
  await mkdir(dir);
  await writeFile(join(dir, 'index.html'), html);
  await writeFile(join(dir, 'main.tsx'), EMPTY_PAGE);
  // The page's imports resolve in this checkout's node_modules, as the console's do.
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const outDir = join(dir, 'dist');
  await build({ root: dir, base: '/', configFile: false, logLevel: 'error', plugins: [react()], build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 4096 } });
  return outDir;
}

/** Serves `dir` on 127.0.0.1 as `kiln serve` serves dist-console/; its URL and a close(). */
async function serveStatic(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    void serveConsole(req, res, new URL(req.url ?? '/', 'http://127.0.0.1'), dir).then((served) => { if (!served) res.writeHead(404).end(); });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => { server.closeAllConnections(); return new Promise((res) => server.close(() => res())); },
  };
}

/** A page to load and when it counts as shown. */
interface Target { url: string; shown: (page: Page) => Promise<unknown> }

/**
 * For each target, the milliseconds from page.goto(url) to shown(page) returning, median of SAMPLES: cold, each in a
 * fresh browser context; warm, in a second page of that context (its HTTP cache filled, its sessionStorage not
 * shared: signed out). The targets take turns, sample by sample, so a busy moment of the machine falls on all alike.
 */
async function firstRenders(browser: Browser, targets: Target[]): Promise<Array<{ cold: number; warm: number }>> {
  const once = async (page: Page, { url, shown }: Target) => {
    page.setDefaultTimeout(60_000);
    const t = performance.now();
    await page.goto(url, { waitUntil: 'commit' });
    await shown(page);
    return performance.now() - t;
  };
  const samples = targets.map(() => ({ cold: [] as number[], warm: [] as number[] }));
  const elsewhere: string[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    for (const [n, target] of targets.entries()) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      context.on('request', (r) => { if (!/^(data:|http:\/\/127\.0\.0\.1:)/.test(r.url())) elsewhere.push(r.url()); });
      try {
        samples[n]!.cold.push(await once(await context.newPage(), target));
        samples[n]!.warm.push(await once(await context.newPage(), target));
      } finally {
        await context.close();
      }
    }
  }
  // Loopback only: a page that asked for anything else (a font, a CDN) would be measuring that too.
  if (elsewhere.length) throw new Error(`the pages asked for more than 127.0.0.1: ${[...new Set(elsewhere)].join(', ')}`);
  return samples.map((s) => ({ cold: median(s.cold), warm: median(s.warm) }));
}

const signInForm = (page: Page) => page.getByLabel('Access key ID').waitFor();

/** Signs in as the default account and waits for the AMIs table's heading and its AMIS rows (names bench-ami-*). */
async function amisTable(page: Page): Promise<void> {
  await signInForm(page);
  await page.getByLabel('Access key ID').fill('test');
  await page.getByLabel('Secret access key').fill('test');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Amazon Machine Images/ }).waitFor();
  await page.getByRole('row').filter({ hasText: 'bench-ami-' }).nth(AMIS - 1).waitFor();
}

/** AMIS copies of the catalog's minimal image, owned by the default account (the AMIs page shows "Owned by me"). */
async function seedAmis(endpoint: string): Promise<void> {
  const ec2 = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const minimal = await until('the minimal image', async () => (await ec2.send(new DescribeImagesCommand({
    Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }, { Name: 'state', Values: ['available'] }],
  }))).Images?.[0], 300_000, 200);
  for (let i = 0; i < AMIS; i++) {
    await ec2.send(new CopyImageCommand({ SourceImageId: minimal.ImageId, SourceRegion: 'us-east-1', Name: `bench-ami-${i}` }));
  }
  await until('the copies available', async () => {
    const images = (await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? [];
    return images.length === AMIS && images.every((im) => im.State === 'available');
  }, 300_000, 200);
}

export async function consoleBench(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'kiln-bench-console-'));
  let kiln: KilnProcess | undefined;
  let browser: Browser | undefined;
  let empty: { url: string; close: () => Promise<void> } | undefined;
  try {
    kiln = await spawnKiln(join(work, 'data'));
    browser = await (await import('playwright-core')).chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    const emptyDir = await buildEmptyPage(join(work, 'empty'));
    empty = await serveStatic(emptyDir);
    const ours = await bundleSize(CONSOLE_DIR);
    const base = await bundleSize(emptyDir);
    const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
    console.log(`\nconsole: ${ours.files} JS and CSS files in dist-console/; ${base.files} in the empty Cloudscape page's bundle (AppLayout + Header), built in this run`);
    countRow('console bundle, JS + CSS', kib(ours.raw), 'empty Cloudscape page', kib(base.raw), ours.raw / base.raw);
    countRow("  gzip'd", kib(ours.gzip), "empty Cloudscape page, gzip'd", kib(base.gzip), ours.gzip / base.gzip);

    await seedAmis(kiln.endpoint);
    const [floor, form, table] = await firstRenders(browser, [
      { url: empty.url, shown: (page) => page.getByRole('heading', { name: 'Empty page' }).waitFor() },
      { url: kiln.endpoint, shown: signInForm },
      { url: kiln.endpoint, shown: amisTable },
    ]);
    console.log(`  (page.goto() to shown, in chromium; median of ${SAMPLES}; cold: a fresh browser context, warm: its second page)`);
    row('console: sign-in form (cold)', form!.cold, 'empty Cloudscape page (cold)', floor!.cold);
    row('  warm cache', form!.warm, 'empty Cloudscape page (warm)', floor!.warm);
    row(`console: signed in, ${AMIS} AMIs (cold)`, table!.cold, 'empty Cloudscape page (cold)', floor!.cold);
    row('  warm cache', table!.warm, 'empty Cloudscape page (warm)', floor!.warm);
  } finally {
    await browser?.close();
    await empty?.close();
    await kiln?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await consoleBench();
