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

export interface InstanceSpec {
  /** i-... id; used as container id and hostname. */
  id: string;
  volumes: VolumeAttachment[];
  vcpus: number;
  memoryMiB: number;
  /** Files made visible read-only at /run/kiln inside the instance (name -> content). */
  metadata: Record<string, string | Buffer>;
  /** Where the console (stdout and stderr of the instance's init) is appended. */
  consoleLog: string;
}

export type RuntimeState = 'running' | 'stopped' | 'absent';

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
   * Runs `fn` while the instance's filesystems are frozen (fsfreeze), so a copy
   * of the volume files taken inside `fn` is crash-consistent. Thaws even if `fn` throws.
   * A driver serialises the actions on one instance, so `fn` must not start,
   * stop or reboot that instance. When it is not running, `fn` simply runs.
   */
  whileFrozen<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /** Ids of all instances this driver has running (found again after a server restart). */
  list(): Promise<string[]>;
}

/** Thrown when the host cannot run instances; the message says what is missing. */
export class RuntimeUnavailableError extends Error {
  readonly code = 'RuntimeUnavailable';
}
