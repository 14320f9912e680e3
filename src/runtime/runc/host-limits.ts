/**
 * What the host can give instances, read from the host: its memory (for
 * RuntimeDriver.capacity) and the bound on processes. Each instance gets a
 * pids.max by its vCPUs (`perVcpu` each, OCI linux.resources.pids), and all
 * of them together are bounded by the pids.max of the `kiln` parent cgroup
 * (half the host's pid_max unless told), so neither one guest's fork bomb
 * nor many guests together can take every process slot of the host.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostCapacity, InstanceSpec } from '../runtime.js';
import type { CgroupLayout } from './oci-config.js';
import { cgroupPath, DEFAULT_PIDS_PER_VCPU } from './oci-config.js';
import { ensureLxcfs } from './lxcfs.js';

export interface PidsPolicy {
  /** Processes per vCPU of the instance type. Default 2048. */
  perVcpu?: number;
  /** All instances together (the parent cgroup), and so each one too. Default: half the host's kernel.pid_max. */
  hostMax?: number;
}

/** The host's memory, from /proc/meminfo. */
export async function hostCapacity(): Promise<HostCapacity> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kib = Number(/^MemTotal:\s+(\d+) kB/m.exec(text)?.[1]);
  if (!Number.isFinite(kib)) throw new Error('/proc/meminfo has no MemTotal');
  return { memoryMiB: Math.floor(kib / 1024) };
}

/** The bound on all instances' processes together. */
export async function hostPidsMax(policy: PidsPolicy): Promise<number> {
  if (policy.hostMax) return policy.hostMax;
  const pidMax = Number((await readFile('/proc/sys/kernel/pid_max', 'utf8').catch(() => '32768')).trim());
  return Math.max(1024, Math.floor(pidMax / 2));
}

/** One instance's pids.max: by its vCPUs, never beyond the host-wide bound. */
export function instancePidsLimit(vcpus: number, policy: PidsPolicy, hostMax: number): number {
  return Math.max(16, Math.min(hostMax, Math.ceil(vcpus) * (policy.perVcpu ?? DEFAULT_PIDS_PER_VCPU)));
}

/**
 * What a start needs of the host beside the spec: the spec with its
 * pidsLimit (its own, or by its vCPUs; never beyond the host-wide bound,
 * which the parent cgroup gets), and the lxcfs mount to bind /proc files from.
 */
export async function prepareStart(asked: InstanceSpec, policy: PidsPolicy, cgroups: CgroupLayout): Promise<{ spec: InstanceSpec; lxcfs?: string }> {
  const hostPids = await hostPidsMax(policy);
  await boundAllInstances(cgroups, hostPids);
  const spec = { ...asked, pidsLimit: Math.min(hostPids, asked.pidsLimit ?? instancePidsLimit(asked.vcpus, policy, hostPids)) };
  return { spec, lxcfs: await ensureLxcfs() };
}

/** The pids controller's directory of the instances' parent cgroup (where runc makes <parent>/<id>). */
export function parentPidsDir(cgroups: CgroupLayout): string {
  const parent = cgroupPath('x').slice(0, -2);
  return cgroups.version === 2 ? join('/sys/fs/cgroup', parent) : join('/sys/fs/cgroup/pids', parent);
}

/**
 * Sets the parent cgroup's pids.max to the host-wide bound (making the
 * cgroup if need be; on cgroup v2 with the pids controller enabled for it, as
 * runc would enable it for the instance's own cgroup).
 */
export async function boundAllInstances(cgroups: CgroupLayout, hostMax: number): Promise<void> {
  const dir = parentPidsDir(cgroups);
  if (cgroups.version === 2) await writeFile('/sys/fs/cgroup/cgroup.subtree_control', '+pids').catch(() => undefined);
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  await writeFile(join(dir, 'pids.max'), String(hostMax)).catch(() => undefined);
}
