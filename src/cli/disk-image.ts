/**
 * An untrusted disk image stays data: what `kiln image import` reads of a
 * disk file is that file and nothing else on the host. A raw file is read as
 * it is (never given to qemu-img, never probed for a format); a qcow2 file
 * (its magic) is checked before qemu-img converts it, with the format forced:
 *
 *   - a backing file (any: a host path, another image) is refused: qemu-img
 *     would read it into the import;
 *   - an external data file (qcow2 v3's data-file) is refused likewise;
 *   - a virtual size beyond the limit (--max-size, default 1 TiB) is refused.
 *
 * The checks read the qcow2 header itself and `qemu-img info --output=json`
 * (fields backing-filename, full-backing-filename, format-specific.data.data-file,
 * virtual-size); either one seeing a reference refuses the file. The path is
 * made absolute, so qemu-img never reads it as a protocol (`json:`, `nbd:`...).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UsageError } from './admin-client.js';

const run = promisify(execFile);
const GiB = 1024 ** 3;
export const DEFAULT_MAX_IMPORT_GIB = 1024;

/** An image refused before anything of it is uploaded; `code` is AWS's for a bad ImportImage/ImportSnapshot parameter. */
export class ImportRefused extends Error {
  constructor(readonly code: 'InvalidParameter' | 'InvalidParameterValue', message: string) { super(message); }
}

export interface DiskFile { format: 'raw' | 'qcow2'; virtualSize: number }

interface Qcow2Header { backing: boolean; dataFile: boolean; virtualSize: number }

/** The qcow2 header's facts, or undefined when the file is not qcow2 (no 'QFI\xfb' magic). */
async function qcow2Header(file: string): Promise<Qcow2Header | undefined> {
  const fh = await open(file, 'r');
  try {
    const h = Buffer.alloc(104);
    const { bytesRead } = await fh.read(h, 0, h.length, 0);
    if (bytesRead < 4 || !h.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return undefined;
    if (bytesRead < 72) throw new ImportRefused('InvalidParameter', `${file}: truncated qcow2 header`);
    const version = h.readUInt32BE(4);
    // Incompatible feature bit 2: the guest data lives in an external data file (version 3 and later).
    const dataFile = version >= 3 && bytesRead >= 80 && (h.readBigUInt64BE(72) & 4n) !== 0n;
    return { backing: h.readBigUInt64BE(8) !== 0n, dataFile, virtualSize: Number(h.readBigUInt64BE(24)) };
  } finally {
    await fh.close();
  }
}

/** What qemu-img says of the qcow2 file (format forced, nothing probed). */
async function qemuInfo(file: string): Promise<Record<string, unknown>> {
  try {
    const { stdout } = await run('qemu-img', ['info', '-f', 'qcow2', '--output=json', file], { maxBuffer: 4 << 20 });
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new UsageError('qemu-img is needed to import qcow2 images (Debian package qemu-utils)');
    throw new ImportRefused('InvalidParameter', `${file} is not a qcow2 image qemu-img can read: ${e.stderr?.trim() || e.message}`);
  }
}

/** Checks `file` for import and says what it is; throws ImportRefused for what may not be imported. */
export async function inspectDisk(file: string, maxBytes = DEFAULT_MAX_IMPORT_GIB * GiB): Promise<DiskFile> {
  const path = resolve(file);
  const header = await qcow2Header(path);
  const tooBig = (size: number) => new ImportRefused('InvalidParameterValue',
    `${file}: its virtual size (${size} bytes) is more than the limit of ${maxBytes / GiB} GiB (--max-size)`);
  if (!header) {
    const fh = await open(path, 'r');
    const { size } = await fh.stat().finally(() => fh.close());
    if (size > maxBytes) throw tooBig(size);
    return { format: 'raw', virtualSize: size };
  }
  const info = await qemuInfo(path);
  const data = (info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  if (header.backing || info['backing-filename'] !== undefined || info['full-backing-filename'] !== undefined) {
    throw new ImportRefused('InvalidParameter', `${file} has a backing file (${String(info['backing-filename'] ?? '?')}): only self-contained images are imported`);
  }
  if (header.dataFile || data['data-file'] !== undefined) {
    throw new ImportRefused('InvalidParameter', `${file} keeps its data in an external data file: only self-contained images are imported`);
  }
  const virtualSize = Math.max(header.virtualSize, Number(info['virtual-size'] ?? 0));
  if (!Number.isSafeInteger(virtualSize) || virtualSize > maxBytes) throw tooBig(virtualSize);
  return { format: 'qcow2', virtualSize };
}

/** A raw copy of a checked qcow2 disk in a temporary directory (qemu-img writes it sparse), and how to remove it. */
export async function qcow2ToRaw(file: string): Promise<{ raw: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-import-'));
  const raw = join(dir, 'disk.raw');
  try {
    // The format named (qcow2, never probed) and, should the file change after the check, no backing file opened.
    const spec = { driver: 'qcow2', backing: null, file: { driver: 'file', filename: resolve(file) } };
    await run('qemu-img', ['convert', '-O', 'raw', `json:${JSON.stringify(spec)}`, raw], { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new UsageError('qemu-img is needed to import qcow2 images (Debian package qemu-utils)');
    throw new ImportRefused('InvalidParameter', `qemu-img convert failed: ${e.stderr?.trim() || e.message}`);
  }
  return { raw, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
