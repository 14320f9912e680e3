/**
 * The runc runtime driver: each instance is an OCI container run by `runc`
 * over its loop-mounted ext4 root volume.
 *
 * On-disk layout under `stateDir` (all of it re-read after a server restart):
 *
 *   runc/              runc's own state (`runc --root`): which containers exist
 *   <id>/config.json   the OCI config (see oci-config.ts)
 *   <id>/spec.json     the InstanceSpec the instance was last started with (reboot uses it)
 *   <id>/rootfs/       mount point of the root volume
 *   <id>/meta/         the metadata files, bind-mounted read-only at /run/kiln inside
 *   <id>/mnt/          a small tmpfs, made a shared mount, bind-mounted read-only and
 *                      rslave at /mnt inside; each further volume is loop-mounted at
 *                      mnt/<device basename> (before create, or later by attach()),
 *                      and mount propagation carries it into the running instance
 *   <id>/runc.log      runc's own log of the create step (its error text on failure)
 *
 * Containers are created detached with the console log as their stdout and
 * stderr, so they keep running (and logging) when the server process exits.
 * A bundle exists exactly while its instance is started; stop removes it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Revert } from '../revert.js';
import type { InstanceSpec, RuntimeDriver, RuntimeState, VolumeAttachment } from '../runtime.js';
import { RuntimeUnavailableError, VolumeBusyError } from '../runtime.js';
import type { MountEntry } from './host.js';
import {
  exec, exists, findExecutable, HostCommandError, isExecutable, isNotExist, loopBackingFile, mountAt, mountsUnder,
  realpathOrNull, runcLogErrors, Serial,
} from './host.js';
import { ociConfig } from './oci-config.js';

export { HostCommandError } from './host.js';

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
  resize2fs: ['e2fsprogs', 'it grows the filesystems of volumes in use'],
} as const;
type Tool = keyof typeof TOOLS;

const DEFAULT_GRACE_MS = 10_000;
const POLL_MS = 20;
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const META_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A device name the driver turns into a path component (mnt/<basename>). */
const DEVICE_PATTERN = /^\/dev\/[a-z][a-z0-9]{0,15}$/;
/** The tmpfs holding the volumes' mount points: only directories, so tiny. */
const VOLUMES_TMPFS = 'size=64k,mode=755';

interface Bundle {
  dir: string;
  rootfs: string;
  meta: string;
  volumes: string;
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

  /**
   * Freezes the root filesystem and every attached volume, thawing in reverse.
   * When the instance is not running its volumes are not mounted, so `fn` runs
   * without a freeze. `fn` must not start or stop this instance.
   */
  whileFrozen<T>(id: string, fn: () => Promise<T>): Promise<T> {
    validateId(id);
    return this.serial.run(id, async () => {
      const b = this.bundle(id);
      if ((await this.container(id))?.status !== 'running' || !(await mountAt(b.rootfs))) return fn();
      const fsfreeze = await this.tool('fsfreeze');
      const frozen: string[] = [];
      try {
        for (const m of [await realpathOrNull(b.rootfs), ...(await this.volumeMounts(b)).map((v) => v.mountPoint)]) {
          if (!m) continue;
          await exec(fsfreeze, ['--freeze', m]);
          frozen.push(m);
        }
        return await fn();
      } finally {
        // Thaw every one even if one fails: a filesystem left frozen would hang the instance.
        const failed: Error[] = [];
        for (const m of frozen.reverse()) await exec(fsfreeze, ['--unfreeze', m]).catch((err: Error) => failed.push(err));
        if (failed.length) throw failed[0];
      }
    });
  }

  attach(id: string, volume: VolumeAttachment): Promise<void> {
    validateId(id);
    validateDevice(volume);
    if (volume.root) throw new Error(`the root volume of ${id} cannot be hot-attached`);
    return this.serial.run(id, async () => {
      const b = this.bundle(id);
      if ((await this.container(id))?.status !== 'running') throw new HostCommandError(`instance ${id} is not running`, [], '');
      if (!(await mountAt(b.volumes))) {
        throw new HostCommandError(`instance ${id} was started without a volumes directory; stop and start it to attach volumes`, [], '');
      }
      const spec = await this.savedSpec(id);
      if (spec.volumes.some((v) => basename(v.device) === basename(volume.device))) {
        throw new HostCommandError(`${volume.device} is already attached to ${id}`, [], '');
      }
      const revert = new Revert();
      try {
        await this.mountVolume(b, volume);
        revert.add(() => this.unmountVolume(b, volume.device, true));
        await writeSpec(b, { ...spec, volumes: [...spec.volumes, volume] });
        revert.success();
      } finally {
        await revert.run();
      }
    });
  }

  detach(id: string, device: string, opts: { force?: boolean } = {}): Promise<void> {
    validateId(id);
    validateDevice({ device, path: '', root: false });
    return this.serial.run(id, async () => {
      const b = this.bundle(id);
      await this.unmountVolume(b, device, !!opts.force);
      const spec = await this.savedSpec(id).catch(() => undefined);
      if (spec) {
        const volumes = spec.volumes.filter((v) => v.root || basename(v.device) !== basename(device));
        await writeSpec(b, { ...spec, volumes });
      }
    });
  }

  /** The loop device behind `path` learns the file's new length, then the ext4 on it grows to fill it (online) if the kernel lets us. */
  grow(id: string, path: string): Promise<boolean> {
    validateId(id);
    return this.serial.run(id, async () => {
      const line = (await exec(await this.tool('losetup'), ['-j', path])).trim();
      const loop = /^(\/dev\/loop\d+):/.exec(line)?.[1];
      if (!loop) return false;
      await exec(await this.tool('losetup'), ['-c', loop]);
      // Online resizing needs CAP_SYS_RESOURCE, which a containerised host may withhold (EPERM).
      return exec(await this.tool('resize2fs'), [loop]).then(() => true, () => false);
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
      await this.mountVolumesDir(b);
      for (const v of spec.volumes) if (!v.root) await this.mountVolume(b, v);
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
      // A server that died inside whileFrozen leaves the filesystems frozen; init could not even sync.
      const b = this.bundle(id);
      for (const m of [b.rootfs, ...(await this.volumeMounts(b)).map((v) => v.mountPoint)]) await this.thaw(m);
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
    await writeFile(b.config, JSON.stringify(ociConfig(spec, b.meta, b.volumes), null, 2));
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

  /** The tmpfs whose subdirectories are the volumes' mount points; shared, so later mounts propagate into the instance. */
  private async mountVolumesDir(b: Bundle): Promise<void> {
    await mkdir(b.volumes, { recursive: true });
    const mount = await this.tool('mount');
    await exec(mount, ['-t', 'tmpfs', '-o', VOLUMES_TMPFS, 'kiln-volumes', b.volumes]);
    await exec(mount, ['--make-shared', b.volumes]);
  }

  /** Loop-mounts a non-root volume at mnt/<device basename>; refuses a file that is already behind a loop device. */
  private async mountVolume(b: Bundle, v: VolumeAttachment): Promise<void> {
    await access(v.path, constants.R_OK | constants.W_OK).catch(() => {
      throw new HostCommandError(`volume ${v.path} does not exist or is not writable`, [], '');
    });
    const inUse = (await exec(await this.tool('losetup'), ['-j', v.path])).trim();
    if (inUse) throw new HostCommandError(`volume ${v.path} is still in use (${inUse})`, [], '');
    const dir = join(b.volumes, basename(v.device));
    await mkdir(dir);
    try {
      await exec(await this.tool('mount'), ['-t', 'ext4', '-o', 'loop', v.path, dir]);
    } catch (err) {
      await rmdir(dir).catch(() => undefined);
      throw err;
    }
  }

  /** Unmounts mnt/<device basename> if mounted; busy -> VolumeBusyError, or a lazy unmount when `force`. */
  private async unmountVolume(b: Bundle, device: string, force: boolean): Promise<void> {
    const dir = join(b.volumes, basename(device));
    const m = await mountAt(dir);
    if (m) {
      try {
        await this.unmountOne(m);
      } catch (err) {
        if (!/busy/i.test((err as HostCommandError).stderr ?? '')) throw err;
        if (!force) throw new VolumeBusyError(`${device} is busy: a process in the instance still uses it`);
        await exec(await this.tool('umount'), ['-l', m.mountPoint]);
      }
    }
    await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** The volumes mounted in the bundle's volumes directory (not the directory's own tmpfs). */
  private async volumeMounts(b: Bundle): Promise<MountEntry[]> {
    const dir = await realpathOrNull(b.volumes);
    return dir ? (await mountsUnder(dir)).filter((m) => m.mountPoint !== dir) : [];
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
      dir, rootfs: join(dir, 'rootfs'), meta: join(dir, 'meta'), volumes: join(dir, 'mnt'),
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
  const names = spec.volumes.map((v) => { validateDevice(v); return basename(v.device); });
  if (new Set(names).size !== names.length) throw new Error(`instance ${spec.id} has two volumes at the same device`);
}

function validateDevice(v: VolumeAttachment): void {
  if (!DEVICE_PATTERN.test(v.device)) throw new Error(`invalid device name for the runc driver: ${JSON.stringify(v.device)}`);
}

function rootVolume(spec: InstanceSpec): VolumeAttachment {
  const roots = spec.volumes.filter((v) => v.root);
  if (roots.length !== 1) throw new Error(`instance ${spec.id} needs exactly one root volume, has ${roots.length}`);
  return roots[0];
}

type StoredMetadata = Record<string, string | { base64: string }>;

/** Replaces spec.json atomically: a crash leaves the old spec or the new one, never half of one. */
async function writeSpec(b: Bundle, spec: InstanceSpec): Promise<void> {
  const tmp = `${b.spec}.tmp`;
  await writeFile(tmp, encodeSpec(spec), { mode: 0o600 });
  await rename(tmp, b.spec);
}

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

