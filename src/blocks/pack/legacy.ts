/**
 * Kiln's first block store kept one file per block, `<dir>/<hh>/<hash>`.
 * Opening a pack store over such a directory moves those blocks into packs
 * (each verified on the way), then deletes the old files: a data directory
 * made by an earlier Kiln keeps its snapshots.
 */
import { readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hashBlock, isBlockHash } from '../blocks.js';
import type { BlockStore } from '../blocks.js';

const SHARD = /^[0-9a-f]{2}$/;

export async function importLegacyBlocks(dir: string, store: BlockStore, log: (msg: string) => void = () => undefined): Promise<number> {
  const shards = (await readdir(dir)).filter((n) => SHARD.test(n));
  if (!shards.length) return 0;
  const writer = store.writer();
  const done: string[] = [];
  let bad = 0;
  for (const shard of shards) {
    for (const name of (await readdir(join(dir, shard))).filter(isBlockHash)) {
      const file = join(dir, shard, name);
      const data = await readFile(file);
      // A damaged block is left where it is, for someone to look at; fsck will report the snapshots that miss it.
      if (data.length === 0 || hashBlock(data) !== name) {
        bad++;
        continue;
      }
      await writer.putHashed(name, data);
      done.push(file);
    }
  }
  await writer.commit();
  await Promise.all(done.map((f) => rm(f, { force: true })));
  for (const shard of shards) await rmdir(join(dir, shard)).catch(() => undefined);
  log(`kiln: moved ${done.length} blocks of the one-file-per-block store into packs${bad ? `; ${bad} damaged ones left in place` : ''}`);
  return done.length;
}
