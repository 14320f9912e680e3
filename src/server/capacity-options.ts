/**
 * The server's capacity settings: how far instances may claim the host's
 * memory and volumes its pool (services/core/context.ts CapacityPolicy), and
 * the bound on each instance's processes (runtime/runc/host-limits.ts). From
 * AppOptions, else from the environment of `kiln serve`:
 *
 *   KILN_MEMORY_OVERCOMMIT   instances' memory together, x the host's (default 1)
 *   KILN_INSTANCE_MEMORY     one instance's memory, x the host's (default 1)
 *   KILN_VOLUME_OVERCOMMIT   volumes' provisioned sizes together, x the pool's size (default 4)
 *   KILN_PIDS_PER_VCPU       processes per vCPU of an instance (default 2048)
 *   KILN_PIDS_MAX            all instances' processes together (default half of kernel.pid_max)
 */
import type { CapacityPolicy } from '../services/core/context.js';
import type { PidsPolicy } from '../runtime/runc/host-limits.js';

export interface CapacityOptions extends CapacityPolicy { pids?: PidsPolicy }

function positive(name: string, env: NodeJS.ProcessEnv): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, not '${v}'`);
  return n;
}

export function capacityFromEnv(env: NodeJS.ProcessEnv = process.env): CapacityOptions {
  return {
    memoryOvercommit: positive('KILN_MEMORY_OVERCOMMIT', env),
    instanceMemoryRatio: positive('KILN_INSTANCE_MEMORY', env),
    volumeOvercommit: positive('KILN_VOLUME_OVERCOMMIT', env),
    pids: { perVcpu: positive('KILN_PIDS_PER_VCPU', env), hostMax: positive('KILN_PIDS_MAX', env) },
  };
}
