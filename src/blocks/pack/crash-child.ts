/**
 * For pack-store.test.ts: writes and removes blocks in a loop until it is
 * killed. After each commit it prints the committed hashes ("C <hash>...");
 * before a removal it prints what it is about to remove ("R <hash>...") so
 * the test knows which blocks may be gone. Blocks are random, 1..BLOCK_SIZE bytes;
 * with a master key file (argv[3]) two writers in three encrypt, under one of two keys.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { BLOCK_SIZE } from '../blocks.js';
import type { BlockHash } from '../blocks.js';
import { PackBlockStore } from './pack-store.js';

const store = await PackBlockStore.open(process.argv[2]!, { packBytes: 2 * 1024 * 1024, masterKeyFile: process.argv[3] });
const committed: BlockHash[] = [];
for (;;) {
  const w = store.writer({ key: process.argv[3] ? [undefined, 'key-a', 'key-b'][randomInt(3)] : undefined });
  const n = randomInt(1, 12);
  const hashes = await Promise.all(Array.from({ length: n }, () => w.put(randomBytes(randomInt(1, BLOCK_SIZE + 1)))));
  await w.commit();
  process.stdout.write(`C ${hashes.join(' ')}\n`);
  committed.push(...hashes);
  if (committed.length > 20 && randomInt(3) === 0) {
    const victims = committed.splice(0, randomInt(1, 10));
    process.stdout.write(`R ${victims.join(' ')}\n`);
    await store.remove(victims);
  }
}
