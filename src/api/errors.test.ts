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
