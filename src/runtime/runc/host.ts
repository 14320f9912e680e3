/**
 * Host plumbing the runc driver is built on: running host commands with
 * readable errors, runc's own output, the host tools and the cgroup layout
 * (the mount table and file lookups come from lib/host-files.ts). Nothing
 * here knows about instances.
 */
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { exists, findExecutable, isExecutable } from '../../lib/host-files.js';
import type { CgroupLayout } from './oci-config.js';

const execFileP = promisify(execFile);

/** A host command (runc, mount, ...) failed; `stderr` is what it printed, e.g. runc's error text. */
export class HostCommandError extends Error {
  readonly code = 'RuntimeCommandFailed';
  constructor(message: string, readonly command: string[], readonly stderr: string) {
    super(message);
  }
}

export async function exec(file: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP(file, args, { timeout: 120_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const stderr = readableStderr(e.stderr ?? '');
    throw new HostCommandError(`${basename(file)} ${args.join(' ')} failed: ${stderr || e.message}`, [file, ...args], stderr);
  }
}

/** runc logs as `time="..." level=error msg="..."`; the msg values are the readable part. */
export function readableStderr(stderr: string): string {
  const msgs = [...stderr.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => {
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1];
    }
  });
  return msgs.length ? msgs.join('; ') : stderr.trim();
}

export async function runcLogErrors(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const msgs: string[] = [];
  for (const line of text.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) msgs.push(entry.msg);
    } catch {
      // not a JSON line
    }
  }
  return msgs.join('; ');
}

export function isNotExist(err: unknown): boolean {
  return err instanceof HostCommandError && /does not exist/.test(err.stderr);
}

export type { MountEntry } from '../../lib/host-files.js';
export { exists, findExecutable, isExecutable, loopBackingFile, mountAt, mounts, mountsUnder, realpathOrNull } from '../../lib/host-files.js';

/** Host tools the driver runs, with the Debian package that ships each and what it is for. */
export const TOOLS = {
  runc: ['runc', 'it runs instances'],
  mount: ['mount', 'it mounts volumes'],
  umount: ['mount', 'it unmounts volumes'],
  losetup: ['mount', 'volumes are mounted over loop devices'],
  fsfreeze: ['util-linux', 'it freezes filesystems for no-reboot images'],
  nsenter: ['util-linux', "it configures an instance's network namespace"],
  ip: ['iproute2', "it brings up an instance's loopback interface"],
  sync: ['coreutils', 'it flushes volumes before unmounting'],
  'mkfs.ext4': ['e2fsprogs', 'it formats volumes'],
  python3: ['python3', "it runs each instance's console and exit-status shim (libexec/kiln-shim.py)"],
  resize2fs: ['e2fsprogs', 'it grows the filesystems of volumes in use'],
  e2fsck: ['e2fsprogs', 'it checks the filesystem of each volume before mounting it'],
} as const;
export type Tool = keyof typeof TOOLS;

/** The host's cgroup layout: v2 when /sys/fs/cgroup is one cgroup2 hierarchy, else v1 (hybrid when cgroup2 is at unified/). */
export async function cgroupLayout(): Promise<CgroupLayout> {
  if (await exists('/sys/fs/cgroup/cgroup.controllers')) return { version: 2, unified: true };
  return { version: 1, unified: await exists('/sys/fs/cgroup/unified/cgroup.controllers') };
}

/** What `runc state` / `runc list` report for one container. */
export interface RuncContainer {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
}

/** What this host lacks to run instances (root, the tools, loop devices), each with how to fix it; `runcPath`: a runc set by option. */
export async function hostProblems(runcPath?: string): Promise<string[]> {
  const problems: string[] = [];
  if (process.getuid && process.getuid() !== 0) {
    problems.push('Kiln is not running as root: mounting volumes and running instances needs root (run the server as root).');
  }
  for (const tool of Object.keys(TOOLS) as Tool[]) {
    const [pkg, why] = TOOLS[tool];
    if (tool === 'runc' && runcPath) {
      if (!(await isExecutable(runcPath))) problems.push(`runc was not found at ${runcPath}: ${why} (install it, or apt-get install runc and drop the runc path setting).`);
    } else if (!(await findExecutable(tool))) {
      problems.push(`${tool} is missing: ${why} (apt-get install ${pkg}).`);
    }
  }
  if (!(await access('/dev/loop-control').then(() => true, () => false))) {
    problems.push('/dev/loop-control is missing: volumes are mounted over loop devices (load the loop kernel module: modprobe loop).');
  }
  return problems;
}

