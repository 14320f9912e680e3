/**
 * The OCI runtime config (config.json) of one Kiln instance, based on what
 * `runc spec` generates, made into a small "machine": /sbin/init as PID 1, its
 * own pid/mount/ipc/uts/network namespaces, a writable root filesystem (the
 * loop-mounted root volume), the instance's metadata read-only at /run/kiln,
 * its further volumes under /mnt, and the instance type's CPU and memory as
 * cgroup limits.
 */
import type { InstanceSpec } from '../runtime.js';
import { VOLUMES_MOUNT } from '../runtime.js';
import { netnsPath } from '../net/host-network.js';

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
];

const CPU_PERIOD_US = 100_000;

/**
 * Builds config.json for a bundle whose root filesystem is `<bundle>/rootfs`,
 * metadata dir is `metaDir` and volumes dir is `volumesDir` (a shared mount
 * on the host, see the driver).
 */
export function ociConfig(spec: InstanceSpec, metaDir: string, volumesDir: string): Record<string, unknown> {
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/sbin/init'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      cwd: '/',
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      // No rlimits: the instance inherits the server's (raising a hard limit can be refused on the host).
      // An instance is a machine: setuid programs (su, sudo) must work in it.
      noNewPrivileges: false,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: spec.id,
    mounts: mounts(spec, metaDir, volumesDir),
    linux: {
      cgroupsPath: cgroupPath(spec.id),
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: Math.floor(spec.memoryMiB * 1024 * 1024) },
        cpu: { quota: Math.round(spec.vcpus * CPU_PERIOD_US), period: CPU_PERIOD_US },
      },
      // With a network, the instance joins the namespace runtime/net made for it (eth0 on its VPC's bridge).
      namespaces: [{ type: 'pid' }, spec.network ? { type: 'network', path: netnsPath(spec.id) } : { type: 'network' },
        { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

function mounts(spec: InstanceSpec, metaDir: string, volumesDir: string): Array<Record<string, unknown>> {
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
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    { destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=755', `size=${runMiB}m`] },
    { destination: METADATA_MOUNT, type: 'bind', source: metaDir, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
    // rslave: volumes the host mounts in volumesDir later (hot-attach) appear here, and leave on detach.
    // ro applies to the directory itself only: the instance cannot plant entries (symlinks) in it that the
    // host would follow when it mounts there; the volumes mounted in it are writable.
    { destination: VOLUMES_MOUNT, type: 'bind', source: volumesDir, options: ['rbind', 'rslave', 'ro', 'nosuid', 'nodev'] },
  ];
}
