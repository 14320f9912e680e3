import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeSuite } from '../store-suite.js';
import { SqliteStore } from './sqlite-store.js';

storeSuite('sqlite', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-sqlite-')), 'kiln.db');
  const store = new SqliteStore(file);
  return { store, reopen: async () => { await store.close(); return new SqliteStore(file); } };
});
