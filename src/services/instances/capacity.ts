/**
 * Whether the host can hold more instances: by memory, against what the
 * runtime says the host has (RuntimeDriver.capacity) and the context's
 * CapacityPolicy. An instance claims its type's memory from the moment it is
 * pending until it is terminated or stopped; a type larger than the host, or
 * one more instance than the host holds, is InsufficientInstanceCapacity, as
 * EC2 answers when it has no room for the type.
 */
import type { InstanceRecord } from '../../model/records.js';
import type { Context } from '../core/context.js';
import { InsufficientCapacity } from '../core/errors.js';
import { knownInstanceType } from './instance-types.js';

/** States in which an instance holds its memory on the host. */
const HOLDING: ReadonlyArray<InstanceRecord['state']> = ['pending', 'running', 'stopping', 'shutting-down'];

/** The memory (MiB) the instances of this server hold on the host now. */
async function heldMemoryMiB(ctx: Context): Promise<number> {
  let sum = 0;
  for (const inst of await ctx.store.instances.list()) {
    if (HOLDING.includes(inst.state)) sum += knownInstanceType(inst.instanceType).memoryMiB;
  }
  return sum;
}

function refusal(instanceType: string, hostMiB: number): InsufficientCapacity {
  return new InsufficientCapacity('InsufficientInstanceCapacity',
    `We currently do not have sufficient ${instanceType} capacity on this host (${knownInstanceType(instanceType).memoryMiB} MiB per instance; the host has ${hostMiB} MiB, shared by the instances it holds). Our system will be working on provisioning additional capacity. You can currently get capacity by choosing a smaller instance type or stopping instances.`);
}

/**
 * How many more instances of `instanceType` (up to `want`) the host has room
 * for; throws InsufficientInstanceCapacity when fewer than `min`. Unbounded
 * when the runtime says nothing of its capacity.
 */
export async function instanceRoom(ctx: Context, instanceType: string, min: number, want: number): Promise<number> {
  const host = await ctx.runtime.capacity?.();
  if (!host) return want;
  const { memoryMiB } = knownInstanceType(instanceType);
  const policy = ctx.capacity ?? {};
  if (memoryMiB > host.memoryMiB * (policy.instanceMemoryRatio ?? 1)) throw refusal(instanceType, host.memoryMiB);
  const free = host.memoryMiB * (policy.memoryOvercommit ?? 1) - await heldMemoryMiB(ctx);
  const room = Math.max(0, Math.floor(free / memoryMiB));
  if (room < min) throw refusal(instanceType, host.memoryMiB);
  return Math.min(want, room);
}

/** StartInstances: throws InsufficientInstanceCapacity unless the host holds all of `insts` (stopped ones) at once. */
export async function checkStartRoom(ctx: Context, insts: InstanceRecord[]): Promise<void> {
  const host = await ctx.runtime.capacity?.();
  if (!host || !insts.length) return;
  const policy = ctx.capacity ?? {};
  let asked = 0;
  for (const i of insts) {
    const { memoryMiB } = knownInstanceType(i.instanceType);
    if (memoryMiB > host.memoryMiB * (policy.instanceMemoryRatio ?? 1)) throw refusal(i.instanceType, host.memoryMiB);
    asked += memoryMiB;
  }
  if (asked + await heldMemoryMiB(ctx) > host.memoryMiB * (policy.memoryOvercommit ?? 1)) throw refusal(insts[0]!.instanceType, host.memoryMiB);
}
