import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { storeSuite } from '../store-suite.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

storeSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sqlite-'));
  dirs.push(dir);
  const file = join(dir, 'kiln.db');
  const store = new SqliteStore(file);
  return { store, reopen: async () => { await store.close(); return new SqliteStore(file); } };
});
