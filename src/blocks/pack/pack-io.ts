/** Small file helpers of the pack store. */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { BLOCK_SIZE } from '../blocks.js';

export function checkSize(data: Uint8Array): void {
  if (data.length < 1 || data.length > BLOCK_SIZE) {
    throw new RangeError(`a block holds 1..${BLOCK_SIZE} bytes, not ${data.length}`);
  }
}

export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/** Up to `length` bytes at `offset` (fewer when the file ends first). */
export async function readAll(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

export async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    return await readAll(fh, offset, length);
  } finally {
    await fh.close();
  }
}

export function isCode(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === code;
}

