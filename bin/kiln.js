#!/usr/bin/env node
// The `kiln` command: runs the built CLI (scripts/setup.sh builds it).
import { existsSync } from 'node:fs';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('kiln: not built yet; run `npm run setup` (or `npm start`) first');
  process.exit(1);
}
await import(entry.href);
