/**
 * Instances in user namespaces of their own: root inside is an unprivileged
 * host uid (a range of 65536 per running instance, from a configurable
 * base), so a key, a file or a process it makes belongs to that uid on the
 * host. The volumes keep 0-based ids on disk: the host mounts them id-mapped
 * (libexec/kiln-idmap.py), so images captured from them are unchanged.
 *
 * With a network, the instance's network namespace is made inside its user
 * namespace (holdNamespaces): one made outside could not have sysfs mounted
 * from inside, nor be joined by `runc exec`.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CgroupLayout } from './oci-config.js';
import { cgroupPath } from './oci-config.js';

/** Ids in each instance's range (uid and gid 0..65535 inside). */
export const ID_RANGE = 65536;
/** The first host id handed out by default. */
export const DEFAULT_ID_BASE = 100_000;
/** The file in a bundle that records the first host id of its instance's range. */
export const HOST_ID_FILE = 'hostid';

/** libexec/ sits beside src/ and dist/. */
export const IDMAP_HELPER = fileURLToPath(new URL('../../../libexec/kiln-idmap.py', import.meta.url));

/**
 * The first host id of a range no other bundle under `stateDir` holds, from
 * `base` up, recorded in `<bundleDir>/hostid`. The caller serializes calls.
 */
export async function allocateRange(stateDir: string, bundleDir: string, base: number): Promise<number> {
  const taken = new Set<number>();
  for (const name of await readdir(stateDir).catch(() => [] as string[])) {
    const dir = join(stateDir, name);
    if (dir === bundleDir) continue;
    const text = await readFile(join(dir, HOST_ID_FILE), 'utf8').catch(() => '');
    if (text) taken.add(Number(text));
  }
  let hostId = base;
  while (taken.has(hostId)) hostId += ID_RANGE;
  await writeFile(join(bundleDir, HOST_ID_FILE), String(hostId), { mode: 0o644 });
  return hostId;
}

/** The first host id of the range of the instance whose bundle is `bundleDir`; undefined without a user namespace. */
export async function readHostId(bundleDir: string): Promise<number | undefined> {
  const text = await readFile(join(bundleDir, HOST_ID_FILE), 'utf8').catch(() => '');
  return text ? Number(text) : undefined;
}

/**
 * runc sets the instance's root up from inside its user namespace, as an
 * unprivileged host uid: the directories above the bundles must let others
 * pass (x, never r), as Docker's 0711 data root does for its remapped roots.
 */
export async function letInstancesPass(stateDir: string): Promise<void> {
  for (let dir = stateDir; ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if (!(mode & 0o001)) await chmod(dir, (mode & 0o7777) | 0o001);
    if (dirname(dir) === dir) return;
  }
}

/** A started instance's range, and its bundle made reachable to its root (runc init in its user namespace) and no other host user. */
export async function userBundle(stateDir: string, bundleDir: string, base: number): Promise<number> {
  const hostId = await allocateRange(stateDir, bundleDir, base);
  await letInstancesPass(stateDir);
  await chown(bundleDir, hostId, hostId);
  return hostId;
}

/** Names the network namespace at `nsPath` as `ip netns add` would (/run/netns/<name>), so runtime/net configures it. */
export async function nameNetns(mount: string, nsPath: string, name: string): Promise<void> {
  await mkdir('/run/netns', { recursive: true });
  await writeFile(`/run/netns/${name}`, '', { flag: 'wx' });
  await promisify(execFile)(mount, ['--bind', nsPath, `/run/netns/${name}`]);
}

/** The OCI config's user namespace (joined at `userPath` when given) and id maps. */
export function withUserNamespace(config: Record<string, unknown>, hostId: number, userPath?: string): Record<string, unknown> {
  const linux = config.linux as { namespaces: Array<{ type: string }>; [k: string]: unknown };
  const map = [{ containerID: 0, hostID: hostId, size: ID_RANGE }];
  const user = userPath ? { type: 'user', path: userPath } : { type: 'user' };
  return { ...config, linux: { ...linux, namespaces: [user, ...linux.namespaces], uidMappings: map, gidMappings: map } };
}

/** Namespaces held for an instance until it has joined them. */
export interface HeldNamespaces {
  /** /proc/<pid>/ns/user of the holder. */
  user: string;
  /** /proc/<pid>/ns/net of the holder: a network namespace the user namespace owns. */
  net: string;
  release(): void;
}

/**
 * A user namespace with the instance's id map and a network namespace it
 * owns, so that `runc exec` (which joins the user namespace first) may join
 * the network namespace too, and sysfs can be mounted for it inside.
 */
export function holdNamespaces(python: string, hostId: number): Promise<HeldNamespaces> {
  const child = spawn(python, [IDMAP_HELPER, '--hold', String(hostId), String(ID_RANGE)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    child.once('exit', (code) => reject(new Error(`kiln-idmap --hold exited ${code}: ${err.trim()}`)));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const pid = /^(\d+)\n/.exec(out)?.[1];
      if (pid) resolve({ user: `/proc/${pid}/ns/user`, net: `/proc/${pid}/ns/net`, release: () => { child.stdin.end(); } });
    });
  });
}

/** The instance's cgroup directories its systemd writes to: the name=systemd (and unified) trees on v1, the one tree on v2. */
export function cgroupDirs(id: string, cgroups: CgroupLayout): string[] {
  if (cgroups.version === 2) return [join('/sys/fs/cgroup', cgroupPath(id))];
  return ['systemd', ...(cgroups.unified ? ['unified'] : [])].map((tree) => join('/sys/fs/cgroup', tree, cgroupPath(id)));
}

/** Gives the instance's root its cgroup trees (what systemd writes to), as a container manager delegates them. */
export async function delegateCgroups(dirs: string[], hostId: number): Promise<void> {
  for (const dir of dirs) await chownTree(dir, hostId).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The files of a cgroup its delegate may write (as systemd's delegation): never a controller's limits (memory.max, pids.max, ...). */
const DELEGATED_FILES = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.freeze', 'cgroup.kill', 'tasks', 'notify_on_release', 'cgroup.clone_children']);

async function chownTree(path: string, id: number): Promise<void> {
  await chown(path, id, id);
  for (const name of await readdir(path)) {
    const p = join(path, name);
    if ((await lstat(p)).isDirectory()) await chownTree(p, id);
    else if (DELEGATED_FILES.has(name)) await chown(p, id, id);
  }
}

/** One start's user namespace (runc-driver startNow): its range, the namespaces held for it, its config, its cgroups. */
export class UserNamespace {
  private held?: HeldNamespaces;
  private constructor(readonly hostId: number) {}

  static async begin(stateDir: string, bundleDir: string, base: number): Promise<UserNamespace> {
    return new UserNamespace(await userBundle(stateDir, bundleDir, base));
  }

  /** Holds the namespaces until created(); the function names the network namespace for runtime/net. */
  async holdNetwork(python: string, mount: string, revert: { add(fn: () => Promise<unknown>): void }): Promise<(name: string) => Promise<void>> {
    const held = this.held = await holdNamespaces(python, this.hostId);
    revert.add(async () => held.release());
    return (name) => nameNetns(mount, held.net, name);
  }

  config(c: Record<string, unknown>): Record<string, unknown> { return withUserNamespace(c, this.hostId, this.held?.user); }

  /** After `runc create`: the namespaces are the container's now; its root gets its cgroups. */
  async created(id: string, cgroups: CgroupLayout): Promise<void> {
    this.held?.release();
    await delegateCgroups(cgroupDirs(id, cgroups), this.hostId);
  }
}
