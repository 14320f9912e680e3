/**
 * Which key a snapshot's blocks are encrypted under in the block store, and
 * moving a block map under another key. An encrypted snapshot's blocks are
 * stored encrypted under the data key of its KMS key (core/kms.ts
 * blockKeyName); an unencrypted one's plain. A copy under another key
 * (CopySnapshot or CopyImage with a KmsKeyId, another account's copy of a
 * shared snapshot, an unencrypted source copied with Encrypted) reads every
 * block and stores it again under its own key: ids differ per key, so the
 * source's map cannot be shared then.
 */
import type { BlockHash, BlockMap } from '../../blocks/blocks.js';
import type { SnapshotRecord } from '../../model/records.js';
import type { Context } from '../core/context.js';
import { blockKeyName } from '../core/kms.js';

/** The block store's key name for the snapshot's blocks; undefined when it is not encrypted. */
export const snapshotKey = (s: SnapshotRecord): string | undefined => blockKeyName(s, s);

/** Blocks re-encrypted at once (each is a read, a decryption, an encryption and an append). */
const LANES = 4;

/**
 * `map` with every block stored under `key` (undefined: plain): a block
 * already stored so keeps its id, any other is read (verified) and put under
 * `key`. Durable when this resolves; the caller holds the pruner.
 */
export async function mapUnderKey(ctx: Context, map: BlockMap, key: string | undefined): Promise<BlockMap> {
  const writer = ctx.blocks.writer({ key });
  const blocks: Array<[number, BlockHash]> = new Array(map.blocks.length);
  let next = 0;
  const lane = async () => {
    while (next < map.blocks.length) {
      const i = next++;
      const [index, id] = map.blocks[i]!;
      blocks[i] = [index, await writer.has(id) ? id : await writer.put(await ctx.blocks.get(id))];
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  await writer.commit();
  return { sizeBytes: map.sizeBytes, blocks };
}

/** The block map for `target`, a copy of the snapshot whose map is `source`: the same map when the keys agree. */
export function copyMap(ctx: Context, source: BlockMap, target: SnapshotRecord): Promise<BlockMap> {
  return mapUnderKey(ctx, source, snapshotKey(target));
}
