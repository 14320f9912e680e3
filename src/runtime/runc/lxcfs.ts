/**
 * lxcfs (Debian package lxcfs): a FUSE filesystem whose proc files answer
 * for the cgroup of the process that reads them, so `free`, `top` and
 * /proc/meminfo inside an instance show its instance type's memory, not the
 * host's. Its proc files are bind-mounted over the instance's /proc/<file>.
 *
 * One lxcfs serves every Kiln server of the host, at LXCFS_DIR (not the
 * host's own /var/lib/lxcfs, so a host-wide lxcfs service is left alone):
 * started by the first instance start that finds none, detached, and left
 * running when the server stops, since its instances keep running too (as
 * their shims do). One that died (its mount no longer answers) is unmounted
 * and started again. Without lxcfs an instance still starts, with the host's
 * figures in its /proc; `kiln doctor` says so.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, findExecutable, mountAt } from './host.js';

/** Where Kiln's lxcfs is mounted. */
export const LXCFS_DIR = '/run/kiln-lxcfs';
/** The proc files lxcfs answers per cgroup that an instance sees in place of the host's. */
export const LXCFS_PROC_FILES = ['meminfo', 'cpuinfo', 'stat', 'uptime', 'loadavg', 'diskstats', 'swaps'];

/** Whether an lxcfs answers at `dir`. */
async function answers(dir: string): Promise<boolean> {
  return readFile(`${dir}/proc/meminfo`, 'utf8').then((t) => t.startsWith('MemTotal:'), () => false);
}

let starting: Promise<string | undefined> | undefined;

/** The lxcfs mount to bind from (started if need be), or undefined when lxcfs cannot run here. */
export function ensureLxcfs(dir = LXCFS_DIR): Promise<string | undefined> {
  // One start at a time in this process; another server starting one at the same moment loses on lxcfs's pidfile lock.
  starting ??= startLxcfs(dir).finally(() => { starting = undefined; });
  return starting;
}

async function startLxcfs(dir: string): Promise<string | undefined> {
  if (await answers(dir)) return dir;
  const lxcfs = await findExecutable('lxcfs');
  if (!lxcfs || process.getuid?.() !== 0) return undefined;
  // A mount whose daemon died answers ENOTCONN: it goes first.
  if (await mountAt(dir)) await exec(await findExecutable('umount') ?? 'umount', ['-l', dir]).catch(() => undefined);
  await mkdir(dir, { recursive: true });
  const child = spawn(lxcfs, ['-f', '-p', `${dir}.pid`, dir], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  for (let i = 0; i < 100; i++) {
    if (await answers(dir)) return dir;
    if (child.exitCode !== null && !(await mountAt(dir))) break;
    await sleep(50);
  }
  return (await answers(dir)) ? dir : undefined;
}

/** For `kiln doctor`: whether instances see their own memory in /proc, in one line. */
export async function lxcfsReport(): Promise<string> {
  if (await answers(LXCFS_DIR)) return `lxcfs: running at ${LXCFS_DIR}; /proc/meminfo in an instance shows its instance type's memory`;
  const lxcfs = await findExecutable('lxcfs');
  if (lxcfs) return `lxcfs: ${lxcfs}, started at ${LXCFS_DIR} by the first instance start; /proc/meminfo in an instance shows its instance type's memory`;
  return "note: lxcfs is missing: /proc/meminfo and `free` inside an instance show the host's memory, not its instance type's (apt-get install lxcfs)";
}

/** The OCI mounts that put lxcfs's proc files over the instance's. */
export function lxcfsMounts(dir: string): Array<Record<string, unknown>> {
  return LXCFS_PROC_FILES.map((f) => ({ destination: `/proc/${f}`, type: 'bind', source: `${dir}/proc/${f}`, options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'] }));
}
