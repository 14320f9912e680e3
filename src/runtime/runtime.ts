/**
 * The runtime: what runs instances on this host.
 *
 * A driver knows nothing of accounts, regions or images. It is handed an
 * instance id, the raw volume files to attach (the root one holding an ext4
 * filesystem) and resource limits, and it makes a running machine of them:
 * the root volume loop-mounted as the root filesystem, the instance id as the
 * hostname, the metadata files readable inside at /run/kiln (a config-drive
 * style datasource: instance-id, user-data, ...), and everything the machine
 * prints captured to its console log. One folder per driver (runtime/runc/).
 *
 * Further (non-root) volumes appear inside the instance as mounted ext4
 * filesystems at /mnt/<device basename> (/dev/sdf -> /mnt/sdf, /dev/xvdg ->
 * /mnt/xvdg): mounted before init at start, and while it runs by attach()
 * and detach(). There is no block device node inside: an instance holds no
 * CAP_SYS_ADMIN, so it could not mount one itself anyway.
 *
 * Multi-step host work (mount, container create, network) registers undo steps
 * and rolls back on failure: a failed start leaves no mount, loop device or
 * container behind.
 */

export interface VolumeAttachment {
  /** Device name as EC2 knows it, e.g. /dev/xvda, /dev/sdf. */
  device: string;
  /** Path of the raw volume file (sparse, ext4 inside). */
  path: string;
  /** Exactly one attachment per instance is the root. */
  root: boolean;
}

/** Where a non-root volume appears inside the instance: /mnt/<device basename>. */
export function volumeMountPath(device: string): string {
  return `${VOLUMES_MOUNT}/${device.slice(device.lastIndexOf('/') + 1)}`;
}

/** The directory inside an instance under which its non-root volumes are mounted. */
export const VOLUMES_MOUNT = '/mnt';

/**
 * The instance's place in its VPC (runtime/net/host-network.ts makes it): its
 * own network namespace with eth0 on the VPC's bridge. Without one, an
 * instance has only a loopback interface.
 */
/** One allow rule of an instance's firewall: a protocol, a port range and the peers it applies to. */
export interface FirewallRule {
  protocol: 'all' | 'tcp' | 'udp' | 'icmp';
  /** tcp/udp port range (ICMP: type; undefined: all). */
  fromPort?: number;
  toPort?: number;
  /** Peer addresses and CIDRs: sources for ingress, destinations for egress. Empty: the rule allows nothing yet. */
  peers: string[];
}

/**
 * What the instance may receive and send (its security groups, resolved):
 * stateful (replies to allowed traffic pass), everything else dropped, and
 * nothing sent from an address that is not the instance's own.
 */
export interface Firewall {
  ingress: FirewallRule[];
  egress: FirewallRule[];
  /**
   * The instance metadata service: traffic to 169.254.169.254:80 goes to this
   * host address and port (whatever the egress rules say, as on AWS). Absent:
   * the metadata endpoint is off for the instance.
   */
  metadata?: { address: string; port: number };
}

export interface NetworkAttachment {
  /** The VPC; its bridge is named from this id. */
  vpcId: string;
  /** Overrides the bridge name derived from vpcId (tests). */
  bridge?: string;
  /** The instance's address, and the VPC's prefix length (all of the VPC is on-link). */
  ip: string;
  prefixLength: number;
  /** The VPC router's address: the bridge's, and the instance's default route. */
  gateway: string;
  mac: string;
  /** Applied as the namespace is made, before init runs; changed live with RuntimeDriver.firewall. */
  firewall?: Firewall;
}

export interface InstanceSpec {
  /** i-... id; used as container id (and as hostname when `hostname` is absent). */
  id: string;
  /** The machine's hostname (EC2: ip-172-31-0-5, from the private DNS name). */
  hostname?: string;
  volumes: VolumeAttachment[];
  vcpus: number;
  memoryMiB: number;
  /** The most processes (and threads) the instance may hold at once; absent: the driver's default for its vCPUs. */
  pidsLimit?: number;
  /** Files made visible read-only at /run/kiln inside the instance (name -> content). */
  metadata: Record<string, string | Buffer>;
  /** Where the console (stdout and stderr of the instance's init) is appended. */
  consoleLog: string;
  network?: NetworkAttachment;
}

export type RuntimeState = 'running' | 'stopped' | 'absent';

/** What this host has for instances, as the driver sees it (the services size launches by it). */
export interface HostCapacity {
  /** The host's memory (MemTotal), MiB. */
  memoryMiB: number;
}

export interface RuntimeDriver {
  readonly name: string;
  /** What this host lacks to run instances (empty when ready). Each entry is one human sentence saying what and how to fix it. */
  check(): Promise<string[]>;
  /** Boots the instance. Resolves once its init process is running. Rolls back everything on failure. */
  start(spec: InstanceSpec): Promise<void>;
  /**
   * Stops the instance: SIGTERM to init, SIGKILL after `graceMs`, then removes
   * the container and unmounts its volumes (flushed). Stopping an absent instance is a no-op.
   */
  stop(id: string, graceMs?: number): Promise<void>;
  /** Sends init SIGTERM and starts it again over the same volumes, with the spec of its last start. */
  reboot(id: string, graceMs?: number): Promise<void>;
  /**
   * 'running' while its init runs; 'stopped' when the driver still holds
   * something of it that is not running (a container whose init exited, a
   * mount left over from a crash), which stop() cleans up; 'absent' otherwise.
   */
  state(id: string): Promise<RuntimeState>;
  /**
   * Runs `fn` while all the instance's filesystems (root and attached volumes)
   * are frozen (fsfreeze), so copies of the volume files taken inside `fn` are
   * crash-consistent, together. Thaws even if `fn` throws.
   * A driver serialises the actions on one instance, so `fn` must not start,
   * stop or reboot that instance. When it is not running, `fn` simply runs.
   */
  whileFrozen<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** Ids of all instances this driver has running (found again after a server restart). */
  list(): Promise<string[]>;
  /**
   * Hot-attach: makes the (non-root) volume appear in the running instance at
   * volumeMountPath(device) and keeps it there across reboot(). Throws when the
   * instance is not running (a stopped instance gets its volumes from the
   * spec at start). Rolls back on failure. Optional: a driver without it can
   * only attach volumes to stopped instances.
   */
  attach?(id: string, volume: VolumeAttachment): Promise<void>;
  /**
   * Hot-detach: unmounts the volume at `device` from the running instance
   * (flushed, loop device released). A no-op when it is not mounted. Throws
   * VolumeBusyError when a process inside keeps the mount busy, unless `force`
   * (then the mount is detached lazily: it goes once its last user does).
   */
  detach?(id: string, device: string, opts?: { force?: boolean }): Promise<void>;
  /**
   * Online grow: the volume file at `path` (root or attached, of instance
   * `id`) has just been made longer; the device behind the mount takes the new
   * size, and the filesystem too when the host allows online resizing
   * (CAP_SYS_RESOURCE). Resolves whether the filesystem grew now; if not, it
   * grows at the instance's next boot. False when nothing mounts the file.
   */
  grow?(id: string, path: string): Promise<boolean>;
  /**
   * Shutdowns from inside: calls `listener(id)` whenever an instance's init
   * exits on its own (poweroff, halt, the guest's init exiting or dying), once
   * per exit, soon after it happens (a driver may poll). Never for an exit
   * this driver caused itself (its stop() or reboot()), nor while its start()
   * of that instance is still running. After such an exit the driver still
   * holds the stopped instance (state(id) is 'stopped'); the listener is
   * expected to call stop(id) to clean it up. An instance that had exited
   * before the subscription is reported too. Returns the unsubscribe
   * function; watching costs nothing while nobody is subscribed and never
   * keeps the process alive. Optional: without it, such a shutdown goes
   * unnoticed until the next server restart (see list()).
   */
  watchExits?(listener: (id: string) => void): () => void;
  /**
   * Replaces the running instance's firewall at once (atomically: no moment
   * with neither the old rules nor the new). A no-op for an instance without
   * a network. Optional: a driver without it enforces no security groups.
   */
  firewall?(id: string, rules: Firewall): Promise<void>;
  /**
   * IPv4 addresses the host already routes elsewhere or holds itself (another server's instances on this host,
   * the host's own addresses): an instance given one would take it over, so the services do not give them out,
   * and start() fails rather than take one. Optional: without it, only the services' own records count.
   */
  addressesTaken?(): Promise<string[]>;
  /**
   * The host command (argv) that runs an interactive login shell inside the running instance, for a caller
   * that runs it on a terminal (a pty) of its own and relays that: the shell's terminal follows its size.
   * Optional: without it, instances have no terminal in the console.
   */
  shellCommand?(id: string): Promise<string[]>;
  /**
   * The host's capacity for instances (its memory). Optional: without it,
   * launches are not sized against the host.
   */
  capacity?(): Promise<HostCapacity>;
}

/** detach() could not unmount: something inside the instance still uses the volume. */
export class VolumeBusyError extends Error {
  readonly code = 'VolumeBusy';
}

/** Thrown when the host cannot run instances; the message says what is missing. */
export class RuntimeUnavailableError extends Error {
  readonly code = 'RuntimeUnavailable';
}
