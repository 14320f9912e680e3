/**
 * Where each block is: hash -> (pack, offset, length), in SQLite beside the
 * packs (`index.db`). Rows are only ever added for packs that are already
 * durable, so no row points at bytes a crash can take away. Additions commit
 * without an fsync of their own (WAL, synchronous=NORMAL): a crash may lose
 * the last ones, and opening the store indexes any pack it finds without rows
 * again from the pack's own trailer. Deletions (what the collector frees) are
 * fsynced before any pack file goes, so a crash never brings back a row for a
 * pack that is gone.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { BlockHash } from '../blocks.js';
import type { PackEntry } from './pack-format.js';

/** `length` stored bytes at `offset` of `pack`, decoding with `codec` to the block's `size` bytes (after decryption under data key `key`, if not null). */
export interface Location { pack: string; offset: number; length: number; size: number; codec: number; key: string | null }
/** A pack: its file's bytes, and the blocks still indexed in it (their stored bytes, and their bytes as blocks). */
export interface PackUse { id: string; bytes: number; blocks: number; liveBytes: number; blockBytes: number }

export class PackIndex {
  private readonly db: Database.Database;
  private readonly lookupStmt: Database.Statement<[string], Location>;

  constructor(file: string) {
    // Made 0600 before SQLite opens it: its -wal and -shm take the file's mode.
    closeSync(openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS packs (id TEXT PRIMARY KEY, bytes INTEGER NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS blocks (
        hash TEXT PRIMARY KEY, pack TEXT NOT NULL REFERENCES packs(id), offset INTEGER NOT NULL, length INTEGER NOT NULL,
        size INTEGER NOT NULL, codec INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS blocks_by_pack ON blocks(pack);`);
    // Encrypted blocks (the data key's id); an index made before them gains the column, NULL: plain.
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(blocks)').all();
    if (!columns.some((c) => c.name === 'key')) this.db.exec('ALTER TABLE blocks ADD COLUMN key TEXT');
    this.lookupStmt = this.db.prepare('SELECT pack, offset, length, size, codec, key FROM blocks WHERE hash = ?');
  }

  lookup(hash: BlockHash): Location | undefined {
    return this.lookupStmt.get(hash);
  }

  /** Records durable packs and their blocks; a block already indexed elsewhere keeps its place. */
  addPacks(packs: Array<{ id: string; bytes: number; entries: PackEntry[] }>): void {
    const pack = this.db.prepare('INSERT OR IGNORE INTO packs (id, bytes) VALUES (?, ?)');
    const block = this.db.prepare('INSERT OR IGNORE INTO blocks (hash, pack, offset, length, size, codec, key) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const p of packs) {
        pack.run(p.id, p.bytes);
        for (const [hash, offset, length, size, codec, key] of p.entries) block.run(hash, p.id, offset, length, size, codec, key ?? null);
      }
    })();
  }

  /** Points blocks at their copies in another (durable, indexed) pack, where they are still in `from`. */
  move(from: string, to: string, entries: PackEntry[]): void {
    const stmt = this.db.prepare('UPDATE blocks SET pack = ?, offset = ? WHERE hash = ? AND pack = ?');
    this.durably(() => { for (const [hash, offset] of entries) stmt.run(to, offset, hash, from); });
  }

  /** Forgets blocks (durably); returns those that were indexed, with their sizes as blocks. */
  removeBlocks(hashes: BlockHash[]): Array<{ hash: BlockHash; size: number }> {
    const del = this.db.prepare<[string], { size: number }>('DELETE FROM blocks WHERE hash = ? RETURNING size');
    const out: Array<{ hash: BlockHash; size: number }> = [];
    this.durably(() => {
      for (const hash of hashes) {
        const row = del.get(hash);
        if (row) out.push({ hash, size: row.size });
      }
    });
    return out;
  }

  /** Forgets packs that no block row points at any more (durably, before their files go). */
  dropPacks(ids: string[]): void {
    const stmt = this.db.prepare('DELETE FROM packs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM blocks WHERE pack = ?)');
    this.durably(() => { for (const id of ids) stmt.run(id, id); });
  }

  packIds(): Set<string> {
    return new Set(this.db.prepare<[], { id: string }>('SELECT id FROM packs').all().map((r) => r.id));
  }

  /** Every pack with how much of it is still referenced by block rows. */
  packUse(): PackUse[] {
    return this.db.prepare<[], PackUse>(`
      SELECT p.id AS id, p.bytes AS bytes, COUNT(b.hash) AS blocks, COALESCE(SUM(b.length), 0) AS liveBytes,
        COALESCE(SUM(b.size), 0) AS blockBytes
      FROM packs p LEFT JOIN blocks b ON b.pack = p.id GROUP BY p.id ORDER BY p.id`).all();
  }

  blocks(pack?: string): Array<Location & { hash: BlockHash }> {
    const sql = 'SELECT hash, pack, offset, length, size, codec, key FROM blocks';
    type Row = Location & { hash: BlockHash };
    return pack === undefined ? this.db.prepare<[], Row>(sql).all()
      : this.db.prepare<[string], Row>(`${sql} WHERE pack = ? ORDER BY offset`).all(pack);
  }

  close(): void {
    this.db.close();
  }

  /** Runs `fn` in one transaction that is on disk when this returns (synchronous=FULL for it). */
  private durably(fn: () => void): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.db.transaction(fn)();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }
}
