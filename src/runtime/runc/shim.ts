/**
 * The instance's shim (libexec/kiln-shim.py): `runc create` run through it,
 * so that the console pty is copied to the console log and init's end is
 * recorded, by a process that outlives the server. And what init's end and
 * the guest's root filesystem say about stopping it and its resolver file.
 */
import { spawn } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inRoot } from '../../lib/in-root.js';
import { fileURLToPath } from 'node:url';
import { HostCommandError, runcLogErrors } from './host.js';

/** libexec/ sits beside src/ and dist/. */
const SHIM = fileURLToPath(new URL('../../../libexec/kiln-shim.py', import.meta.url));
/** SIGRTMIN+3: systemd's "halt" (PID 1 systemd ignores SIGTERM; runc 1.1 knows no RTMIN names). */
const SYSTEMD_HALT = '37';
/** How init ends when the guest reboots (reboot(2) in a pid namespace ends it by SIGHUP; poweroff and halt by SIGINT). */
export const GUEST_REBOOT = 'signal 1';

export interface ShimRun {
  python: string;
  /** runc and its arguments, `create` among them (the shim adds --console-socket and --pid-file). */
  runc: string[];
  consoleLog: string;
  exitFile: string;
  runcLog: string;
  id: string;
}

/** Runs `runc create` through a new shim; resolves once the container is created (the shim goes on). */
export async function createThroughShim(run: ShimRun): Promise<void> {
  await rm(run.exitFile, { force: true });
  await mkdir(dirname(run.consoleLog), { recursive: true });
  const args = [SHIM, run.consoleLog, run.exitFile, ...run.runc];
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(run.python, args, { stdio: 'ignore', detached: true });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', (err) => { clearTimeout(timer); fail(err); });
    child.once('exit', (exitCode) => { clearTimeout(timer); done(exitCode); });
  });
  if (code !== 0) {
    const stderr = await runcLogErrors(run.runcLog);
    throw new HostCommandError(`${run.id}: ${stderr || `runc create failed with exit code ${code}`}`, [run.python, ...args], stderr);
  }
}

/** How init ended, as the shim wrote it (`exited N`, `signal N`); '' while it runs or when unknown. */
export async function initEnd(exitFile: string): Promise<string> {
  return (await readFile(exitFile, 'utf8').catch(() => '')).trim();
}

/** The signal that asks the instance's init to shut down: systemd's halt, or SIGTERM for a simple init. */
export async function stopSignal(rootfs: string): Promise<string> {
  // /sbin/init of a systemd distribution is a symlink to .../systemd (read, never followed; /sbin resolved inside the rootfs).
  const target = await inRoot(rootfs, 'sbin/init').then((p) => readlink(p)).catch(() => '');
  return /(^|\/)systemd$/.test(target) ? SYSTEMD_HALT : 'TERM';
}

/** Whether the guest's /etc/resolv.conf is a plain file or absent (a symlink means the image manages it: Kiln leaves it). */
export async function hasPlainResolvConf(rootfs: string): Promise<boolean> {
  // Resolved as the guest sees its /etc: a guest's /etc symlink leads nowhere on the host.
  return inRoot(rootfs, 'etc/resolv.conf').then((p) => lstat(p)).then((st) => st.isFile(), () => true);
}
