/**
 * Paths inside a guest's root filesystem as the guest would see them: the
 * guest's symlinks are resolved against its root, never against the host's
 * (a guest's `/etc -> /root/x` or `sbin -> ../../..` stays inside). For the
 * host's few looks into a root volume it has mounted (which init it has,
 * whether /etc/resolv.conf is a file); the last component is not followed.
 */
import { lstat, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';

/** Symlinks followed before giving up, as the kernel's limit. */
const MAX_LINKS = 40;

/**
 * The host path of `rel` inside `root`, its directories resolved as the guest
 * sees them; the last component itself is not resolved. Throws ELOOP-like on
 * too many links; a missing directory ends the walk (the rest is appended).
 */
export async function inRoot(root: string, rel: string): Promise<string> {
  const parts = posix.normalize(`/${rel}`).split('/').filter(Boolean);
  const last = parts.pop();
  if (last === undefined) return root;
  const done: string[] = [];
  let links = 0;
  while (parts.length) {
    const name = parts.shift()!;
    if (name === '.') continue;
    if (name === '..') { done.pop(); continue; }
    const st = await lstat(join(root, ...done, name)).catch(() => undefined);
    if (!st?.isSymbolicLink()) {
      done.push(name);
      if (!st) return join(root, ...done, ...parts, last);
      continue;
    }
    if (++links > MAX_LINKS) throw new Error(`too many symbolic links under ${rel}`);
    const target = await readlink(join(root, ...done, name));
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...done, last);
}
