import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { privateDir, tightenTree } from './private-files.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const mode = async (p: string) => (await lstat(p)).mode & 0o7777;

test('tightenTree: directories 0700, files 0600 (an owner-executable stays so), links not followed, skipped entries kept', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-private-'));
  dirs.push(root);
  const outside = await mkdtemp(join(tmpdir(), 'kiln-private-outside-'));
  dirs.push(outside);
  await writeFile(join(outside, 'host-file'), 'x', { mode: 0o644 });
  await mkdir(join(root, 'a/b'), { recursive: true });
  await mkdir(join(root, 'keep'));
  for (const [p, m] of [['a', 0o755], ['a/b', 0o2775], ['keep', 0o755]] as const) await chmod(join(root, p), m);
  await writeFile(join(root, 'a/b/data'), 'd');
  await chmod(join(root, 'a/b/data'), 0o666);
  await writeFile(join(root, 'a/tool'), 't');
  await chmod(join(root, 'a/tool'), 0o755);
  await writeFile(join(root, 'a/ok'), 'o', { mode: 0o600 });
  await writeFile(join(root, 'keep/guest-file'), 'g');
  await chmod(join(root, 'keep/guest-file'), 0o644);
  await symlink(join(outside, 'host-file'), join(root, 'a/link'));
  await chmod(root, 0o755);

  const stats = await tightenTree(root, { skip: (p) => p === join(root, 'keep') });
  assert.equal(await mode(root), 0o700);
  assert.equal(await mode(join(root, 'a')), 0o700);
  assert.equal(await mode(join(root, 'a/b')), 0o700);
  assert.equal(await mode(join(root, 'a/b/data')), 0o600);
  assert.equal(await mode(join(root, 'a/tool')), 0o700);
  assert.equal(await mode(join(root, 'a/ok')), 0o600);
  assert.equal(await mode(join(outside, 'host-file')), 0o644, 'a link is not followed');
  assert.equal(await mode(join(root, 'keep')), 0o755);
  assert.equal(await mode(join(root, 'keep/guest-file')), 0o644);
  assert.equal(stats.changed, 5);
  assert.equal((await tightenTree(root)).changed, 2, 'a second walk changes only what it skipped before');
});

test('privateDir makes a directory 0700 and tightens one that exists', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-private-'));
  dirs.push(root);
  await privateDir(join(root, 'new/deeper'));
  assert.equal(await mode(join(root, 'new/deeper')), 0o700);
  await chmod(root, 0o777);
  await privateDir(root);
  assert.equal(await mode(root), 0o700);
});

test('tightenTree: `keep` leaves the bits it names where they are set (a runtime directory instances pass through), clears the rest', async () => {
  const root = await mkdtemp(join(tmpdir(), 'kiln-private-keep-'));
  dirs.push(root);
  await mkdir(join(root, 'runtime'));
  await mkdir(join(root, 'other'));
  for (const [p, m] of [['', 0o751], ['runtime', 0o701], ['other', 0o701]] as const) await chmod(join(root, p), m);
  await tightenTree(root, { keep: (p) => (p === root || p === join(root, 'runtime') ? 0o001 : 0) });
  assert.equal(await mode(root), 0o701);
  assert.equal(await mode(join(root, 'runtime')), 0o701);
  assert.equal(await mode(join(root, 'other')), 0o700);
});
