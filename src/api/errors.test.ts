import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotFound } from '../services/core/errors.js';
import { toApiError } from './errors.js';

// Matching AWS's text is the point here: scripts grep for it.
test('missing image ids are worded as AWS words them, singular and plural', () => {
  const one = toApiError(new NotFound('image', ['ami-11111111111111111']));
  assert.equal(one.code, 'InvalidAMIID.NotFound');
  assert.equal(one.message, "The image id '[ami-11111111111111111]' does not exist");
  const two = toApiError(new NotFound('image', ['ami-11111111111111111', 'ami-22222222222222222']));
  assert.equal(two.message, "The image ids '[ami-11111111111111111, ami-22222222222222222]' do not exist");
  assert.equal(toApiError(new NotFound('instance', ['i-1', 'i-2'])).message, "The instance IDs 'i-1, i-2' do not exist");
});

test('a full disk is AWS\'s capacity error, never an InternalError naming host paths', async () => {
  const { isStorageError, publicMessage } = await import('../services/core/errors.js');
  const { toEbsError } = await import('./ebs-errors.js');
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, open '/var/lib/kiln/blocks/tmp/x.pack'"), { code: 'ENOSPC', errno: -28, syscall: 'open' });
  const cp = Object.assign(new Error('Command failed: cp'), { code: 1, stderr: "cp: error writing '/var/lib/kiln/tmp/v.capture': No space left on device" });
  const sqlite = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  for (const err of [enospc, cp, sqlite, Object.assign(new Error('EDQUOT'), { code: 'EDQUOT' })]) {
    assert.ok(isStorageError(err));
    const api = toApiError(err);
    assert.deepEqual([api.code, api.status], ['InsufficientVolumeCapacity', 500]);
    assert.doesNotMatch(api.message, /\//);
    const ebs = toEbsError(err);
    assert.deepEqual([ebs.code, ebs.status, ebs.fields?.Reason], ['ServiceQuotaExceededException', 402, 'DEPENDENCY_SERVICE_QUOTA_EXCEEDED']);
    assert.doesNotMatch(publicMessage(err), /\//);
  }
  // A host error that is not about storage names no path either; the domain's own words pass.
  assert.doesNotMatch(publicMessage(Object.assign(new Error("ENOENT: no such file, open '/x/y'"), { code: 'ENOENT', syscall: 'open' })), /\//);
  assert.equal(publicMessage(new Error('the source snapshot snap-1 has no data')), 'the source snapshot snap-1 has no data');
  assert.equal(toApiError(new Error('boom')).code, 'InternalError');
});
