/**
 * Encryption of blocks at rest (docs/block-store.md, "Encrypted blocks"):
 * AES-256-GCM under a data key, one data key per KMS key (keyring.ts).
 *
 *  - A block's id is HMAC-SHA-256 of its bytes under the data key's id key,
 *    not SHA-256: blocks of two keys never share an id (no dedup across keys),
 *    and someone who reads the ids (the index, a pack trailer, the metadata
 *    database) cannot test a guess ("is this file in there?") by hashing it,
 *    as a bare SHA-256, or SHA-256 of (key id | bytes) with a public key id,
 *    would let them. Within one key, equal blocks have equal ids: dedup.
 *  - The nonce is 96 random bits per encryption. Dedup is decided by the id
 *    before anything is encrypted, so a block is encrypted once per key (a
 *    race between two writers, or a block written again after a prune
 *    removed it, encrypts it again under a fresh nonce); identical
 *    ciphertexts are never needed, so nothing is derived from the data.
 *    Random 96-bit nonces stay safe (a repeat has probability under 2^-32)
 *    for 2^32 encryptions per key: 2 PiB of 512 KiB blocks.
 *  - The additional data binds the ciphertext to its place: format version,
 *    data key id, block id, size and codec. Bytes moved to another entry, or
 *    an entry's codec changed, fail authentication.
 *
 * Stored bytes: nonce (12) | ciphertext | tag (16), SEAL_OVERHEAD more than
 * the encoded block (codec.ts compresses before encryption, as restic does).
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { BlockHash } from '../blocks.js';

const NONCE = 12;
const TAG = 16;
export const SEAL_OVERHEAD = NONCE + TAG;

/** A data key as the store uses it: its id (32 hex), and the two keys derived from its secret. */
export interface DataKey {
  id: string;
  /** AES-256-GCM key for block contents. */
  enc: Buffer;
  /** HMAC-SHA-256 key for block ids. */
  mac: Buffer;
}

/** The data key `id` with its two subkeys derived (HKDF-SHA-256) from the 32-byte `secret`. */
export function dataKey(id: string, secret: Buffer): DataKey {
  const derive = (info: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.from(id), info, 32));
  return { id, enc: derive('kiln block encryption v1'), mac: derive('kiln block id v1') };
}

/** The id of `data` under `key`: HMAC-SHA-256, 64 lower-case hex like a plain block's SHA-256. */
export function keyedId(key: DataKey, data: Uint8Array): BlockHash {
  return createHmac('sha256', key.mac).update(data).digest('hex') as BlockHash;
}

function aad(key: DataKey, id: BlockHash, size: number, codec: number): Buffer {
  return Buffer.from(`kiln-block-v1\n${key.id}\n${id}\n${size}\n${codec}`);
}

/** The stored bytes of the encoded block `bytes` (`size` bytes as a block, encoded with `codec`). */
export function sealBlock(key: DataKey, id: BlockHash, size: number, codec: number, bytes: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv('aes-256-gcm', key.enc, nonce);
  c.setAAD(aad(key, id, size, codec));
  const body = c.update(bytes);
  const final = c.final();
  return Buffer.concat([nonce, body, final, c.getAuthTag()]);
}

/** The encoded block from its stored bytes, or undefined when they do not authenticate (damaged, moved, or another key's). */
export function openBlock(key: DataKey, id: BlockHash, size: number, codec: number, stored: Buffer): Buffer | undefined {
  if (stored.length < SEAL_OVERHEAD) return undefined;
  try {
    const d = createDecipheriv('aes-256-gcm', key.enc, stored.subarray(0, NONCE));
    d.setAAD(aad(key, id, size, codec));
    d.setAuthTag(stored.subarray(stored.length - TAG));
    return Buffer.concat([d.update(stored.subarray(NONCE, stored.length - TAG)), d.final()]);
  } catch {
    return undefined;
  }
}
