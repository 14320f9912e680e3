/**
 * The metadata store: where Kiln keeps its records (accounts, images,
 * snapshots, volumes, instances) and each snapshot's block map.
 *
 * Records are JSON documents in collections keyed by id, each owned by an
 * account and a region. Implementations (one folder each: store/sqlite/, later
 * a PostgreSQL one) must make every single method atomic and durable when its
 * promise resolves, and `transaction` atomic and isolated as a whole. The
 * interface is asynchronous so a networked database can implement it; the
 * SQLite one answers synchronously underneath. Uniqueness beyond the id (image
 * names, key-pair names ...) is declared once, in schema.ts, and every
 * implementation enforces it as a unique key: no lock in the layers above.
 *
 * The store imports only model/ (records) and blocks/ (the block map types).
 */
import type { BlockHash, BlockMap } from '../blocks/blocks.js';
import type { AccountRecord, ImageRecord, InstanceRecord, Owned, SnapshotRecord, VolumeRecord } from '../model/records.js';

export interface Scope { account?: string; region?: string }

export interface Collection<T extends Owned> {
  get(id: string): Promise<T | undefined>;
  /** Records in the scope (all when empty), in insertion order. */
  list(scope?: Scope): Promise<T[]>;
  /** Inserts a new record; throws DuplicateError if the id or its unique key (schema.ts) exists. */
  insert(doc: T): Promise<void>;
  /**
   * Atomically replaces the record with fn(current). fn may throw to abort.
   * Throws NotInStoreError when absent.
   */
  update(id: string, fn: (current: T) => T): Promise<T>;
  delete(id: string): Promise<boolean>;
}

export interface Store {
  accounts: {
    get(id: string): Promise<AccountRecord | undefined>;
    byAccessKey(accessKeyId: string): Promise<{ account: AccountRecord; secretAccessKey: string } | undefined>;
    list(): Promise<AccountRecord[]>;
    put(account: AccountRecord): Promise<void>;
  };
  /** Image names are unique per account and region while not deregistered: insert/update throw DuplicateError. */
  images: Collection<ImageRecord>;
  snapshots: Collection<SnapshotRecord>;
  volumes: Collection<VolumeRecord>;
  instances: Collection<InstanceRecord>;
  /**
   * Any other collection of owned records, by kind (e.g. 'product',
   * 'subscription', 'setting'); the same instance for the same kind. Records
   * of a kind not known here have no unique key beyond their id.
   */
  collection<T extends Owned>(kind: string): Collection<T>;
  blockMaps: {
    get(snapshotId: string): Promise<BlockMap | undefined>;
    put(snapshotId: string, map: BlockMap): Promise<void>;
    delete(snapshotId: string): Promise<void>;
    /** Every block hash referenced by any stored map (for sweeping unreferenced blocks). */
    liveHashes(): Promise<Set<BlockHash>>;
  };
  /**
   * Runs `fn` as one transaction: every store call it makes commits together
   * when it resolves and none of them when it throws (its error is rethrown).
   * Calls through `tx`, or through this store from within fn's async context,
   * belong to the transaction; a transaction inside one is a savepoint.
   * Transactions are serializable: while one is open, other callers' store
   * calls wait for it. So `fn` must wait on nothing but the store (no host
   * commands, no timers, no background tasks started inside: start them after).
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** An insert or update that would give a second record the same id or unique key; `existingId` holds it. */
export class DuplicateError extends Error {
  constructor(readonly key: string, readonly existingId: string) { super(`duplicate ${key} (held by ${existingId})`); }
}

export class NotInStoreError extends Error {
  constructor(readonly id: string) { super(`${id} not in store`); }
}
