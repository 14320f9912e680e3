/**
 * The OCI runtime config (config.json) of one Kiln instance, based on what
 * `runc spec` generates, made into a small "machine": /sbin/init as PID 1 on
 * a console (a pty, see libexec/kiln-shim.py), its own
 * pid/mount/ipc/uts/network/cgroup namespaces, a writable root filesystem (the
 * loop-mounted root volume), the instance's metadata read-only at /run/kiln,
 * its further volumes under /mnt, and the instance type's CPU and memory as
 * cgroup limits. systemd boots in it as PID 1 (docs/debian-in-runc.md says
 * why each setting is there); a simple init does not mind them.
 */
import type { InstanceSpec } from '../runtime.js';
import { VOLUMES_MOUNT } from '../runtime.js';
import { netnsPath } from '../net/host-network.js';
import { seccompProfile } from './seccomp.js';

/** Where the metadata directory appears inside the instance. */
export const METADATA_MOUNT = '/run/kiln';

/** The cgroup (relative to each hierarchy's root) an instance runs in. */
export function cgroupPath(id: string): string {
  return `/kiln/${id}`;
}

/**
 * Enough for a root shell and ordinary services (chown, setuid daemons, ping,
 * binding low ports, mknod). No CAP_SYS_ADMIN, no CAP_NET_ADMIN: the runtime
 * brings the loopback interface up from the host before init starts.
 */
export const CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_CHROOT', 'CAP_MKNOD', 'CAP_AUDIT_WRITE', 'CAP_SETFCAP',
  // reboot(2) inside a pid namespace ends its init with a signal saying poweroff (SIGINT) or reboot
  // (SIGHUP) instead of failing; kexec, which would replace the host's kernel, is refused by seccomp (seccomp.ts).
  'CAP_SYS_BOOT',
];

/** How the host's cgroups are mounted (host.ts cgroupLayout() finds out). */
export interface CgroupLayout {
  /** 2: one unified cgroup2 hierarchy at /sys/fs/cgroup; 1: v1 hierarchies, with name=systemd. */
  version: 1 | 2;
  /** v1 only: a cgroup2 hierarchy at /sys/fs/cgroup/unified too (systemd's hybrid layout). */
  unified: boolean;
}

const CPU_PERIOD_US = 100_000;

/** Processes per vCPU when the spec names no pidsLimit (host-limits.ts sets one, bounded host-wide). */
export const DEFAULT_PIDS_PER_VCPU = 2048;

/** The instance's pids.max: a fork bomb inside ends at it, not at the host's pid_max. */
export function pidsLimit(spec: InstanceSpec): number {
  return spec.pidsLimit ?? Math.ceil(spec.vcpus) * DEFAULT_PIDS_PER_VCPU;
}

/**
 * Builds config.json for a bundle whose root filesystem is `<bundle>/rootfs`,
 * metadata dir is `metaDir` and volumes dir is `volumesDir` (a shared mount
 * on the host, see the driver).
 */
export function ociConfig(spec: InstanceSpec, metaDir: string, volumesDir: string, cgroups: CgroupLayout, resolvConf?: string): Record<string, unknown> {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      // PID 1 of a machine writes to /dev/console, which must be a terminal (systemd refuses a file).
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['/sbin/init'],
      // container=oci: systemd-detect-virt and cloud-init's ds-identify see a container.
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'container=oci'],
      cwd: '/',
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      // No rlimits: the instance inherits the server's (raising a hard limit can be refused on the host).
      // An instance is a machine: setuid programs (su, sudo) must work in it.
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: spec.hostname ?? spec.id,
    mounts: [
      ...mounts(spec, metaDir, volumesDir, cgroups.version === 2 ? 'rw' : 'ro'), ...cgroupMounts(spec.id, cgroups),
      // The resolvers an instance that reaches the outside uses (as Docker gives a container its own file).
      ...(resolvConf ? [{ destination: '/etc/resolv.conf', type: 'bind', source: resolvConf, options: ['bind', 'rw', 'nosuid', 'nodev', 'noexec'] }] : []),
    ],
    linux: {
      cgroupsPath: cgroupPath(spec.id),
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: Math.floor(spec.memoryMiB * 1024 * 1024) },
        cpu: { quota: Math.round(spec.vcpus * CPU_PERIOD_US), period: CPU_PERIOD_US },
        pids: { limit: pidsLimit(spec) },
      },
      // With a network, the instance joins the namespace runtime/net made for it (eth0 on its VPC's bridge).
      namespaces: [{ type: 'pid' }, spec.network ? { type: 'network', path: netnsPath(spec.id) } : { type: 'network' },
        { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      // An allow-list as container runtimes ship (seccomp.ts): no keyrings, bpf, modules, kexec, mounts or new namespaces.
      seccomp: seccompProfile(),
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

function mounts(spec: InstanceSpec, metaDir: string, volumesDir: string, cgroupsMode: 'ro' | 'rw'): Array<Record<string, unknown>> {
  // /run is a fresh tmpfs each boot as on a real machine, so neither it nor the
  // /run/kiln mount point is written to the root volume (and so into images).
  const runMiB = Math.max(8, Math.ceil(spec.memoryMiB / 10));
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', cgroupsMode] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', `size=${runMiB}m`] },
    // systemd cannot mount these itself without CAP_SYS_ADMIN. /tmp stays on the root volume, as Debian keeps it.
    { destination: '/run/lock', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=5m'] },
    { destination: METADATA_MOUNT, type: 'bind', source: metaDir, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    // rslave: volumes the host mounts in volumesDir later (hot-attach) appear here, and leave on detach.
    // ro applies to the directory itself only: the instance cannot plant entries (symlinks) in it that the
    // host would follow when it mounts there; the volumes mounted in it are writable.
    { destination: VOLUMES_MOUNT, type: 'bind', source: volumesDir, options: ['rbind', 'rslave', 'ro', 'nosuid', 'nodev'] },
  ];
}

/**
 * systemd needs its own cgroup tree writable (and, on a v1 host, the cgroup2
 * tree of the hybrid layout for reliable "cgroup empty" events). Only those:
 * the controllers' trees stay read-only, so the guest cannot raise its own
 * limits there. On a v2 host the one hierarchy is the namespaced view of the
 * instance's own cgroup; systemd needs it writable.
 */
function cgroupMounts(id: string, cgroups: CgroupLayout): Array<Record<string, unknown>> {
  const options = ['rbind', 'rw', 'nosuid', 'noexec', 'nodev'];
  if (cgroups.version === 2) return [];
  const trees = ['systemd', ...(cgroups.unified ? ['unified'] : [])];
  return trees.map((tree) => ({ destination: `/sys/fs/cgroup/${tree}`, type: 'bind', source: `/sys/fs/cgroup/${tree}${cgroupPath(id)}`, options }));
}
