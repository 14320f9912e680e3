import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capacityFromEnv } from './capacity-options.js';

test('capacity settings come from the environment; unset ones keep their defaults; a bad one stops the start', () => {
  assert.deepEqual(capacityFromEnv({ KILN_MEMORY_OVERCOMMIT: '1.5', KILN_PIDS_PER_VCPU: '64' }), {
    memoryOvercommit: 1.5, instanceMemoryRatio: undefined, volumeOvercommit: undefined, pids: { perVcpu: 64, hostMax: undefined },
  });
  assert.throws(() => capacityFromEnv({ KILN_VOLUME_OVERCOMMIT: 'lots' }), /KILN_VOLUME_OVERCOMMIT/);
  assert.throws(() => capacityFromEnv({ KILN_PIDS_MAX: '0' }), /KILN_PIDS_MAX/);
});
