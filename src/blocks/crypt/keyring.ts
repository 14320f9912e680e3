/**
 * The data keys of encrypted blocks, each wrapped by the host's master key.
 *
 *   <master key file>          32 random bytes (hex), mode 0600; made at the first encrypted write.
 *                              Kept outside the block store (Kiln's data directory: master.key),
 *                              so the packs, copied anywhere, do not carry the key that opens them.
 *   <store>/keys/<id>.json     one data key: {"v":1,"id","name","wrapped"}; `wrapped` is
 *                              base64(nonce | AES-256-GCM(master, secret) | tag), bound to id and name.
 *
 * One data key per name: the block store's callers name a KMS key (services
 * pass the account and the key's ARN). A data key file is durable (fsync,
 * rename, directory fsync) before any block is encrypted under it. Without
 * the master key no data key, and so no encrypted block, can be read: a
 * missing master key file is an error, never silently replaced while any
 * data key exists.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { syncDir } from '../fsync.js';
import { dataKey } from './block-cipher.js';
import type { DataKey } from './block-cipher.js';

const KEY_FILE = /^([0-9a-f]{32})\.json$/;

interface KeyFile { v: 1; id: string; name: string; wrapped: string }

export class Keyring {
  private readonly byName = new Map<string, DataKey>();
  private readonly byIdMap = new Map<string, DataKey>();
  private readonly lock = new KeyedMutex();

  private constructor(private readonly dir: string, private readonly master: Buffer) {}

  /** Loads every data key in `dir` with the master key in `masterKeyFile` (made when there is none and no data key yet). */
  static async open(dir: string, masterKeyFile: string): Promise<Keyring> {
    await mkdir(dir, { recursive: true });
    const names = (await readdir(dir)).filter((n) => KEY_FILE.test(n));
    const ring = new Keyring(dir, await masterKey(masterKeyFile, names.length));
    for (const n of names) {
      const f = JSON.parse(await readFile(join(dir, n), 'utf8')) as KeyFile;
      const key = ring.unwrap(f);
      if (!key || f.id !== KEY_FILE.exec(n)![1]) {
        throw new Error(`the data key ${join(dir, n)} does not open with the master key in ${masterKeyFile}: is it this store's master key?`);
      }
      ring.add(f.name, key);
    }
    return ring;
  }

  byId(id: string): DataKey | undefined {
    return this.byIdMap.get(id);
  }

  /** The data key of `name`, made (and durable) the first time. */
  forName(name: string): Promise<DataKey> {
    const known = this.byName.get(name);
    if (known) return Promise.resolve(known);
    return this.lock.run('new', async () => this.byName.get(name) ?? this.create(name));
  }

  private async create(name: string): Promise<DataKey> {
    const id = randomBytes(16).toString('hex');
    const secret = randomBytes(32);
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.master, nonce);
    c.setAAD(wrapAad(id, name));
    const wrapped = Buffer.concat([nonce, c.update(secret), c.final(), c.getAuthTag()]).toString('base64');
    const file: KeyFile = { v: 1, id, name, wrapped };
    const tmp = join(this.dir, `.${id}.tmp`);
    await writeDurably(tmp, `${JSON.stringify(file)}\n`);
    await rename(tmp, join(this.dir, `${id}.json`));
    await syncDir(this.dir);
    return this.add(name, dataKey(id, secret));
  }

  private unwrap(f: KeyFile): DataKey | undefined {
    if (f.v !== 1 || typeof f.id !== 'string' || typeof f.name !== 'string' || typeof f.wrapped !== 'string') return undefined;
    const raw = Buffer.from(f.wrapped, 'base64');
    if (raw.length !== 12 + 32 + 16) return undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', this.master, raw.subarray(0, 12));
      d.setAAD(wrapAad(f.id, f.name));
      d.setAuthTag(raw.subarray(44));
      return dataKey(f.id, Buffer.concat([d.update(raw.subarray(12, 44)), d.final()]));
    } catch {
      return undefined;
    }
  }

  private add(name: string, key: DataKey): DataKey {
    this.byName.set(name, key);
    this.byIdMap.set(key.id, key);
    return key;
  }
}

const wrapAad = (id: string, name: string) => Buffer.from(`kiln-data-key-v1\n${id}\n${name}`);

async function writeDurably(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The master key in `file`; made (0600, durable) when absent and no data key depends on one. */
async function masterKey(file: string, dataKeys: number): Promise<Buffer> {
  const read = async () => {
    const st = await stat(file);
    if (st.mode & 0o077) throw new Error(`${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte hex master key`);
    return key;
  };
  try {
    return await read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (dataKeys) throw new Error(`the master key file ${file} is missing, and ${dataKeys} data keys are wrapped under it: restore it from a backup`);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeDurably(tmp, `${randomBytes(32).toString('hex')}\n`);
  // link, not rename: a master key another process made first is never replaced.
  await link(tmp, file).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err; });
  await rm(tmp, { force: true });
  await syncDir(dirname(file));
  return read();
}
