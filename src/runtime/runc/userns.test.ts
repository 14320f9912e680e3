import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { allocateRange, cgroupDirs, DEFAULT_ID_BASE, HOST_ID_FILE, ID_RANGE, letInstancesPass, readHostId, withUserNamespace } from './userns.js';
import { ociConfig } from './oci-config.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'kiln-userns-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('userns: each started instance gets the lowest range no other bundle holds, recorded in its bundle', async () => {
  const state = join(dir, 'state');
  for (const id of ['i-a', 'i-b', 'i-c']) await mkdir(join(state, id), { recursive: true });
  assert.equal(await allocateRange(state, join(state, 'i-a'), DEFAULT_ID_BASE), DEFAULT_ID_BASE);
  assert.equal(await allocateRange(state, join(state, 'i-b'), DEFAULT_ID_BASE), DEFAULT_ID_BASE + ID_RANGE);
  await rm(join(state, 'i-a'), { recursive: true });
  assert.equal(await allocateRange(state, join(state, 'i-c'), DEFAULT_ID_BASE), DEFAULT_ID_BASE, 'a stopped instance\'s range is free again');
  assert.equal(await readFile(join(state, 'i-c', HOST_ID_FILE), 'utf8'), String(DEFAULT_ID_BASE));
  assert.equal(await readHostId(join(state, 'i-b')), DEFAULT_ID_BASE + ID_RANGE);
  assert.equal(await readHostId(join(state, 'absent')), undefined);
});

test('userns: the config gets a user namespace with the range as its id maps (joined at a path when given)', () => {
  const spec = { id: 'i-1', volumes: [], metadata: {}, memoryMiB: 512, vcpus: 1 } as unknown as Parameters<typeof ociConfig>[0];
  const base = ociConfig(spec, '/m', '/v', { version: 1, unified: true });
  const c = withUserNamespace(base, 200_000, '/proc/42/ns/user') as { linux: Record<string, unknown>; mounts: unknown };
  const map = [{ containerID: 0, hostID: 200_000, size: ID_RANGE }];
  assert.deepEqual(c.linux.uidMappings, map);
  assert.deepEqual(c.linux.gidMappings, map);
  assert.deepEqual((c.linux.namespaces as unknown[])[0], { type: 'user', path: '/proc/42/ns/user' });
  assert.deepEqual((withUserNamespace(base, 1) as { linux: { namespaces: unknown[] } }).linux.namespaces[0], { type: 'user' });
  assert.deepEqual(c.mounts, base.mounts);
  assert.deepEqual(cgroupDirs('i-1', { version: 1, unified: true }), ['/sys/fs/cgroup/systemd/kiln/i-1', '/sys/fs/cgroup/unified/kiln/i-1']);
  assert.deepEqual(cgroupDirs('i-1', { version: 2, unified: true }), ['/sys/fs/cgroup/kiln/i-1']);
});

test('userns: the directories above the bundles let others pass (x), nothing more', async () => {
  const deep = join(dir, 'a', 'b');
  await mkdir(deep, { recursive: true });
  await chmod(join(dir, 'a'), 0o700);
  await chmod(deep, 0o750);
  await letInstancesPass(deep);
  assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o701);
  assert.equal((await stat(deep)).mode & 0o777, 0o751);
});
