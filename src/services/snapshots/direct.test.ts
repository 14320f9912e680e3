/**
 * The EBS direct APIs' pure parts: block tokens (bound to their snapshot, index
 * and key; refused once expired or altered) and the LINEAR aggregate checksum.
 * test/ebs-sdk.test.ts and test/ebs-cli.test.ts drive the whole service.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { BlockHash } from '../../blocks/blocks.js';
import { blockToken, readBlockToken } from './direct-read.js';
import { linearChecksum } from './direct.js';

const key = randomBytes(32);
const hash = createHash('sha256').update('block').digest('hex') as BlockHash;
const now = 1_800_000_000;

test('a block token names its block for its snapshot and index, under its key, until it expires', () => {
  const t = blockToken(key, 'snap-0123456789abcdef0', 7, hash, now + 60);
  assert.match(t, /^[A-Za-z0-9+/]+={0,2}$/);
  assert.equal(readBlockToken(key, 'snap-0123456789abcdef0', 7, t, now), hash);
  assert.equal(readBlockToken(key, 'snap-0123456789abcdef0', 8, t, now), undefined);
  assert.equal(readBlockToken(key, 'snap-0123456789abcdef1', 7, t, now), undefined);
  assert.equal(readBlockToken(randomBytes(32), 'snap-0123456789abcdef0', 7, t, now), undefined);
  assert.equal(readBlockToken(key, 'snap-0123456789abcdef0', 7, t, now + 61), undefined);
  const raw = Buffer.from(t, 'base64');
  for (const at of [1, 10, raw.length - 1]) {
    const bad = Buffer.from(raw);
    bad[at]! ^= 1;
    assert.equal(readBlockToken(key, 'snap-0123456789abcdef0', 7, bad.toString('base64'), now), undefined, `byte ${at} altered`);
  }
  for (const junk of [undefined, '', 'x', '!!!!', 'A'.repeat(300)]) assert.equal(readBlockToken(key, 'snap-0123456789abcdef0', 7, junk, now), undefined);
});

test('LINEAR: SHA-256 over the raw block digests in index order, base64', () => {
  const blocks = [randomBytes(64), randomBytes(64), randomBytes(64)].map((b) => createHash('sha256').update(b).digest());
  const expected = createHash('sha256').update(Buffer.concat(blocks)).digest('base64');
  assert.equal(linearChecksum([[9, blocks[2]!.toString('hex')], [0, blocks[0]!.toString('hex')], [3, blocks[1]!.toString('hex')]]), expected);
});
