/**
 * The pack store's encryption hooks: how a block becomes the bytes a pack
 * holds (encoded by codec.ts, then sealed under a data key when it has one)
 * and back, verified against its name. The cipher is crypt/block-cipher.ts,
 * the data keys crypt/keyring.ts; the keyring is opened at the first use of
 * an encrypted block, so a store of plain blocks never needs the master key.
 */
import { join } from 'node:path';
import { hashBlock } from '../blocks.js';
import type { BlockHash } from '../blocks.js';
import { keyedId, openBlock, sealBlock } from '../crypt/block-cipher.js';
import type { DataKey } from '../crypt/block-cipher.js';
import { Keyring } from '../crypt/keyring.js';
import { decodeBlock, encodeBlock } from './codec.js';

/** How a block is stored: its codec and, when encrypted, its data key's id. */
export interface StoredForm { size: number; codec: number; key?: string | null }

export class PackKeys {
  private ring: Promise<Keyring> | undefined;

  /** `dir` is the store's; `masterKeyFile` where the master key is (absent: the store refuses encrypted blocks). */
  constructor(private readonly dir: string, private readonly masterKeyFile: string | undefined) {}

  private keyring(): Promise<Keyring> {
    if (!this.masterKeyFile) return Promise.reject(new Error('this block store has no master key file: it cannot encrypt or decrypt blocks'));
    if (!this.ring) {
      this.ring = Keyring.open(join(this.dir, 'keys'), this.masterKeyFile);
      this.ring.catch(() => { this.ring = undefined; });
    }
    return this.ring;
  }

  /** The data key for the key name `name` (made the first time). */
  async forName(name: string): Promise<DataKey> {
    return (await this.keyring()).forName(name);
  }

  async byId(id: string): Promise<DataKey> {
    const key = (await this.keyring()).byId(id);
    if (!key) throw new Error(`the data key ${id} is not in ${join(this.dir, 'keys')}: its blocks cannot be read`);
    return key;
  }

  /** Whether `data` is named `hash` the way blocks of `key` (a data key id, or null: plain) are named. */
  async matches(hash: BlockHash, data: Uint8Array, key: string | null | undefined): Promise<boolean> {
    return (key ? keyedId(await this.byId(key), data) : hashBlock(data)) === hash;
  }

  /**
   * The block's bytes from `stored`, with `actual` the name they would have
   * (undefined when they do not decrypt: damaged, or moved from elsewhere).
   */
  async open(hash: BlockHash, at: StoredForm, stored: Buffer): Promise<{ data: Buffer; actual: string }> {
    if (!at.key) {
      const data = await decodeBlock(at.codec, stored, at.size);
      return { data, actual: hashBlock(data) };
    }
    const key = await this.byId(at.key);
    const encoded = openBlock(key, hash, at.size, at.codec, stored);
    if (!encoded) return { data: Buffer.alloc(0), actual: 'unauthenticated' };
    const data = await decodeBlock(at.codec, encoded, at.size);
    return { data, actual: keyedId(key, data) };
  }
}

/** The id of `data` (SHA-256, or its keyed id under `key`). */
export const idOf = (data: Uint8Array, key: DataKey | undefined): BlockHash => key ? keyedId(key, data) : hashBlock(data);

/** What a pack stores for block `hash`: encoded (codec.ts), then sealed under `key` when there is one. */
export async function storedForm(hash: BlockHash, data: Uint8Array, key: DataKey | undefined): Promise<{ codec: number; bytes: Uint8Array; key?: string }> {
  const block = await encodeBlock(data);
  if (!key) return block;
  return { codec: block.codec, bytes: sealBlock(key, hash, data.length, block.codec, block.bytes), key: key.id };
}
