import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from './errors.js';
import { checkLimits, LIMITS } from './limits.js';

const code = (input: Record<string, unknown>, wire: 'ec2' | 'autoscaling' = 'ec2') => {
  try { checkLimits(input, wire); return 'ok'; } catch (e) { return `${(e as ApiError).status} ${(e as ApiError).code}`; }
};
const filters = (n: number, values = 1, value = 'x') => Array.from({ length: n }, () => ({ Name: 'name', Values: Array(values).fill(value) }));

test('filters: count, values in all, length of a value', () => {
  assert.equal(code({ Filters: filters(LIMITS.filters) }), 'ok');
  assert.equal(code({ Filters: filters(LIMITS.filters + 1) }), '400 FilterLimitExceeded');
  assert.equal(code({ Filters: filters(2, LIMITS.filterValues / 2) }), 'ok');
  assert.equal(code({ Filters: filters(2, LIMITS.filterValues / 2 + 1) }), '400 FilterLimitExceeded');
  assert.equal(code({ Filters: filters(1, 1, 'x'.repeat(LIMITS.filterValueLength)) }), 'ok');
  assert.equal(code({ Filters: filters(1, 1, 'x'.repeat(LIMITS.filterValueLength + 1)) }), '400 InvalidParameterValue');
  assert.equal(code({ Filters: filters(LIMITS.filters + 1) }, 'autoscaling'), '400 ValidationError');
});

test('any list, at any depth, holds at most LIMITS.listItems items', () => {
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `ami-${i}`);
  assert.equal(code({ ImageIds: ids(LIMITS.listItems) }), 'ok');
  assert.equal(code({ ImageIds: ids(LIMITS.listItems + 1) }), '400 InvalidParameterValue');
  assert.equal(code({ LaunchTemplateData: { SecurityGroupIds: ids(LIMITS.listItems + 1) } }), '400 InvalidParameterValue');
  assert.equal(code({ UserData: new Uint8Array(100_000), When: new Date(0) }), 'ok');
});
