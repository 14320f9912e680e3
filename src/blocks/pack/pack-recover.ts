/**
 * What opening a pack store does with sealed packs the index does not know
 * (a crash lost their rows): each is indexed again from its own trailer, or
 * deleted when the trailer cannot be trusted (it was never indexed, so
 * nothing refers to it). docs/block-store.md, "What a crash can leave behind".
 */
import { open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { readTrailer } from './pack-format.js';
import { PACK_NAME } from './pack-files.js';
import type { PackIndex } from './pack-index.js';

export async function indexUnknownPacks(packsDir: string, index: PackIndex, log?: (msg: string) => void): Promise<void> {
  const known = index.packIds();
  for (const name of await readdir(packsDir)) {
    const id = PACK_NAME.exec(name)?.[1];
    if (!id || known.has(id)) continue;
    const file = join(packsDir, name);
    const fh = await open(file, 'r');
    const { size } = await fh.stat();
    const entries = await readTrailer(fh, size).finally(() => fh.close());
    if (typeof entries === 'string') {
      log?.(`kiln: deleting pack ${id}: ${entries}; nothing referred to it`);
      await unlink(file);
    } else {
      index.addPacks([{ id, bytes: size, entries }]);
    }
  }
}
