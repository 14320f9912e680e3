import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostCapacity, instancePidsLimit } from './host-limits.js';
import { ociConfig } from './oci-config.js';
import { lxcfsMounts } from './lxcfs.js';
import type { InstanceSpec } from '../runtime.js';

const spec: InstanceSpec = { id: 'i-0123', vcpus: 2, memoryMiB: 1024, metadata: {}, consoleLog: '/x', volumes: [{ device: '/dev/xvda', path: '/v', root: true }] };
const resources = (s: InstanceSpec) => (ociConfig(s, '/m', '/v', { version: 1, unified: false }) as { linux: { resources: { pids: { limit: number } } } }).linux.resources;

test('pids.max by vCPUs, bounded by the host-wide bound; the OCI config always carries one', () => {
  assert.equal(instancePidsLimit(2, {}, 16384), 4096);
  assert.equal(instancePidsLimit(16, {}, 16384), 16384);
  assert.equal(instancePidsLimit(2, { perVcpu: 40 }, 16384), 80);
  assert.equal(resources(spec).pids.limit, 4096);
  assert.equal(resources({ ...spec, pidsLimit: 100 }).pids.limit, 100);
});

test('the host\'s memory is MemTotal; lxcfs binds its proc files read-only over the instance\'s', async () => {
  assert.ok((await hostCapacity()).memoryMiB > 0);
  const m = lxcfsMounts('/run/x');
  assert.ok(m.some((x) => x.destination === '/proc/meminfo' && x.source === '/run/x/proc/meminfo'));
  assert.ok(m.every((x) => (x.options as string[]).includes('ro')));
});
