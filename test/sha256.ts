import { createHash, createHmac } from 'node:crypto';
import type { BinaryLike } from 'node:crypto';

const toBinary = (d: unknown): BinaryLike =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : String(d);

/** The hash constructor @smithy/signature-v4's SignatureV4 wants, for signing requests in tests: SHA-256, or HMAC-SHA256 when given a key. */
export class Sha256 {
  private readonly h;
  constructor(key?: unknown) { this.h = key ? createHmac('sha256', toBinary(key)) : createHash('sha256'); }
  update(d: unknown) { this.h.update(toBinary(d)); }
  async digest() { return new Uint8Array(this.h.digest()); }
}
