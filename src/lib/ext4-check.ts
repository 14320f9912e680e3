/**
 * The read-only check every ext4 volume passes before the host's kernel
 * mounts it or e2fsprogs repairs or resizes it. Any account can write a
 * volume's blocks as it likes (the EBS direct APIs, a shared image), and a
 * crafted filesystem is an attack on the host kernel's ext4 driver; `e2fsck
 * -n -f` (user space, read-only) reads all of its metadata first, and a
 * filesystem it finds damaged is refused, never repaired as root. Only a
 * pending journal is replayed (in user space, instead of by the kernel at
 * mount time) and the result checked again, since a volume copied from a
 * running instance or left by a crash has one.
 */
import { execFile } from 'node:child_process';

/** A volume whose filesystem the host will not mount; the message names the device, never a host path. */
export class DamagedFilesystemError extends Error {}

interface Outcome { code: number; out: string }

function e2fsck(tool: string, args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(tool, args, { maxBuffer: 4 * 1024 * 1024, timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 8) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/**
 * Resolves when the unmounted ext4 in `file` checks clean; throws
 * DamagedFilesystemError naming `what` (e.g. "the volume at /dev/xvdf")
 * otherwise. `tool` is the e2fsck to run.
 */
export async function checkExt4(tool: string, file: string, what: string): Promise<void> {
  let r = await e2fsck(tool, ['-n', '-f', file]);
  if (/skipping journal recovery/.test(r.out)) {
    await e2fsck(tool, ['-E', 'journal_only', '-p', file]);
    r = await e2fsck(tool, ['-n', '-f', file]);
  }
  if (r.code !== 0) {
    throw new DamagedFilesystemError(`${what} does not hold a sound ext4 filesystem (e2fsck -n found errors, exit ${r.code}); Kiln does not mount it`);
  }
}
