/**
 * The runc runtime driver: each instance is an OCI container run by `runc` over its loop-mounted ext4
 * root volume, from a bundle directory under `stateDir` (bundle.ts, mounts.ts), created through a shim
 * (shim.ts) that keeps its console and exit status when the server exits. A bundle exists exactly
 * while its instance is started; stop removes it.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Revert } from '../revert.js';
import type { Firewall, HostCapacity, InstanceSpec, RuntimeDriver, RuntimeState, VolumeAttachment } from '../runtime.js';
import { RuntimeUnavailableError } from '../runtime.js';
import { type Bundle, bundleAt, makeBundleDirs, readSpec, removeBundle, rootVolume, validateDevice, validateId, validateSpec, writeBundle, writeSpec } from './bundle.js';
import type { CgroupLayout } from './oci-config.js';
import { type RuncContainer, type Tool, cgroupLayout, exec, exists, findExecutable, HostCommandError, hostProblems, isExecutable, isNotExist, mountAt, TOOLS } from './host.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { BundleMounts, ROOT_OPTIONS } from './mounts.js';
import { createThroughShim, GUEST_REBOOT, hasPlainResolvConf, initEnd, stopSignal } from './shim.js';
import { HostNetwork } from '../net/host-network.js';
import { DEFAULT_ID_BASE, UserNamespace } from './userns.js';
import { shellArgs } from './shell.js';
import { hostCapacity, type PidsPolicy, prepareStart } from './host-limits.js';

export { HostCommandError } from './host.js';

const DEFAULT_GRACE_MS = 10_000;
const POLL_MS = 20;
/** How often watchExits looks for instances whose init exited. */
const EXIT_POLL_MS = 500;

export class RuncDriver implements RuntimeDriver {
  readonly name = 'runc';
  private readonly stateDir: string;
  private readonly runcRoot: string;
  private readonly runcPath?: string;
  private readonly toolPaths = new Map<Tool, string>();
  private readonly serial = new KeyedMutex();
  private readonly mounts = new BundleMounts((tool) => this.tool(tool), () => this.hardened);
  /**
   * The isolation of issue #17 for the instances started from now on: the seccomp allow-list, lxcfs's /proc,
   * pids limits, e2fsck before mounting. Only the bench turns it off, to measure what it costs a launch.
   */
  hardened = true;
  private readonly net: HostNetwork;
  private readonly exitListeners = new Set<(id: string) => void>();
  /** Ids inside this driver's own start, stop or reboot: an exit seen there is not the guest's doing. */
  private readonly busy = new Set<string>();
  /** Stopped containers already reported to the exit listeners (each exit is reported once). */
  private readonly reported = new Set<string>();
  private exitTimer?: NodeJS.Timeout;
  private exitPolling = false;
  private cgroupsFound?: Promise<CgroupLayout>;
  /** The first host id of the instances' id ranges (userns.ts). */ private readonly idBase: number;
  /** Instances started from now on each get a user namespace of their own (userns.ts); the bench turns it off to compare. */
  userNamespaces: boolean;
  /** Polls waited for the shim to write how init ended. */
  private readonly awaitingEnd = new Map<string, number>();
  private readonly pids: PidsPolicy;

  /**
   * `stateDir` holds the bundles and runc's state; two drivers over the same
   * stateDir see the same instances. `runcPath` overrides the runc found on PATH;
   * `nat`: instances reach the outside through NAT on the host; `pids`: the bound on each instance's processes and on all of theirs.
   */
  constructor(opts: { stateDir: string; runcPath?: string; nat?: boolean; pids?: PidsPolicy; userNamespaces?: boolean; idBase?: number }) {
    this.pids = opts.pids ?? {};
    this.stateDir = resolve(opts.stateDir);
    this.userNamespaces = opts.userNamespaces !== false;
    this.idBase = opts.idBase ?? DEFAULT_ID_BASE;
    this.net = new HostNetwork({ nat: opts.nat, scope: this.stateDir });
    this.runcRoot = join(this.stateDir, 'runc');
    this.runcPath = opts.runcPath;
  }

  async check(): Promise<string[]> {
    return [...await hostProblems(this.runcPath), ...await this.net.check()];
  }

  /**
   * Security groups: the instance's namespace's firewall, replaced at once (serialised with its lifecycle),
   * and kept in spec.json, so that a reboot (from inside, or reboot()) comes up with these rules.
   */
  firewall(id: string, rules: Firewall): Promise<void> {
    validateId(id);
    return this.serial.run(id, async () => {
      await this.net.firewall(id, rules);
      const b = this.bundle(id);
      const spec = await readSpec(b, id).catch(() => undefined);
      if (spec?.network) await writeSpec(b, { ...spec, network: { ...spec.network, firewall: rules } });
    });
  }

  addressesTaken(): Promise<string[]> { return this.net.addressesTaken(); }
  start(spec: InstanceSpec): Promise<void> {
    validateSpec(spec);
    return this.serial.run(spec.id, () => this.busyWith(spec.id, () => this.startNow(spec)));
  }

  stop(id: string, graceMs = DEFAULT_GRACE_MS): Promise<void> {
    validateId(id);
    return this.serial.run(id, () => this.busyWith(id, () => this.stopNow(id, graceMs)));
  }

  reboot(id: string, graceMs = DEFAULT_GRACE_MS): Promise<void> {
    validateId(id);
    return this.serial.run(id, () => this.busyWith(id, async () => {
      const spec = await readSpec(this.bundle(id), id);
      await this.stopNow(id, graceMs);
      await this.startNow(spec);
    }));
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
      return this.mounts.frozen(b, fn);
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
      const spec = await readSpec(b, id);
      if (spec.volumes.some((v) => basename(v.device) === basename(volume.device))) {
        throw new HostCommandError(`${volume.device} is already attached to ${id}`, [], '');
      }
      const revert = new Revert();
      try {
        await this.mounts.mountVolume(b, volume);
        revert.add(() => this.mounts.unmountVolume(b, volume.device, true));
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
      await this.mounts.unmountVolume(b, device, !!opts.force);
      const spec = await readSpec(b, id).catch(() => undefined);
      if (spec) {
        const volumes = spec.volumes.filter((v) => v.root || basename(v.device) !== basename(device));
        await writeSpec(b, { ...spec, volumes });
      }
    });
  }

  grow(id: string, path: string): Promise<boolean> {
    validateId(id);
    return this.serial.run(id, () => this.mounts.grow(path));
  }

  capacity(): Promise<HostCapacity> { return hostCapacity(); }
  async shellCommand(id: string): Promise<string[]> { validateId(id); return shellArgs(await this.tool('runc'), this.runcRoot, id); }

  /** Empty on a host without runc (nothing can be running there). */
  async list(): Promise<string[]> {
    return (await this.containers()).filter((c) => c.status === 'running' || c.status === 'paused').map((c) => c.id);
  }

  /** Polls `runc list` every EXIT_POLL_MS while anyone is subscribed. */
  watchExits(listener: (id: string) => void): () => void {
    this.exitListeners.add(listener);
    this.scheduleExitPoll();
    return () => {
      this.exitListeners.delete(listener);
      if (!this.exitListeners.size) { clearTimeout(this.exitTimer); this.exitTimer = undefined; }
    };
  }

  private scheduleExitPoll(): void {
    if (this.exitTimer || this.exitPolling || !this.exitListeners.size) return;
    this.exitTimer = setTimeout(() => {
      this.exitTimer = undefined;
      this.exitPolling = true;
      // A failed poll (runc gone, a transient error) is simply tried again by the next one.
      void this.pollExits().catch(() => undefined).finally(() => { this.exitPolling = false; this.scheduleExitPoll(); });
    }, EXIT_POLL_MS).unref();
  }

  private async pollExits(): Promise<void> {
    const stopped = new Set((await this.containers()).filter((c) => c.status === 'stopped').map((c) => c.id));
    for (const id of this.reported) if (!stopped.has(id)) this.reported.delete(id);
    for (const id of stopped) {
      if (this.busy.has(id) || this.reported.has(id)) continue;
      // Checked again in the instance's queue (a stop() or start() since may have moved it on); a reboot from inside is the driver's to finish.
      const exited = await this.serial.run(id, async () => {
        if ((await this.container(id))?.status !== 'stopped') return false;
        // runc says stopped once init is a zombie; the shim writes how it ended once it has reaped it (wait ~3 s).
        const end = await initEnd(this.bundle(id).exit);
        const waited = this.awaitingEnd.get(id) ?? 0;
        if (!end && waited < 6) { this.awaitingEnd.set(id, waited + 1); return false; }
        this.awaitingEnd.delete(id);
        if (end !== GUEST_REBOOT) return true;
        return this.busyWith(id, async () => {
          const spec = await readSpec(this.bundle(id), id);
          await this.stopNow(id, 0);
          return this.startNow(spec).then(() => false, () => true);
        });
      }).catch(() => true); // a reboot that could not be done is a shutdown; one instance's failure never stops the others'
      // Unreported while nobody listens, so a later subscriber still hears of it.
      if (!exited || this.reported.has(id) || !this.exitListeners.size) continue;
      this.reported.add(id);
      for (const listener of [...this.exitListeners]) {
        // One listener's failure must not keep the exit from the others.
        try { listener(id); } catch { /* the listener's own to report */ }
      }
    }
  }

  private cgroups(): Promise<CgroupLayout> { return this.cgroupsFound ??= cgroupLayout(); }

  /** Runs this driver's own start, stop or reboot of `id`, keeping watchExits off it. */
  private async busyWith<T>(id: string, fn: () => Promise<T>): Promise<T> {
    this.busy.add(id);
    this.reported.delete(id);
    try {
      return await fn();
    } finally {
      this.busy.delete(id);
    }
  }

  private async startNow(asked: InstanceSpec): Promise<void> {
    const { spec, lxcfs } = this.hardened ? await prepareStart(asked, this.pids, await this.cgroups()) : { spec: asked, lxcfs: undefined };
    const root = rootVolume(spec);
    for (const tool of ['runc', 'python3', 'mount', 'umount', 'nsenter', 'ip'] as const) await this.tool(tool);
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
      revert.add(() => removeBundle(b));
      await makeBundleDirs(this.stateDir, b, this.userNamespaces);
      const ns = this.userNamespaces ? await this.serial.run(' ids', () => UserNamespace.begin(this.stateDir, b.dir, this.idBase)) : undefined;
      revert.add(() => this.mounts.unmountUnder(b.dir));
      await this.mounts.mountExt4(root, b.rootfs, ROOT_OPTIONS, ns?.hostId);
      await this.mounts.mountVolumesDir(b);
      for (const v of spec.volumes) if (!v.root) await this.mounts.mountVolume(b, v);
      if (spec.network) {
        revert.add(() => this.net.disconnect(spec.id));
        await this.net.connect(spec.id, spec.network, ns && await ns.holdNetwork(await this.tool('python3'), await this.tool('mount'), revert));
      }
      const resolvConf = spec.network && await hasPlainResolvConf(b.rootfs) ? await this.net.resolvConf() : undefined;
      await writeBundle(spec, b, await this.cgroups(), resolvConf, { lxcfs, hardened: this.hardened, adjust: ns && ((c) => ns.config(c)) });
      revert.add(() => this.deleteContainer(spec.id));
      await this.createContainer(spec, b);
      await ns?.created(spec.id, await this.cgroups());
      if (!spec.network) await this.loopbackUp(spec.id);
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
      await this.mounts.thawAll(b);
      let stopped = false;
      if (graceMs > 0) {
        await this.runc(['kill', id, await stopSignal(b.rootfs)]).catch(() => undefined);
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
    await this.net.disconnect(id);
    await this.mounts.unmountUnder(b.dir);
    await removeBundle(b);
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

  /** `runc create` through the instance's shim (shim.ts), with the console log and exit file of its bundle. */
  private async createContainer(spec: InstanceSpec, b: Bundle): Promise<void> {
    await createThroughShim({
      python: await this.tool('python3'), consoleLog: spec.consoleLog, exitFile: b.exit, runcLog: b.runcLog, id: spec.id,
      runc: [await this.tool('runc'), '--root', this.runcRoot, '--log', b.runcLog, '--log-format', 'json', 'create', '--bundle', b.dir, spec.id],
    });
  }

  /** runc leaves the new network namespace's `lo` down; a machine has it up before init runs. */
  private async loopbackUp(id: string): Promise<void> {
    const pid = (await this.container(id))?.pid;
    if (!pid) throw new HostCommandError(`container ${id} has no init process after create`, [], '');
    await exec(await this.tool('nsenter'), [`--net=/proc/${pid}/ns/net`, await this.tool('ip'), 'link', 'set', 'lo', 'up']);
  }

  private async deleteContainer(id: string): Promise<void> {
    await this.runc(['delete', '--force', id]).catch((err: unknown) => { if (!isNotExist(err) && !(err instanceof RuntimeUnavailableError)) throw err; });
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

  /** All of runc's containers; none on a host without runc. */
  private async containers(): Promise<RuncContainer[]> {
    const out = await this.runc(['list', '--format', 'json']).catch((err: unknown) => {
      if (err instanceof RuntimeUnavailableError) return 'null';
      throw err;
    });
    return (JSON.parse(out || 'null') ?? []) as RuncContainer[];
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

  private bundle(id: string): Bundle { return bundleAt(this.stateDir, id); }
}
