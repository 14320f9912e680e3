/**
 * The runc runtime driver: each instance is an OCI container run by `runc`
 * over its loop-mounted ext4 root volume.
 *
 * On-disk layout under `stateDir` (all of it re-read after a server restart):
 *
 *   runc/              runc's own state (`runc --root`): which containers exist
 *   <id>/config.json   the OCI config (see oci-config.ts)
 *   <id>/spec.json     the InstanceSpec the instance was last started with (reboot uses it)
 *   <id>/rootfs/       mount point of the root volume (later volumes would mount below it)
 *   <id>/meta/         the metadata files, bind-mounted read-only at /run/kiln inside
 *   <id>/runc.log      runc's own log of the create step (its error text on failure)
 *
 * Containers are created detached with the console log as their stdout and
 * stderr, so they keep running (and logging) when the server process exits.
 * A bundle exists exactly while its instance is started; stop removes it.
 */
import { execFile, spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, realpath, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Revert } from '../revert.js';
import type { InstanceSpec, RuntimeDriver, RuntimeState, VolumeAttachment } from '../runtime.js';
import { RuntimeUnavailableError } from '../runtime.js';
import { ociConfig } from './oci-config.js';

const execFileP = promisify(execFile);

/** A host command (runc, mount, ...) failed; `stderr` is what it printed, e.g. runc's error text. */
export class HostCommandError extends Error {
  readonly code = 'RuntimeCommandFailed';
  constructor(message: string, readonly command: string[], readonly stderr: string) {
    super(message);
  }
}

/** Host tools the driver runs, with the Debian package that ships each and what it is for. */
const TOOLS = {
  runc: ['runc', 'it runs instances'],
  mount: ['mount', 'it mounts volumes'],
  umount: ['mount', 'it unmounts volumes'],
  losetup: ['mount', 'volumes are mounted over loop devices'],
  fsfreeze: ['util-linux', 'it freezes filesystems for no-reboot images'],
  nsenter: ['util-linux', "it configures an instance's network namespace"],
  ip: ['iproute2', "it brings up an instance's loopback interface"],
  sync: ['coreutils', 'it flushes volumes before unmounting'],
  'mkfs.ext4': ['e2fsprogs', 'it formats volumes'],
} as const;
type Tool = keyof typeof TOOLS;

const DEFAULT_GRACE_MS = 10_000;
const POLL_MS = 20;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const META_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

interface Bundle {
  dir: string;
  rootfs: string;
  meta: string;
  config: string;
  spec: string;
  runcLog: string;
}

/** What `runc state` / `runc list` report for one container. */
interface RuncContainer {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
}

export class RuncDriver implements RuntimeDriver {
  readonly name = 'runc';
  private readonly stateDir: string;
  private readonly runcRoot: string;
  private readonly runcPath?: string;
  private readonly toolPaths = new Map<Tool, string>();
  private readonly serial = new Serial();

  /**
   * `stateDir` holds the bundles and runc's state; two drivers over the same
   * stateDir see the same instances. `runcPath` overrides the runc found on PATH.
   */
  constructor(opts: { stateDir: string; runcPath?: string }) {
    this.stateDir = resolve(opts.stateDir);
    this.runcRoot = join(this.stateDir, 'runc');
    this.runcPath = opts.runcPath;
  }

  async check(): Promise<string[]> {
    const problems: string[] = [];
    if (process.getuid && process.getuid() !== 0) {
      problems.push('Kiln is not running as root: mounting volumes and running instances needs root (run the server as root).');
    }
    for (const tool of Object.keys(TOOLS) as Tool[]) {
      const [pkg, why] = TOOLS[tool];
      if (tool === 'runc' && this.runcPath) {
        if (!(await isExecutable(this.runcPath))) problems.push(`runc was not found at ${this.runcPath}: ${why} (install it, or apt-get install runc and drop the runc path setting).`);
      } else if (!(await findExecutable(tool))) {
        problems.push(`${tool} is missing: ${why} (apt-get install ${pkg}).`);
      }
    }
    if (!(await access('/dev/loop-control').then(() => true, () => false))) {
      problems.push('/dev/loop-control is missing: volumes are mounted over loop devices (load the loop kernel module: modprobe loop).');
    }
    return problems;
  }

  start(spec: InstanceSpec): Promise<void> {
    validateSpec(spec);
    return this.serial.run(spec.id, () => this.startNow(spec));
  }

  stop(id: string, graceMs = DEFAULT_GRACE_MS): Promise<void> {
    validateId(id);
    return this.serial.run(id, () => this.stopNow(id, graceMs));
  }

  reboot(id: string, graceMs = DEFAULT_GRACE_MS): Promise<void> {
    validateId(id);
    return this.serial.run(id, async () => {
      const spec = await this.savedSpec(id);
      await this.stopNow(id, graceMs);
      await this.startNow(spec);
    });
  }

  /** 'stopped' also covers leftovers (a dead container, or a bundle still mounted after a host reboot) that stop() cleans up. */
  async state(id: string): Promise<RuntimeState> {
    validateId(id);
    const status = (await this.container(id))?.status;
    if (status === 'running' || status === 'paused') return 'running';
    if (status) return 'stopped';
    return (await exists(this.bundle(id).dir)) ? 'stopped' : 'absent';
  }

  /** When the instance is not running its volumes are not mounted, so `fn` runs without a freeze. `fn` must not start or stop this instance. */
  whileFrozen<T>(id: string, fn: () => Promise<T>): Promise<T> {
    validateId(id);
    return this.serial.run(id, async () => {
      const { rootfs } = this.bundle(id);
      if ((await this.container(id))?.status !== 'running' || !(await mountAt(rootfs))) return fn();
      const fsfreeze = await this.tool('fsfreeze');
      await exec(fsfreeze, ['--freeze', rootfs]);
      try {
        return await fn();
      } finally {
        await exec(fsfreeze, ['--unfreeze', rootfs]);
      }
    });
  }

  /** Empty on a host without runc (nothing can be running there). */
  async list(): Promise<string[]> {
    const out = await this.runc(['list', '--format', 'json']).catch((err: unknown) => {
      if (err instanceof RuntimeUnavailableError) return 'null';
      throw err;
    });
    const containers = (JSON.parse(out || 'null') ?? []) as RuncContainer[];
    return containers.filter((c) => c.status === 'running' || c.status === 'paused').map((c) => c.id);
  }

  private async startNow(spec: InstanceSpec): Promise<void> {
    const root = rootVolume(spec);
    for (const tool of ['runc', 'mount', 'umount', 'nsenter', 'ip'] as const) await this.tool(tool);
    const status = (await this.container(spec.id))?.status;
    if (status === 'running' || status === 'paused') {
      throw new HostCommandError(`instance ${spec.id} is already running`, [], '');
    }
    await this.teardown(spec.id);
    await access(root.path, constants.R_OK | constants.W_OK).catch(() => {
      throw new HostCommandError(`root volume ${root.path} of ${spec.id} does not exist or is not writable`, [], '');
    });
    const b = this.bundle(spec.id);
    const revert = new Revert();
    try {
      revert.add(() => this.removeBundle(b));
      await mkdir(b.rootfs, { recursive: true });
      revert.add(() => this.unmountUnder(b.dir));
      await exec(await this.tool('mount'), ['-t', 'ext4', '-o', 'loop', root.path, b.rootfs]);
      await this.writeBundle(spec, b);
      revert.add(() => this.deleteContainer(spec.id));
      await this.createContainer(spec, b);
      await this.loopbackUp(spec.id);
      await this.runc(['start', spec.id]);
      revert.success();
    } catch (err) {
      const undoFailures = await revert.run();
      if (undoFailures.length && err instanceof Error) {
        err.message += ` (rollback also failed: ${undoFailures.map((e) => e.message).join('; ')})`;
      }
      throw err;
    }
  }

  private async stopNow(id: string, graceMs: number): Promise<void> {
    let status = (await this.container(id))?.status;
    if (status === 'paused') {
      await this.runc(['resume', id]).catch(() => undefined);
      status = 'running';
    }
    if (status === 'running') {
      // A server that died inside whileFrozen leaves the filesystem frozen; init could not even sync.
      await this.thaw(this.bundle(id).rootfs);
      let stopped = false;
      if (graceMs > 0) {
        await this.runc(['kill', id, 'TERM']).catch(() => undefined);
        stopped = await this.waitStopped(id, graceMs);
      }
      if (!stopped) {
        await this.runc(['kill', id, 'KILL']).catch(() => undefined);
        await this.waitStopped(id, 5_000);
      }
    }
    await this.teardown(id);
  }

  /** Removes whatever is left of an instance: container, mounts, bundle. Safe on an absent id. */
  private async teardown(id: string): Promise<void> {
    const b = this.bundle(id);
    await this.deleteContainer(id);
    await this.unmountUnder(b.dir);
    await this.removeBundle(b);
  }

  private async waitStopped(id: string, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      const status = (await this.container(id))?.status;
      if (!status || status === 'stopped') return true;
      if (Date.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  }

  private async writeBundle(spec: InstanceSpec, b: Bundle): Promise<void> {
    await mkdir(b.meta, { recursive: true });
    for (const [name, content] of Object.entries(spec.metadata)) {
      await writeFile(join(b.meta, name), content, { mode: 0o644 });
    }
    await writeFile(b.spec, encodeSpec(spec), { mode: 0o600 });
    await writeFile(b.config, JSON.stringify(ociConfig(spec, b.meta), null, 2));
  }

  /**
   * `runc create` with the console log as stdio: with no terminal runc hands
   * its own stdio fds to the container, so they must be a file (a pipe would
   * keep the container tied to this process). runc's own error text goes to
   * runc.log, which is where it is read back from.
   */
  private async createContainer(spec: InstanceSpec, b: Bundle): Promise<void> {
    const runc = await this.tool('runc');
    const args = ['--root', this.runcRoot, '--log', b.runcLog, '--log-format', 'json', 'create', '--bundle', b.dir, spec.id];
    await mkdir(dirname(spec.consoleLog), { recursive: true });
    const console = await open(spec.consoleLog, 'a', 0o640);
    try {
      const code = await new Promise<number | null>((done, fail) => {
        const child = spawn(runc, args, { stdio: ['ignore', console.fd, console.fd], detached: true });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.once('error', (err) => { clearTimeout(timer); fail(err); });
        child.once('exit', (exitCode) => { clearTimeout(timer); done(exitCode); });
      });
      if (code !== 0) {
        const stderr = await runcLogErrors(b.runcLog);
        throw new HostCommandError(`${spec.id}: ${stderr || `runc create failed with exit code ${code}`}`, [runc, ...args], stderr);
      }
    } finally {
      await console.close();
    }
  }

  /** runc leaves the new network namespace's `lo` down; a machine has it up before init runs. */
  private async loopbackUp(id: string): Promise<void> {
    const pid = (await this.container(id))?.pid;
    if (!pid) throw new HostCommandError(`container ${id} has no init process after create`, [], '');
    await exec(await this.tool('nsenter'), [`--net=/proc/${pid}/ns/net`, await this.tool('ip'), 'link', 'set', 'lo', 'up']);
  }

  private async deleteContainer(id: string): Promise<void> {
    try {
      await this.runc(['delete', '--force', id]);
    } catch (err) {
      if (!isNotExist(err) && !(err instanceof RuntimeUnavailableError)) throw err;
    }
  }

  /** Unmounts everything mounted under `dir`, deepest first, flushing each and waiting for its loop device to go. */
  private async unmountUnder(dir: string): Promise<void> {
    const real = await realpathOrNull(dir);
    if (!real) return;
    for (;;) {
      const under = await mountsUnder(real);
      if (!under.length) return;
      const deepest = under.sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0];
      await this.unmountOne(deepest);
    }
  }

  private async unmountOne(m: MountEntry): Promise<void> {
    const backing = await loopBackingFile(m.majorMinor);
    await this.thaw(m.mountPoint);
    await exec(await this.tool('sync'), ['-f', m.mountPoint]).catch(() => undefined);
    const umount = await this.tool('umount');
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await exec(umount, [m.mountPoint]);
        break;
      } catch (err) {
        if (!/busy/i.test((err as HostCommandError).stderr ?? '') || Date.now() >= deadline) throw err;
        await sleep(50);
      }
    }
    if (backing) await this.waitLoopReleased(m.majorMinor, backing);
  }

  /**
   * `mount -o loop` sets autoclear, so the device detaches itself once the
   * filesystem is gone, but the kernel does that asynchronously. Waiting makes
   * "stopped" mean "no loop device left"; a device that stays is detached.
   */
  private async waitLoopReleased(majorMinor: string, backing: string): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline) {
      if ((await loopBackingFile(majorMinor)) !== backing) return;
      await sleep(POLL_MS);
    }
    const loop = await readFile(`/sys/dev/block/${majorMinor}/uevent`, 'utf8').then((t) => /DEVNAME=(\S+)/.exec(t)?.[1]);
    if (loop) await exec(await this.tool('losetup'), ['-d', `/dev/${loop}`]).catch(() => undefined);
  }

  private async thaw(mountPoint: string): Promise<void> {
    if (!(await mountAt(mountPoint))) return;
    // Fails with EINVAL when not frozen, which is the usual case.
    await exec(await this.tool('fsfreeze'), ['--unfreeze', mountPoint]).catch(() => undefined);
  }

  /** Removes a bundle directory; refuses while anything is mounted in it (so never deletes through a mount). */
  private async removeBundle(b: Bundle): Promise<void> {
    const dir = await realpathOrNull(b.dir);
    if (!dir) return;
    if ((await mountsUnder(dir)).length) {
      throw new HostCommandError(`not removing ${dir}: a volume is still mounted in it`, [], '');
    }
    for (const name of await readdir(dir)) {
      if (name !== 'rootfs') await rm(join(dir, name), { recursive: true, force: true });
    }
    await rmdir(b.rootfs).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rmdir(dir);
  }

  private async savedSpec(id: string): Promise<InstanceSpec> {
    const text = await readFile(this.bundle(id).spec, 'utf8').catch(() => {
      throw new HostCommandError(`instance ${id} is not started here: nothing to reboot`, [], '');
    });
    return decodeSpec(text);
  }

  /** runc's view of one container; null when it has none (or there is no runc, so none can exist). */
  private async container(id: string): Promise<RuncContainer | null> {
    try {
      return JSON.parse(await this.runc(['state', id])) as RuncContainer;
    } catch (err) {
      if (isNotExist(err) || err instanceof RuntimeUnavailableError) return null;
      throw err;
    }
  }

  private async runc(args: string[]): Promise<string> {
    return exec(await this.tool('runc'), ['--root', this.runcRoot, ...args]);
  }

  private async tool(tool: Tool): Promise<string> {
    let path = this.toolPaths.get(tool);
    if (!path) {
      if (tool === 'runc' && this.runcPath) path = (await isExecutable(this.runcPath)) ? this.runcPath : undefined;
      else path = await findExecutable(tool);
      if (!path && tool === 'runc' && this.runcPath) throw new RuntimeUnavailableError(`runc was not found at ${this.runcPath}.`);
      if (!path) throw new RuntimeUnavailableError(`${tool} is missing: ${TOOLS[tool][1]} (apt-get install ${TOOLS[tool][0]}).`);
      this.toolPaths.set(tool, path);
    }
    return path;
  }

  private bundle(id: string): Bundle {
    const dir = join(this.stateDir, id);
    return {
      dir, rootfs: join(dir, 'rootfs'), meta: join(dir, 'meta'),
      config: join(dir, 'config.json'), spec: join(dir, 'spec.json'), runcLog: join(dir, 'runc.log'),
    };
  }
}

function validateId(id: string): void {
  // The id is a path component, a runc argument and the hostname.
  if (!ID_PATTERN.test(id) || id === 'runc') throw new Error(`invalid instance id for the runc driver: ${JSON.stringify(id)}`);
}

function validateSpec(spec: InstanceSpec): void {
  validateId(spec.id);
  for (const name of Object.keys(spec.metadata)) {
    if (!META_NAME_PATTERN.test(name)) throw new Error(`invalid metadata file name: ${JSON.stringify(name)}`);
  }
  if (!(spec.memoryMiB > 0) || !(spec.vcpus > 0)) throw new Error(`instance ${spec.id} needs positive vcpus and memoryMiB`);
  rootVolume(spec);
}

/** Only the root volume is mounted for now; further volumes would mount under rootfs at a path derived from their device name. */
function rootVolume(spec: InstanceSpec): VolumeAttachment {
  const roots = spec.volumes.filter((v) => v.root);
  if (roots.length !== 1) throw new Error(`instance ${spec.id} needs exactly one root volume, has ${roots.length}`);
  return roots[0];
}

type StoredMetadata = Record<string, string | { base64: string }>;

function encodeSpec(spec: InstanceSpec): string {
  const metadata: StoredMetadata = {};
  for (const [k, v] of Object.entries(spec.metadata)) metadata[k] = typeof v === 'string' ? v : { base64: v.toString('base64') };
  return JSON.stringify({ ...spec, metadata }, null, 2);
}

function decodeSpec(text: string): InstanceSpec {
  const stored = JSON.parse(text) as Omit<InstanceSpec, 'metadata'> & { metadata: StoredMetadata };
  const metadata: InstanceSpec['metadata'] = {};
  for (const [k, v] of Object.entries(stored.metadata)) metadata[k] = typeof v === 'string' ? v : Buffer.from(v.base64, 'base64');
  return { ...stored, metadata };
}

async function exec(file: string, args: string[]): Promise<string> {
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
function readableStderr(stderr: string): string {
  const msgs = [...stderr.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => {
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1];
    }
  });
  return msgs.length ? msgs.join('; ') : stderr.trim();
}

async function runcLogErrors(file: string): Promise<string> {
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

function isNotExist(err: unknown): boolean {
  return err instanceof HostCommandError && /does not exist/.test(err.stderr);
}

interface MountEntry {
  mountPoint: string;
  majorMinor: string;
}

async function mounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').filter(Boolean).map((line) => {
    const f = line.split(' ');
    return { mountPoint: unescape(f[4]), majorMinor: f[2] };
  });
}

async function mountAt(path: string): Promise<MountEntry | undefined> {
  const real = await realpathOrNull(path);
  return real ? (await mounts()).find((m) => m.mountPoint === real) : undefined;
}

async function mountsUnder(dir: string): Promise<MountEntry[]> {
  return (await mounts()).filter((m) => m.mountPoint === dir || m.mountPoint.startsWith(`${dir}/`));
}

/** The file behind a loop block device, or undefined when it is not an attached loop device. */
async function loopBackingFile(majorMinor: string): Promise<string | undefined> {
  return readFile(`/sys/dev/block/${majorMinor}/loop/backing_file`, 'utf8').then((t) => t.trim(), () => undefined);
}

async function realpathOrNull(path: string): Promise<string | null> {
  return realpath(path).catch(() => null);
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(() => true, () => false);
}

/** Finds a command on PATH, also looking in the sbin directories a non-root PATH often lacks. */
async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const path = join(dir, name);
    if (await isExecutable(path)) return path;
  }
  return undefined;
}

/** Runs async work one at a time per key (one instance's start/stop/freeze must not interleave). */
class Serial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
