/**
 * A BlockStore of pack files, as restic and borg 2 keep theirs: blocks are
 * appended to a pack of ~16 MiB, a pack is fsynced once, and an index
 * (pack-index.ts) says where each block is. The format and what a crash can
 * leave behind: docs/block-store.md.
 *
 *   <dir>/packs/<32 hex>.pack   sealed packs (pack-format.ts), immutable
 *   <dir>/tmp/<32 hex>.pack     the pack being filled; emptied when the store opens
 *   <dir>/index.db              hash -> pack, offset, length
 *
 * One pack is open at a time and every writer appends to it. A writer's
 * commit seals the open pack, waits for the packs sealed before, fsyncs the
 * packs directory once and adds their rows to the index: one fsync per pack
 * plus one per commit.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { BlockCorruptError, BlockNotFoundError, hashBlock, isBlockHash } from '../blocks.js';
import type { BlockHash, BlockStore, BlockWriter, CheckReport, PackFiles, StoreStats, WriterOptions } from '../blocks.js';
import { syncDir } from '../fsync.js';
import { idOf, PackKeys, storedForm } from './pack-crypt.js';
import { encodeTrailer } from './pack-format.js';
import type { PackEntry } from './pack-format.js';
import { PackIndex } from './pack-index.js';
import type { PackUse } from './pack-index.js';
import { importLegacyBlocks } from './legacy.js';
import { indexUnknownPacks } from './pack-recover.js';
import { checkSize, isCode, readAll, readRange, writeAll } from './pack-io.js';
import { packFiles } from './pack-files.js';

/** A pack is sealed once it holds this many bytes (restic's default pack size is 16 MiB too). */
export const PACK_BYTES = 16 * 1024 * 1024;
/** Packs whose referenced bytes fall under this share of the file are rewritten by `remove`. */
export const REPACK_BELOW = 0.5;

interface OpenPack {
  id: string;
  path: string;
  fh: FileHandle;
  /** Bytes of blocks appended so far. */
  size: number;
  /** The whole file once sealed (blocks, trailer, footer). */
  fileBytes?: number;
  entries: PackEntry[];
  /** Set when sealing failed: the pack's blocks are gone and writers that used them must fail. */
  error?: Error;
}

export interface StoreOptions {
  packBytes?: number;
  /** The host's master key (crypt/keyring.ts), made at the first encrypted write; without it the store refuses encrypted blocks. */
  masterKeyFile?: string;
  log?: (msg: string) => void;
}

export class PackBlockStore implements BlockStore {
  private readonly index: PackIndex;
  private readonly packsDir: string;
  private readonly tmpDir: string;
  private readonly packBytes: number;
  /** Blocks appended but not yet indexed (in the open pack or in packs being sealed). */
  private readonly pending = new Map<BlockHash, { pack: OpenPack; offset: number; length: number; size: number; codec: number; key?: string }>();
  private current: OpenPack | undefined;
  private readonly sealing = new Set<Promise<void>>();
  /** Sealed, renamed packs whose rows wait for the next commit. */
  private readonly sealed: OpenPack[] = [];
  /** 'append': one append at a time; 'index': commits and removals one at a time; 'compact': one compaction. */
  private readonly locks = new KeyedMutex();
  /** fsyncs of packs and of the packs directory since the store opened (the index's are SQLite's). */
  private fsyncs = 0;
  /** Data keys of encrypted blocks (pack-crypt.ts). */
  private readonly keys: PackKeys;

  private constructor(readonly dir: string, opts: StoreOptions) {
    this.packsDir = join(dir, 'packs');
    this.tmpDir = join(dir, 'tmp');
    this.packBytes = opts.packBytes ?? PACK_BYTES;
    this.index = new PackIndex(join(dir, 'index.db'));
    this.keys = new PackKeys(dir, opts.masterKeyFile);
  }

  /**
   * Opens (creating if needed) the store in `dir`: empties tmp/, indexes any
   * sealed pack the index lacks (a crash lost its rows) from its trailer and
   * deletes packs whose trailer cannot be trusted (never indexed, so nothing
   * refers to them), and moves blocks of the earlier one-file-per-block layout
   * into packs. One process serves a store directory at a time.
   */
  static async open(dir: string, opts: StoreOptions = {}): Promise<PackBlockStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const sub of ['packs', 'tmp']) {
      await mkdir(join(dir, sub), { recursive: true, mode: 0o700 });
    }
    await syncDir(dir);
    const store = new PackBlockStore(dir, opts);
    await Promise.all((await readdir(store.tmpDir)).map((n) => rm(join(store.tmpDir, n), { force: true, recursive: true })));
    await indexUnknownPacks(store.packsDir, store.index, opts.log);
    await importLegacyBlocks(dir, store, opts.log);
    return store;
  }

  put(data: Uint8Array, opts?: WriterOptions): Promise<BlockHash> {
    const w = this.writer(opts);
    return w.put(data).then(async (hash) => { await w.commit(); return hash; });
  }

  writer(opts: WriterOptions = {}): BlockWriter {
    const used = new Set<OpenPack>();
    // An encrypted writer's blocks are named and sealed under its data key (made durable before the first one).
    let dataKey: ReturnType<PackKeys['forName']> | undefined;
    const key = () => opts.key === undefined ? undefined : (dataKey ??= this.keys.forName(opts.key));
    const store = async (data: Uint8Array, sha256?: BlockHash): Promise<BlockHash> => {
      const k = await key();
      const hash = k || !sha256 ? idOf(data, k) : sha256;
      const known = this.pending.get(hash)?.pack;
      // Compressed (and sealed) before the append lock, on the thread pool, so appends stay short.
      const pack = known ?? (this.index.lookup(hash) ? undefined : await this.append(hash, await storedForm(hash, data, k), data.length));
      if (pack) used.add(pack);
      return hash;
    };
    return {
      put: async (data) => { checkSize(data); return store(data); },
      putHashed: async (hash, data) => {
        if (!isBlockHash(hash)) throw new TypeError(`not a block hash: ${String(hash).slice(0, 80)}`);
        checkSize(data);
        const actual = hashBlock(data);
        if (actual !== hash) throw new BlockCorruptError(hash, actual);
        // A plain block is named by the hash just checked; an encrypted one by its keyed id.
        return store(data, actual);
      },
      has: async (hash) => {
        // Only a block stored the way this writer stores (under its key, or plain) counts.
        const keyId = (await key())?.id;
        const pending = this.pending.get(hash);
        if (pending && pending.key === keyId) used.add(pending.pack);
        return pending ? pending.key === keyId : isBlockHash(hash) && (this.index.lookup(hash)?.key ?? undefined) === keyId;
      },
      commit: async () => {
        if (!used.size) return;
        await this.flush();
        const failed = [...used].find((p) => p.error);
        used.clear();
        if (failed) throw failed.error;
      },
    };
  }

  async get(hash: BlockHash): Promise<Buffer> {
    if (!isBlockHash(hash)) throw new BlockNotFoundError(hash);
    // A block can move (sealed: tmp/ -> packs/; repacked) between finding it and opening its pack: look again.
    for (let attempt = 0; ; attempt++) {
      const p = this.pending.get(hash);
      const at = p ? { ...p, path: p.pack.path } : this.locate(hash);
      if (!at) throw new BlockNotFoundError(hash);
      let stored: Buffer;
      try {
        stored = await readRange(at.path, at.offset, at.length);
      } catch (err) {
        if (isCode(err, 'ENOENT') && attempt < 3) continue;
        if (isCode(err, 'ENOENT')) throw new BlockNotFoundError(hash);
        throw err;
      }
      const { data, actual } = await this.keys.open(hash, at, stored);
      if (actual !== hash) throw new BlockCorruptError(hash, actual);
      return data;
    }
  }

  async has(hash: BlockHash): Promise<boolean> {
    return isBlockHash(hash) && (this.pending.has(hash) || !!this.index.lookup(hash));
  }

  async matches(hash: BlockHash, data: Uint8Array): Promise<boolean> {
    const key = this.pending.get(hash)?.key ?? (isBlockHash(hash) ? this.index.lookup(hash)?.key : undefined);
    return this.keys.matches(hash, data, key);
  }

  async list(): Promise<Array<{ hash: BlockHash; bytes: number }>> {
    return this.index.blocks().map((b) => ({ hash: b.hash, bytes: b.size }));
  }

  /**
   * Forgets the given blocks (never one being written), deletes packs left
   * with nothing referenced and rewrites those under REPACK_BELOW referenced:
   * their live blocks are appended to new packs, which are made durable and
   * indexed before the old pack's rows move and its file goes.
   */
  async remove(hashes: Iterable<BlockHash>): Promise<{ removed: number; bytes: number }> {
    const victims = [...hashes].filter((h) => isBlockHash(h) && !this.pending.has(h));
    const gone = await this.locks.run('index', async () => this.index.removeBlocks(victims));
    await this.compact();
    return { removed: gone.length, bytes: gone.reduce((n, b) => n + b.size, 0) };
  }

  /** Deletes empty packs and repacks sparse ones; returns the pack bytes on disk freed. */
  compact(): Promise<number> {
    return this.locks.run('compact', () => this.compactNow());
  }

  private async compactNow(): Promise<number> {
    const before = this.stats().packBytes;
    const use = this.index.packUse();
    const empty = use.filter((p) => p.blocks === 0).map((p) => p.id);
    const sparse = use.filter((p) => p.blocks > 0 && p.liveBytes < p.bytes * REPACK_BELOW);
    // Nothing gained by rewriting one small pack into another.
    if (sparse.length === 1 && sparse[0]!.bytes < this.packBytes / 2) sparse.length = 0;
    for (const p of sparse) await this.repack(p);
    await this.dropPacks([...empty, ...sparse.map((p) => p.id)]);
    return before - this.stats().packBytes;
  }

  stats(): StoreStats {
    const use = this.index.packUse();
    return {
      packs: use.length, packBytes: use.reduce((n, p) => n + p.bytes, 0),
      blocks: use.reduce((n, p) => n + p.blocks, 0), blockBytes: use.reduce((n, p) => n + p.blockBytes, 0),
      storedBytes: use.reduce((n, p) => n + p.liveBytes, 0), fsyncs: this.fsyncs,
    };
  }

  /** Reads every indexed block, pack by pack, and reports those that are missing or do not hash to their name. */
  async check(progress: (done: number, total: number) => void = () => undefined): Promise<CheckReport> {
    const rows = this.index.blocks();
    const report: CheckReport = { checked: 0, corrupt: [], missing: [] };
    const byPack = new Map<string, typeof rows>();
    for (const r of rows) byPack.get(r.pack)?.push(r) ?? byPack.set(r.pack, [r]);
    for (const [pack, blocks] of byPack) {
      let fh: FileHandle | undefined;
      try {
        fh = await open(this.packPath(pack), 'r');
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
      try {
        for (const b of blocks) {
          const stored = fh ? await readAll(fh, b.offset, b.length) : undefined;
          if (!stored || stored.length < b.length) report.missing.push(b.hash);
          else if ((await this.keys.open(b.hash, b, stored)).actual !== b.hash) report.corrupt.push(b.hash);
          progress(++report.checked, rows.length);
        }
      } finally {
        await fh?.close();
      }
    }
    return report;
  }

  /** Where a sealed block's bytes are, for tests that damage them (and fsck's report). */
  locate(hash: BlockHash): { path: string; offset: number; length: number; size: number; codec: number; key: string | null } | undefined {
    const at = this.index.lookup(hash);
    return at && { ...at, path: this.packPath(at.pack) };
  }

  /** Makes every block appended so far durable and indexed. */
  async flush(): Promise<void> {
    await this.locks.run('index', async () => {
      await this.locks.run('append', async () => {
        if (this.current) this.startSeal(this.current);
        this.current = undefined;
      });
      while (this.sealing.size) await Promise.allSettled([...this.sealing]);
      const ready = this.sealed.splice(0);
      if (!ready.length) return;
      try {
        await syncDir(this.packsDir);
        this.fsyncs++;
      } catch (err) {
        this.sealed.unshift(...ready);
        throw err;
      }
      this.index.addPacks(ready.map((p) => ({ id: p.id, bytes: p.fileBytes!, entries: p.entries })));
      for (const p of ready) {
        for (const [hash] of p.entries) if (this.pending.get(hash)?.pack === p) this.pending.delete(hash);
      }
    });
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.index.close();
  }

  /** Appends the (encoded) block to the open pack unless it is stored or pending; returns the pack a commit must wait for. */
  private append(hash: BlockHash, block: { codec: number; bytes: Uint8Array; key?: string }, size: number): Promise<OpenPack | undefined> {
    return this.locks.run('append', async () => {
      const pending = this.pending.get(hash);
      if (pending) return pending.pack;
      if (this.index.lookup(hash)) return undefined;
      const pack = await this.appendToPack(hash, block.bytes, size, block.codec, block.key);
      this.pending.set(hash, { pack, offset: pack.entries.at(-1)![1], length: block.bytes.length, size, codec: block.codec, key: block.key });
      return pack;
    });
  }

  /** Under the append lock: writes stored bytes at the end of the open pack, sealing it when full. */
  private async appendToPack(hash: BlockHash, bytes: Uint8Array, size: number, codec: number, key?: string): Promise<OpenPack> {
    const pack = this.current ?? await this.newPack();
    this.current = pack;
    const entry: PackEntry = key ? [hash, pack.size, bytes.length, size, codec, key] : [hash, pack.size, bytes.length, size, codec];
    await writeAll(pack.fh, bytes, pack.size).catch(async (err: Error) => { await this.abandon(pack, err); throw err; });
    pack.size += bytes.length;
    pack.entries.push(entry);
    if (pack.size >= this.packBytes) {
      this.current = undefined;
      this.startSeal(pack);
    }
    return pack;
  }

  private async newPack(): Promise<OpenPack> {
    const id = randomBytes(16).toString('hex');
    const path = join(this.tmpDir, `${id}.pack`);
    return { id, path, fh: await open(path, 'wx+', 0o600), size: 0, entries: [] };
  }

  /** A write or seal failed (a full disk, EIO): the pack is given up, its file removed at once; writers that used it fail at commit. */
  private async abandon(pack: OpenPack, err: Error): Promise<void> {
    pack.error = err;
    if (this.current === pack) this.current = undefined;
    for (const [hash] of pack.entries) if (this.pending.get(hash)?.pack === pack) this.pending.delete(hash);
    await pack.fh.close().catch(() => undefined);
    await rm(pack.path, { force: true });
  }

  files(): Promise<PackFiles> {
    return this.locks.run('append', async () => { // no seal starts, nor is one under way, while tmp/ and packs/ are listed
      while (this.sealing.size) await Promise.allSettled([...this.sealing]);
      const open = new Set([...[...this.pending.values()].map((p) => p.pack.id), ...(this.current ? [this.current.id] : [])]);
      return packFiles(this.dir, this.index.packIds(), new Set(this.sealed.map((p) => p.id)), open);
    });
  }

  /** Trailer, fsync, rename into packs/; the rows are added by the next flush. */
  private startSeal(pack: OpenPack): void {
    const p = (async () => {
      try {
        const trailer = encodeTrailer(pack.entries);
        await writeAll(pack.fh, trailer, pack.size);
        pack.fileBytes = pack.size + trailer.length;
        await pack.fh.sync();
        this.fsyncs++;
        await pack.fh.close();
        const final = this.packPath(pack.id);
        await rename(pack.path, final);
        pack.path = final;
        this.sealed.push(pack);
      } catch (err) {
        await this.abandon(pack, err as Error);
      }
    })();
    this.sealing.add(p);
    void p.finally(() => this.sealing.delete(p));
  }

  /** Copies a sparse pack's live blocks into new packs and points the index at the copies. */
  private async repack(p: PackUse): Promise<void> {
    const blocks = this.index.blocks(p.id);
    const fh = await open(this.packPath(p.id), 'r');
    const moved: Array<{ to: OpenPack; entry: PackEntry }> = [];
    try {
      for (const b of blocks) {
        const stored = await readAll(fh, b.offset, b.length);
        // A damaged block stays where it is, for fsck to report; it is not copied on as if it were sound.
        if (stored.length !== b.length || (await this.keys.open(b.hash, b, stored)).actual !== b.hash) continue;
        await this.locks.run('append', async () => {
          const to = await this.appendToPack(b.hash, stored, b.size, b.codec, b.key ?? undefined);
          moved.push({ to, entry: to.entries.at(-1)! });
        });
      }
    } finally {
      await fh.close();
    }
    await this.flush();
    const failed = moved.find((m) => m.to.error);
    if (failed) throw failed.to.error;
    const byPack = new Map<string, PackEntry[]>();
    for (const m of moved) byPack.get(m.to.id)?.push(m.entry) ?? byPack.set(m.to.id, [m.entry]);
    await this.locks.run('index', async () => {
      for (const [to, entries] of byPack) this.index.move(p.id, to, entries);
    });
  }

  private async dropPacks(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.locks.run('index', async () => {
      this.index.dropPacks(ids);
      const still = this.index.packIds();
      for (const id of ids) if (!still.has(id)) await rm(this.packPath(id), { force: true });
    });
  }

  private packPath(id: string): string {
    return join(this.packsDir, `${id}.pack`);
  }
}
