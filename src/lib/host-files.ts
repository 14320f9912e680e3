/**
 * Facts about the host's files every layer may ask: the mount table, the
 * file behind a loop device, whether a path exists or is executable, where
 * a command is. Nothing here knows about Kiln.
 */
import { constants } from 'node:fs';
import { access, readFile, realpath } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export interface MountEntry {
  mountPoint: string;
  majorMinor: string;
}

export async function mounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').filter(Boolean).map((line) => {
    const f = line.split(' ');
    return { mountPoint: unescape(f[4]), majorMinor: f[2] };
  });
}

export async function mountAt(path: string): Promise<MountEntry | undefined> {
  const real = await realpathOrNull(path);
  return real ? (await mounts()).find((m) => m.mountPoint === real) : undefined;
}

export async function mountsUnder(dir: string): Promise<MountEntry[]> {
  return (await mounts()).filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`));
}

/** The file behind a loop block device, or undefined when it is not an attached loop device. */
export async function loopBackingFile(majorMinor: string): Promise<string | undefined> {
  return readFile(`/sys/dev/block/${majorMinor}/loop/backing_file`, 'utf8').then((t) => t.trim(), () => undefined);
}

export async function realpathOrNull(path: string): Promise<string | null> {
  return realpath(path).catch(() => null);
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

export async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

/** Finds a command on PATH, also looking in the sbin directories a non-root PATH often lacks. */
export async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await isExecutable(path)) return path;
  }
  return undefined;
}

