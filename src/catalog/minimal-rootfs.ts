/**
 * Kiln's minimal image, built from real bits on the host: Debian's
 * busybox-static as the whole userland, plus Kiln's guest init (guest-init.ts)
 * as /sbin/init, made into an ext4 volume file with `mkfs.ext4 -d`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../lib/host-files.js';
import { GUEST_INIT } from './guest-init.js';

const execFileP = promisify(execFile);
const GIB = 1024 ** 3;

/** Where Debian's busybox-static puts its binary. */
export const BUSYBOX_PATH = '/bin/busybox';

// Every directory the tree has, parents first: their modes are the guest's, whatever the umask of `kiln serve` (077).
const DIRS: Array<[string, number]> = [
  ['bin', 0o755], ['sbin', 0o755], ['usr', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755], ['etc', 0o755], ['root', 0o700],
  ['home', 0o755], ['tmp', 0o1777], ['var', 0o755], ['var/lib', 0o755], ['var/lib/cloud', 0o755], ['var/log', 0o755], ['var/tmp', 0o1777],
  ['proc', 0o555], ['sys', 0o555], ['dev', 0o755], ['run', 0o755], ['mnt', 0o755],
];

const FILES: Array<[string, string, number]> = [
  ['etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n', 0o644],
  ['etc/group', 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n', 0o644],
  ['etc/shadow', 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o600],
  ['etc/hostname', 'kiln-minimal\n', 0o644],
  ['etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n', 0o644],
  ['etc/os-release', 'PRETTY_NAME="Kiln Minimal"\nNAME="Kiln Minimal"\nID=kiln-minimal\nVERSION_ID=1\n', 0o644],
  ['etc/profile', 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nPS1=\'\\u@\\h:\\w\\$ \'\n', 0o644],
];

/**
 * Populates the empty directory `dir` with the minimal userland: /bin/busybox
 * (must be the statically linked busybox-static), a symlink per applet, the
 * /etc basics (passwd, group, shadow with root locked, hostname, hosts,
 * os-release with ID=kiln-minimal), the usual mount points and directories,
 * and the guest init at /sbin/init.
 */
export async function buildMinimalRootfs(dir: string): Promise<void> {
  const busybox = await readFile(BUSYBOX_PATH).catch(() => {
    throw new Error(`${BUSYBOX_PATH} is missing: the minimal image is built from it (apt-get install busybox-static).`);
  });
  if (!isStaticElf(busybox)) {
    throw new Error(`${BUSYBOX_PATH} is dynamically linked and would not run inside the image (apt-get install busybox-static).`);
  }
  await chmod(dir, 0o755); // the guest's /
  for (const [d, mode] of DIRS) {
    await mkdir(join(dir, d), { recursive: true });
    await chmod(join(dir, d), mode);
  }
  await writeFile(join(dir, 'bin/busybox'), busybox);
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const { stdout } = await execFileP(BUSYBOX_PATH, ['--list-full']);
  for (const applet of stdout.split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (applet === 'bin/busybox' || applet === 'sbin/init') continue;
    const link = join(dir, applet);
    await mkdir(dirname(link), { recursive: true });
    // Relative, so the links resolve into this tree when it is inspected from the host too.
    await symlink(relative(dirname(applet), 'bin/busybox'), link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  for (const [file, content, mode] of FILES) {
    await writeFile(join(dir, file), content);
    await chmod(join(dir, file), mode);
  }
  await unlink(join(dir, 'sbin/init')).catch(() => undefined);
  await writeFile(join(dir, 'sbin/init'), GUEST_INIT);
  await chmod(join(dir, 'sbin/init'), 0o755);
}

/**
 * Makes `file` a sparse file of `sizeGiB` GiB holding an ext4 filesystem
 * labelled "root" with the contents of `srcDir` (`mkfs.ext4 -d`). The file
 * appears complete or not at all (built under a temporary name, then renamed).
 */
export async function makeExt4Volume(srcDir: string, file: string, sizeGiB: number): Promise<void> {
  if (!(sizeGiB > 0)) throw new Error(`volume size must be positive, got ${sizeGiB} GiB`);
  const mkfs = await findExecutable('mkfs.ext4');
  if (!mkfs) throw new Error('mkfs.ext4 is missing: it formats volumes (apt-get install e2fsprogs).');
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.truncate(Math.round(sizeGiB * GIB));
    } finally {
      await fh.close();
    }
    await execFileP(mkfs, ['-q', '-F', '-d', srcDir, '-L', 'root', tmp], { maxBuffer: 16 << 20 }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`mkfs.ext4 of ${file} failed: ${err.stderr?.trim() || err.message}`);
    });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** True for an ELF executable without a program interpreter (PT_INTERP), i.e. statically linked. */
function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const phoff = is64 ? Number(le ? buf.readBigUInt64LE(32) : buf.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) return false;
    if (u32(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}
