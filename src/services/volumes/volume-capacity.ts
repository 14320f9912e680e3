/**
 * Whether the volume pool has room for a new volume or a larger one, so a
 * volume is never promised more space than the host's disk has: one volume
 * (or one growth) no larger than the pool's free space, and the provisioned
 * sizes of all live volumes together at most `volumeOvercommit` (default 4)
 * x the pool's size. Volume files are sparse, so overcommit is how much of
 * the promised space may be unwritten at once. Beyond that:
 * InsufficientVolumeCapacity, as EC2 answers when it cannot provision a volume.
 */
import type { Context } from '../core/context.js';
import { InsufficientCapacity } from '../core/errors.js';

const GiB = 1024 ** 3;
export const DEFAULT_VOLUME_OVERCOMMIT = 4;

/** Provisioned GiB of every volume that holds (or will hold) a file in the pool. */
async function provisionedGiB(ctx: Context): Promise<number> {
  return (await ctx.store.volumes.list()).filter((v) => v.state !== 'deleted' && v.state !== 'deleting').reduce((a, v) => a + v.size, 0);
}

/** Throws InsufficientVolumeCapacity unless the pool can take `addGiB` more (a new volume, or a volume's growth). */
export async function checkVolumeRoom(ctx: Context, addGiB: number): Promise<void> {
  if (addGiB <= 0) return;
  const { sizeBytes, freeBytes } = await ctx.pool.space();
  const overcommit = ctx.capacity?.volumeOvercommit ?? DEFAULT_VOLUME_OVERCOMMIT;
  const refuse = (why: string): never => {
    throw new InsufficientCapacity('InsufficientVolumeCapacity', `There is not enough capacity to fulfill your EBS volume provision request: ${why}.`);
  };
  if (addGiB * GiB > freeBytes) refuse(`${addGiB} GiB asked, the volume pool has ${(freeBytes / GiB).toFixed(1)} GiB free`);
  const promised = await provisionedGiB(ctx);
  if ((promised + addGiB) * GiB > overcommit * sizeBytes) {
    refuse(`${promised} GiB already provisioned, ${addGiB} GiB asked; the volume pool of ${(sizeBytes / GiB).toFixed(1)} GiB takes at most ${overcommit}x its size`);
  }
}
