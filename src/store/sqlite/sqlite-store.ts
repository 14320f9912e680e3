/** The SQLite Store (better-sqlite3, WAL): see store.ts for the contract and schema.ts for the unique keys. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { BlockHash, BlockMap } from '../../blocks/blocks.js';
import type { AccountRecord, ImageRecord, Owned } from '../../model/records.js';
import { UNIQUE_KEYS, uniqueKeyOf } from '../schema.js';
import { SecretBox } from '../secret-box.js';
import { DuplicateError, NotInStoreError } from '../store.js';
import type { Collection, Scope, Store } from '../store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS docs (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  unique_key TEXT,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS docs_scope ON docs (kind, account, region, seq);
CREATE UNIQUE INDEX IF NOT EXISTS docs_unique ON docs (kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS accounts (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (access_key_id TEXT PRIMARY KEY, account TEXT NOT NULL, secret TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS block_maps (snapshot_id TEXT PRIMARY KEY, size_bytes INTEGER NOT NULL, blocks TEXT NOT NULL);
`;

/** An open transaction; `open` goes false at its end, for async work it left behind. */
interface Tx {
  open: boolean;
  /** Savepoints (transactions inside this one) open now; they run one after another, on `chain`. */
  nested: number;
  chain: Promise<void>;
  /** Rolled back: calls still made from its async context are refused rather than run on their own. */
  failed?: boolean;
}

/**
 * Metadata in one SQLite file (WAL): documents in a single table, one kind per
 * collection. Every call runs synchronously underneath, so a call is atomic by
 * itself; a transaction is BEGIN IMMEDIATE ... COMMIT around an async callback,
 * and while it is open every call from outside it waits in `queue` (one
 * connection cannot hold two transactions, and must not let a stranger's write
 * into this one).
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private seq: number;
  private readonly inTx = new AsyncLocalStorage<Tx>();
  /** The tail of the transactions open or waiting; undefined when none. */
  private queue: Promise<void> | undefined;
  private savepoints = 0;
  private readonly secrets: SecretBox;

  readonly accounts: Store['accounts'];
  readonly images: Collection<ImageRecord>;
  readonly snapshots: Store['snapshots'];
  readonly volumes: Store['volumes'];
  readonly instances: Store['instances'];
  readonly blockMaps: Store['blockMaps'];

  /** `keyFile`: the key that seals secret access keys (secret-box.ts); default kiln.key beside `file`. */
  constructor(file: string, opts: { keyFile?: string } = {}) {
    this.secrets = SecretBox.fromKeyFile(opts.keyFile ?? join(dirname(file), 'kiln.key'));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.seq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM docs').get() as { s: number }).s;
    this.backfillUniqueKeys();
    try { this.sealPlainSecrets(); } catch (err) { this.db.close(); throw err; }
    this.images = this.makeCollection<ImageRecord>('image');
    this.snapshots = this.makeCollection('snapshot');
    this.volumes = this.makeCollection('volume');
    this.instances = this.makeCollection('instance');
    this.accounts = this.accountTable();
    this.blockMaps = this.blockMapTable();
  }

  private readonly extra = new Map<string, Collection<Owned>>();

  collection<T extends Owned>(kind: string): Collection<T> {
    if (['image', 'snapshot', 'volume', 'instance'].includes(kind)) throw new Error(`use store.${kind}s`);
    let c = this.extra.get(kind);
    if (!c) this.extra.set(kind, (c = this.makeCollection<Owned>(kind)));
    return c as unknown as Collection<T>;
  }

  /**
   * Records written before a kind had a unique key (schema.ts) have none
   * stored: compute them now, so the index holds for old and new alike. Two old
   * records with the same key stop the store from opening, naming them.
   */
  private backfillUniqueKeys(): void {
    const rows = this.db.prepare('SELECT kind, id, data FROM docs WHERE unique_key IS NULL AND kind IN (' +
      Object.keys(UNIQUE_KEYS).map(() => '?').join(', ') + ')').all(...Object.keys(UNIQUE_KEYS)) as Array<{ kind: string; id: string; data: string }>;
    const set = this.db.prepare('UPDATE docs SET unique_key = ? WHERE kind = ? AND id = ?');
    this.db.transaction(() => {
      for (const r of rows) {
        const key = uniqueKeyOf(r.kind, JSON.parse(r.data));
        if (key === undefined) continue;
        try {
          set.run(key, r.kind, r.id);
        } catch (err) {
          throw new Error(`the store holds two ${r.kind} records with the same key ${key} (${r.id} and another): resolve that before upgrading (${(err as Error).message})`);
        }
      }
    })();
  }

  /**
   * Secrets an older Kiln stored in plain text are sealed now, their old bytes
   * overwritten (secure_delete) and the WAL emptied; one sealed secret is
   * opened, so a wrong key file stops the start here rather than every request.
   */
  private sealPlainSecrets(): void {
    const rows = this.db.prepare('SELECT access_key_id AS id, secret FROM access_keys').all() as Array<{ id: string; secret: string }>;
    const plain = rows.filter((r) => !SecretBox.isSealed(r.secret));
    const sealed = rows.find((r) => SecretBox.isSealed(r.secret));
    if (sealed) this.secrets.open(sealed.secret, sealed.id);
    const accounts = (this.db.prepare('SELECT data FROM accounts').all() as Array<{ data: string }>).map((r) => JSON.parse(r.data) as AccountRecord);
    const stale = accounts.filter((a) => a.keys.some((k) => !SecretBox.isSealed(k.secretAccessKey)));
    if (!plain.length && !stale.length) return;
    this.db.pragma('secure_delete = ON');
    const set = this.db.prepare('UPDATE access_keys SET secret = ? WHERE access_key_id = ?');
    const setData = this.db.prepare('UPDATE accounts SET data = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const r of plain) set.run(this.secrets.seal(r.secret, r.id), r.id);
      for (const a of stale) setData.run(JSON.stringify(this.sealKeys(a, (k) => !SecretBox.isSealed(k.secretAccessKey))), a.id);
    })();
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.pragma('secure_delete = OFF');
  }

  /** The record with its secrets sealed (those `which` picks; a record from a caller holds only plain ones). */
  private sealKeys(a: AccountRecord, which: (k: AccountRecord['keys'][number]) => boolean = () => true): AccountRecord {
    return { ...a, keys: a.keys.map((k) => which(k) ? { ...k, secretAccessKey: this.secrets.seal(k.secretAccessKey, k.accessKeyId) } : k) };
  }

  private openKeys(a: AccountRecord): AccountRecord {
    return { ...a, keys: a.keys.map((k) => ({ ...k, secretAccessKey: this.secrets.open(k.secretAccessKey, k.accessKeyId) })) };
  }

  async close(): Promise<void> {
    await this.queue;
    this.db.close();
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    const current = this.inTx.getStore();
    if (current?.open) return this.savepoint(current, fn);
    if (current?.failed) throw new Error('a transaction from a transaction that was rolled back');
    const prev = this.queue;
    let done!: () => void;
    const mine = new Promise<void>((r) => { done = r; });
    this.queue = mine;
    await prev;
    const tx: Tx = { open: true, nested: 0, chain: Promise.resolve() };
    try {
      this.db.exec('BEGIN IMMEDIATE');
      const result = await this.inTx.run(tx, () => fn(this));
      if (tx.nested > 0) throw new Error('a transaction ended while a transaction inside it was still running');
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      tx.failed = true;
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch { /* the first error is the one to report */ }
      throw err;
    } finally {
      tx.open = false;
      if (this.queue === mine) this.queue = undefined;
      done();
    }
  }

  /** A transaction inside `tx`: a savepoint, named uniquely, one at a time, and only while `tx` is open. */
  private async savepoint<T>(tx: Tx, fn: (tx: Store) => Promise<T>): Promise<T> {
    const prev = tx.chain;
    let done!: () => void;
    tx.chain = new Promise<void>((r) => { done = r; });
    tx.nested++;
    try {
      await prev;
      if (!tx.open) throw new Error('a transaction inside a transaction that has ended');
      const name = `sp${++this.savepoints}`;
      this.db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await fn(this);
        this.db.exec(`RELEASE ${name}`);
        return result;
      } catch (err) {
        if (tx.open) {
          this.db.exec(`ROLLBACK TO ${name}`);
          this.db.exec(`RELEASE ${name}`);
        }
        throw err;
      }
    } finally {
      tx.nested--;
      done();
    }
  }

  /** Runs a synchronous call now when no transaction is open or it belongs to the open one; else after the open ones end. */
  private async call<T>(op: () => T): Promise<T> {
    if (this.inTx.getStore()?.failed) throw new Error('a store call from a transaction that was rolled back');
    while (this.queue && !this.inTx.getStore()?.open) await this.queue;
    return op();
  }

  private makeCollection<T extends Owned>(kind: string): Collection<T> {
    const uniqueKey = (doc: T) => uniqueKeyOf(kind, doc);
    const db = this.db;
    const getStmt = db.prepare('SELECT data FROM docs WHERE kind = ? AND id = ?');
    const insertStmt = db.prepare('INSERT INTO docs (kind, id, account, region, unique_key, seq, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const updateStmt = db.prepare('UPDATE docs SET unique_key = ?, data = ? WHERE kind = ? AND id = ?');
    const deleteStmt = db.prepare('DELETE FROM docs WHERE kind = ? AND id = ?');
    const holder = db.prepare('SELECT id FROM docs WHERE kind = ? AND unique_key = ?');
    const read = (id: string): T | undefined => {
      const row = getStmt.get(kind, id) as { data: string } | undefined;
      return row ? JSON.parse(row.data) as T : undefined;
    };
    const checkUnique = (key: string | undefined, id: string) => {
      if (key === undefined) return;
      const row = holder.get(kind, key) as { id: string } | undefined;
      if (row && row.id !== id) throw new DuplicateError(key, row.id);
    };
    const update = db.transaction((id: string, fn: (c: T) => T): T => {
      const current = read(id);
      if (!current) throw new NotInStoreError(id);
      const next = fn(current);
      const key = uniqueKey(next);
      checkUnique(key, id);
      updateStmt.run(key ?? null, JSON.stringify(next), kind, id);
      return next;
    });
    const insert = db.transaction((doc: T) => {
      if (read(doc.id)) throw new DuplicateError(`${kind} id`, doc.id);
      const key = uniqueKey(doc);
      checkUnique(key, doc.id);
      insertStmt.run(kind, doc.id, doc.account, doc.region, key ?? null, ++this.seq, JSON.stringify(doc));
    });
    return {
      get: (id) => this.call(() => read(id)),
      list: (scope: Scope = {}) => this.call(() => {
        let sql = 'SELECT data FROM docs WHERE kind = ?';
        const args: string[] = [kind];
        if (scope.account) { sql += ' AND account = ?'; args.push(scope.account); }
        if (scope.region) { sql += ' AND region = ?'; args.push(scope.region); }
        const rows = db.prepare(`${sql} ORDER BY seq`).all(...args) as Array<{ data: string }>;
        return rows.map((r) => JSON.parse(r.data) as T);
      }),
      insert: (doc) => this.call(() => { insert(doc); }),
      update: (id, fn) => this.call(() => update(id, fn)),
      delete: (id) => this.call(() => deleteStmt.run(kind, id).changes > 0),
    };
  }

  private accountTable(): Store['accounts'] {
    const db = this.db;
    const parse = (row: { data: string } | undefined) => (row ? this.openKeys(JSON.parse(row.data) as AccountRecord) : undefined);
    const put = db.transaction((plain: AccountRecord) => {
      const a = this.sealKeys(plain);
      db.prepare('INSERT OR REPLACE INTO accounts (id, data) VALUES (?, ?)').run(a.id, JSON.stringify(a));
      db.prepare('DELETE FROM access_keys WHERE account = ?').run(a.id);
      const addKey = db.prepare('INSERT INTO access_keys (access_key_id, account, secret) VALUES (?, ?, ?)');
      for (const k of a.keys) addKey.run(k.accessKeyId, a.id, k.secretAccessKey);
    });
    return {
      get: (id) => this.call(() => parse(db.prepare('SELECT data FROM accounts WHERE id = ?').get(id) as { data: string } | undefined)),
      byAccessKey: (keyId) => this.call(() => {
        const row = db.prepare('SELECT a.data, k.secret FROM access_keys k JOIN accounts a ON a.id = k.account WHERE k.access_key_id = ?')
          .get(keyId) as { data: string; secret: string } | undefined;
        return row ? { account: parse(row)!, secretAccessKey: this.secrets.open(row.secret, keyId) } : undefined;
      }),
      list: () => this.call(() => (db.prepare('SELECT data FROM accounts ORDER BY id').all() as Array<{ data: string }>).map((r) => parse(r)!)),
      put: (a) => this.call(() => { put(a); }),
    };
  }

  private blockMapTable(): Store['blockMaps'] {
    const db = this.db;
    return {
      get: (id) => this.call(() => {
        const row = db.prepare('SELECT size_bytes, blocks FROM block_maps WHERE snapshot_id = ?').get(id) as
          { size_bytes: number; blocks: string } | undefined;
        return row ? { sizeBytes: row.size_bytes, blocks: JSON.parse(row.blocks) as BlockMap['blocks'] } : undefined;
      }),
      put: (id, map) => this.call(() => {
        db.prepare('INSERT OR REPLACE INTO block_maps (snapshot_id, size_bytes, blocks) VALUES (?, ?, ?)')
          .run(id, map.sizeBytes, JSON.stringify(map.blocks));
      }),
      delete: (id) => this.call(() => { db.prepare('DELETE FROM block_maps WHERE snapshot_id = ?').run(id); }),
      liveHashes: () => this.call(() => {
        const live = new Set<BlockHash>();
        for (const row of db.prepare('SELECT blocks FROM block_maps').iterate() as Iterable<{ blocks: string }>) {
          for (const [, h] of JSON.parse(row.blocks) as BlockMap['blocks']) live.add(h);
        }
        return live;
      }),
    };
  }
}
