/**
 * The bundle of a runc instance: the directory the runc driver keeps for it
 * while it is started, what goes in it, and the checks on the names (instance
 * id, device names, metadata file names) that become paths in it.
 *
 * On-disk layout under the driver's `stateDir` (all of it re-read after a server restart):
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
 *   <id>/exit          how init ended (`exited N` / `signal N`), written by the shim
 *   <id>/resolv.conf   with NAT: the instance's /etc/resolv.conf (the host's resolvers), bind-mounted
 *
 * A bundle exists exactly while its instance is started; stop removes it.
 */
import { chmod, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InstanceSpec, VolumeAttachment } from '../runtime.js';
import { PRIVATE_DIR, privateDir } from '../../lib/private-files.js';
import { HostCommandError, mountsUnder, realpathOrNull } from './host.js';
import type { CgroupLayout } from './oci-config.js';
import { ociConfig } from './oci-config.js';
import { lxcfsMounts } from './lxcfs.js';
import { permissiveProfile } from './seccomp.js';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const META_NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A device name the driver turns into a path component (mnt/<basename>). */
const DEVICE_PATTERN = /^\/dev\/[a-z][a-z0-9]{0,15}$/;

/** The paths of one instance's bundle (see the layout above). */
export interface Bundle {
  /** <stateDir>/<id>: the bundle itself, runc's `--bundle`. */
  dir: string;
  /** Mount point of the root volume. */
  rootfs: string;
  /** The metadata files, seen read-only at /run/kiln inside. */
  meta: string;
  /** The tmpfs holding the further volumes' mount points, seen at /mnt inside. */
  volumes: string;
  /** The OCI config.json. */
  config: string;
  /** spec.json: the InstanceSpec of the last start, with any hot-attached volumes. */
  spec: string;
  /** runc's JSON log of the create step. */
  runcLog: string;
  /** Written by libexec/kiln-shim.py when init ends: `exited N` or `signal N`. */
  exit: string;
  /** The instance's /etc/resolv.conf, when it gets one. */
  resolvConf: string;
}

/** Where the bundle of instance `id` lives under `stateDir` (nothing is created). */
export function bundleAt(stateDir: string, id: string): Bundle {
  const dir = join(stateDir, id);
  return {
    dir, rootfs: join(dir, 'rootfs'), meta: join(dir, 'meta'), volumes: join(dir, 'mnt'),
    config: join(dir, 'config.json'), spec: join(dir, 'spec.json'), runcLog: join(dir, 'runc.log'), exit: join(dir, 'exit'), resolvConf: join(dir, 'resolv.conf'),
  };
}

/** Throws unless `id` is usable as an instance id by the runc driver. */
export function validateId(id: string): void {
  // The id is a path component, a runc argument and the hostname.
  if (!ID_PATTERN.test(id) || id === 'runc') throw new Error(`invalid instance id for the runc driver: ${JSON.stringify(id)}`);
}

/** Throws unless the spec can be started: valid id, metadata names and devices, positive limits, one root volume. */
export function validateSpec(spec: InstanceSpec): void {
  validateId(spec.id);
  for (const name of Object.keys(spec.metadata)) {
    if (!META_NAME_PATTERN.test(name)) throw new Error(`invalid metadata file name: ${JSON.stringify(name)}`);
  }
  if (!(spec.memoryMiB > 0) || !(spec.vcpus > 0)) throw new Error(`instance ${spec.id} needs positive vcpus and memoryMiB`);
  rootVolume(spec);
  const names = spec.volumes.map((v) => { validateDevice(v); return basename(v.device); });
  if (new Set(names).size !== names.length) throw new Error(`instance ${spec.id} has two volumes at the same device`);
}

/** Throws unless the volume's device name is one the driver can make a mount point of. */
export function validateDevice(v: VolumeAttachment): void {
  if (!DEVICE_PATTERN.test(v.device)) throw new Error(`invalid device name for the runc driver: ${JSON.stringify(v.device)}`);
}

/** The spec's one root volume; throws when it has none or several. */
export function rootVolume(spec: InstanceSpec): VolumeAttachment {
  const roots = spec.volumes.filter((v) => v.root);
  if (roots.length !== 1) throw new Error(`instance ${spec.id} needs exactly one root volume, has ${roots.length}`);
  return roots[0];
}

/**
 * The state directory and the bundle's, 0700 (user data, the spec, the guest's mounts: no other host user's to enter), and its rootfs
 * mount point. `passable`: instances run as unprivileged host uids (userns.ts), whose runc init passes through the state directory:
 * it is 0701 then (x for others, never r; its bundles stay 0700, each its own instance's), never tightened back to 0700 meanwhile.
 */
export async function makeBundleDirs(stateDir: string, b: Bundle, passable = false): Promise<void> {
  if (passable) {
    await mkdir(stateDir, { recursive: true, mode: PRIVATE_DIR });
    if (((await stat(stateDir)).mode & 0o7777) !== (PRIVATE_DIR | 0o001)) await chmod(stateDir, PRIVATE_DIR | 0o001);
  } else {
    await privateDir(stateDir);
  }
  await privateDir(b.dir);
  await mkdir(b.rootfs, { recursive: true });
}

/** Writes the metadata files, spec.json and config.json of a bundle whose directories may not exist yet. */
/** What a start adds to the OCI config: lxcfs's proc files, the seccomp allow-list (unless not `hardened`), a last `adjust` (userns.ts). */
export interface BundleExtras {
  lxcfs?: string;
  hardened?: boolean;
  adjust?: (config: Record<string, unknown>) => Record<string, unknown>;
}

export async function writeBundle(spec: InstanceSpec, b: Bundle, cgroups: CgroupLayout, resolvConf?: string, extras: BundleExtras = {}): Promise<void> {
  // The bundle is 0700 (makeBundleDirs): no other host user enters it. What the guest sees
  // (/run/kiln, /etc/resolv.conf) keeps the modes it always had, whatever the server's umask.
  await privateDir(b.dir);
  await mkdir(b.meta, { recursive: true });
  await chmod(b.meta, 0o755);
  for (const [name, content] of Object.entries(spec.metadata)) {
    await writeFile(join(b.meta, name), content);
    await chmod(join(b.meta, name), 0o644);
  }
  await writeFile(b.spec, encodeSpec(spec), { mode: 0o600 });
  if (resolvConf !== undefined) {
    await writeFile(b.resolvConf, resolvConf);
    await chmod(b.resolvConf, 0o644);
  }
  const config = ociConfig(spec, b.meta, b.volumes, cgroups, resolvConf !== undefined ? b.resolvConf : undefined);
  // lxcfs's proc files over the instance's own (lxcfs.ts): /proc/meminfo says the instance type's memory.
  if (extras.lxcfs) (config.mounts as unknown[]).push(...lxcfsMounts(extras.lxcfs));
  if (extras.hardened === false) (config.linux as Record<string, unknown>).seccomp = permissiveProfile();
  await writeFile(b.config, JSON.stringify(extras.adjust ? extras.adjust(config) : config, null, 2), { mode: 0o600 });
}

/** Replaces spec.json atomically: a crash leaves the old spec or the new one, never half of one. */
export async function writeSpec(b: Bundle, spec: InstanceSpec): Promise<void> {
  const tmp = `${b.spec}.tmp`;
  await writeFile(tmp, encodeSpec(spec), { mode: 0o600 });
  await rename(tmp, b.spec);
}

/** The spec instance `id` was last started with (as updated by attach/detach); throws when it is not started. */
export async function readSpec(b: Bundle, id: string): Promise<InstanceSpec> {
  const text = await readFile(b.spec, 'utf8').catch(() => {
    throw new HostCommandError(`instance ${id} is not started here: nothing to reboot`, [], '');
  });
  return decodeSpec(text);
}

/** Metadata as stored in spec.json: JSON has no bytes, so Buffers become base64. */
type StoredMetadata = Record<string, string | { base64: string }>;

/** spec.json's text for `spec`. */
function encodeSpec(spec: InstanceSpec): string {
  const metadata: StoredMetadata = {};
  for (const [k, v] of Object.entries(spec.metadata)) metadata[k] = typeof v === 'string' ? v : { base64: v.toString('base64') };
  return JSON.stringify({ ...spec, metadata }, null, 2);
}

/** The InstanceSpec in spec.json's text (the inverse of encodeSpec). */
function decodeSpec(text: string): InstanceSpec {
  const stored = JSON.parse(text) as Omit<InstanceSpec, 'metadata'> & { metadata: StoredMetadata };
  const metadata: InstanceSpec['metadata'] = {};
  for (const [k, v] of Object.entries(stored.metadata)) metadata[k] = typeof v === 'string' ? v : Buffer.from(v.base64, 'base64');
  return { ...stored, metadata };
}

/** Removes a bundle directory; refuses while anything is mounted in it (so never deletes through a mount). */
export async function removeBundle(b: Bundle): Promise<void> {
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
