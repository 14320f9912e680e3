/**
 * The root filesystem of Kiln's Debian 12 image, built on the host from
 * Debian's archive with mmdebstrap (the Debian tool for exactly this) and
 * kept in a cache directory outside any data directory, so only the first
 * build on a host downloads anything. Nothing prebuilt ships with Kiln.
 *
 * The cache entry is named by a hash of the recipe (suite, packages, the
 * customize hook's text): a changed recipe builds anew. A build happens in a
 * temporary directory renamed into place at the end, so a crash or an abort
 * never leaves a half-built root filesystem under the final name.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { privateDir } from '../lib/private-files.js';
import { exists, mountsUnder } from '../lib/host-files.js';

const execFileP = promisify(execFile);

export const DEBIAN_SUITE = 'bookworm';

/**
 * What the image holds beyond minbase. mmdebstrap installs no Recommends, so
 * dbus and libpam-systemd (logind for ssh sessions) and netbase (/etc/hosts,
 * /etc/services) are named; curl is what users and the tests reach the
 * metadata service with.
 */
export const DEBIAN_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'libpam-systemd', 'openssh-server', 'cloud-init', 'sudo', 'iproute2',
  'ca-certificates', 'apt', 'netbase', 'curl',
];

/** The mmdebstrap customize hook (what makes the tree boot under runc as an instance). */
export const CUSTOMIZE_HOOK = fileURLToPath(new URL('../../libexec/kiln-debian-customize.sh', import.meta.url));

/** Where the apt sources for the build come from, unless a setting names another file or a mirror URL. */
const HOST_SOURCES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

export interface RootfsBuild {
  /** The cache directory (e.g. /var/cache/kiln). */
  cacheDir: string;
  /** 'amd64' or 'arm64'. */
  arch: string;
  /** A sources file or mirror URL for mmdebstrap; default: the host's own apt sources. */
  mirror?: string;
  /** Each phase mmdebstrap reports, with a rough percentage of the whole build. */
  onPhase?: (phase: string, percent: number) => void;
  signal?: AbortSignal;
}

/** mmdebstrap's "I: ..." lines, in order, and how far along the build is when each appears. */
const PHASES: Array<[RegExp, number, string]> = [
  [/running apt-get update/, 5, 'reading the Debian archive'],
  [/downloading packages/, 15, 'downloading packages'],
  [/extracting archives/, 35, 'extracting packages'],
  [/installing essential packages/, 45, 'installing essential packages'],
  [/installing remaining packages/, 60, 'installing systemd, openssh-server, cloud-init and the rest'],
  [/customize-hook|customize hook/, 80, 'making the image boot as a Kiln instance'],
  [/cleaning package lists/, 82, 'cleaning up'],
];

/** The cache entry for this recipe: <cacheDir>/debian-12-<arch>/<recipe hash>/rootfs. */
export async function debianRootfsPath(opts: Pick<RootfsBuild, 'cacheDir' | 'arch'>): Promise<string> {
  const hook = await readFile(CUSTOMIZE_HOOK, 'utf8');
  const key = createHash('sha256').update(JSON.stringify({ suite: DEBIAN_SUITE, packages: DEBIAN_PACKAGES, hook })).digest('hex').slice(0, 16);
  return join(opts.cacheDir, `debian-12-${opts.arch}`, key, 'rootfs');
}

/** Returns the cached root filesystem, building it first when the cache has none. */
export async function debianRootfs(opts: RootfsBuild): Promise<{ path: string; cached: boolean }> {
  const path = await debianRootfsPath(opts);
  const entry = join(path, '..');
  // The cache holds nothing secret, but what is in it becomes every Debian instance's disk: no other user may write there.
  for (const dir of [opts.cacheDir, join(entry, '..'), entry]) await privateDir(dir);
  if (await exists(join(path, 'etc/os-release'))) return { path, cached: true };
  const work = join(entry, `rootfs.tmp-${process.pid}-${Date.now()}`);
  try {
    await runMmdebstrap(opts, work);
    await rename(work, path).catch(async (err: NodeJS.ErrnoException) => {
      // Another build (another server on this host) finished first: use that one.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      await removeBuildDir(work);
    });
  } catch (err) {
    await removeBuildDir(work);
    throw err;
  }
  return { path, cached: false };
}

/**
 * Removes a failed build's directory. mmdebstrap mounts /proc, /sys and /dev
 * parts in the tree while it works; an aborted run can leave them, and
 * deleting through them would reach the host's, so they go first.
 */
async function removeBuildDir(dir: string): Promise<void> {
  for (const m of (await mountsUnder(dir)).reverse()) await execFileP('umount', ['-l', m.mountPoint]).catch(() => undefined);
  if (!(await mountsUnder(dir)).length) await rm(dir, { recursive: true, force: true });
}

async function runMmdebstrap(opts: RootfsBuild, dir: string): Promise<void> {
  const mirror = opts.mirror ?? await firstExisting(HOST_SOURCES);
  if (!mirror) {
    throw new Error(`no apt sources to build Debian 12 from: this host has none of ${HOST_SOURCES.join(', ')}; set KILN_DEBIAN_MIRROR to a Debian mirror URL or a sources file`);
  }
  const args = [
    '--variant=minbase', '--mode=root', '--format=directory', `--architectures=${opts.arch}`,
    `--include=${DEBIAN_PACKAGES.join(',')}`,
    `--customize-hook=${CUSTOMIZE_HOOK} "$1"`,
    DEBIAN_SUITE, dir, mirror,
  ];
  const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'ignore', 'pipe'], signal: opts.signal, killSignal: 'SIGTERM' });
  const tail: string[] = [];
  let reached = 0;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const i = PHASES.findIndex(([re]) => re.test(line));
    if (i >= reached) {
      reached = i + 1;
      opts.onPhase?.(PHASES[i][2], PHASES[i][1]);
    }
  });
  const code = await new Promise<number | null>((done, fail) => {
    child.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'ENOENT'
      ? new Error('mmdebstrap is missing: it builds the Debian image from the Debian archive (apt-get install mmdebstrap)')
      : err));
    child.once('close', (c) => done(c));
  });
  if (code !== 0) {
    const errors = tail.filter((l) => /^E: |error/i.test(l));
    throw new Error(`mmdebstrap failed with exit code ${code}: ${(errors.length ? errors : tail.slice(-3)).join(' / ')}`);
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}
