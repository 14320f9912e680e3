/** The README stays true: its list of implemented EC2 actions is exactly the actions Kiln serves. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { HANDLERS, SERVICE_HANDLERS } from '../src/api/router.js';

test('README lists exactly the EC2 actions Kiln serves', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const list = /EC2 actions: ([\s\S]*?); and STS/.exec(readme)?.[1];
  assert.ok(list, 'the README has an "EC2 actions: ..." list');
  assert.deepEqual(list.split(/,\s*/).map((a) => a.trim()).sort(), Object.keys(HANDLERS).sort());
});

test('README lists exactly the Auto Scaling actions Kiln serves', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const list = /Auto Scaling actions: ([\s\S]*?)\./.exec(readme)?.[1];
  assert.ok(list, 'the README has an "Auto Scaling actions: ..." list');
  assert.deepEqual(list.split(/,\s*/).map((a) => a.trim()).sort(), Object.keys(SERVICE_HANDLERS.autoscaling).sort());
});
