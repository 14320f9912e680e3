import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiError } from '../api/errors.js';
import { BUCKETS, classify, RateLimiter } from './rate-limit.js';

const params = (q: string) => new URLSearchParams(q);

test('actions fall in EC2\'s classes', () => {
  assert.equal(classify('DescribeImages', params('Action=DescribeImages&Filter.1.Name=name&Filter.1.Value.1=x')), 'non-mutating');
  assert.equal(classify('DescribeImages', params('Action=DescribeImages&ImageId.1=ami-1')), 'non-mutating');
  assert.equal(classify('DescribeInstances', params('Action=DescribeInstances&MaxResults=5')), 'non-mutating');
  assert.equal(classify('DescribeInstances', params('Action=DescribeInstances&Version=2016-11-15')), 'unfiltered');
  assert.equal(classify('CreateTags', params('Action=CreateTags')), 'mutating');
  assert.equal(classify('RunInstances', params('Action=RunInstances')), 'expensive');
  assert.equal(classify('CreateImage', params('')), 'expensive');
});

test('a bucket holds its size, refills at its rate, and never beyond its size', () => {
  let now = 0;
  const limiter = new RateLimiter({ multiplier: 1, now: () => now });
  const { size, refill } = BUCKETS['non-mutating'];
  for (let i = 0; i < size; i++) assert.ok(limiter.take('111111111111', 'us-east-1', 'non-mutating').ok);
  const refused = limiter.take('111111111111', 'us-east-1', 'non-mutating');
  assert.equal(refused.ok, false);
  assert.ok(!refused.ok && refused.retryMs > 0 && refused.retryMs <= 1000 / refill);
  now += 1000;
  for (let i = 0; i < refill; i++) assert.ok(limiter.take('111111111111', 'us-east-1', 'non-mutating').ok);
  assert.equal(limiter.take('111111111111', 'us-east-1', 'non-mutating').ok, false);
  now += 3_600_000;
  let n = 0;
  while (limiter.take('111111111111', 'us-east-1', 'non-mutating').ok) n++;
  assert.equal(n, size);
});

test('the log hears once of a bucket running dry', () => {
  const told: string[] = [];
  const limiter = new RateLimiter({ multiplier: 1, now: () => 0 }, (m) => told.push(m));
  for (let i = 0; i < 500; i++) limiter.take('111111111111', 'us-east-1', 'mutating');
  assert.equal(told.length, 1);
  assert.match(told[0]!, /111111111111/);
});

test('accounts, regions and classes have their own buckets', () => {
  const limiter = new RateLimiter({ multiplier: 1, now: () => 0 });
  while (limiter.take('111111111111', 'us-east-1', 'mutating').ok);
  assert.ok(limiter.take('222222222222', 'us-east-1', 'mutating').ok);
  assert.ok(limiter.take('111111111111', 'eu-west-1', 'mutating').ok);
  assert.ok(limiter.take('111111111111', 'us-east-1', 'non-mutating').ok);
});

test('the multiplier scales the buckets; 0 turns the limits off', () => {
  const twice = new RateLimiter({ multiplier: 2, now: () => 0 });
  let n = 0;
  while (twice.take('1', 'r', 'unfiltered').ok) n++;
  assert.equal(n, 2 * BUCKETS.unfiltered.size);
  const off = new RateLimiter({ multiplier: 0, now: () => 0 });
  for (let i = 0; i < 10_000; i++) assert.ok(off.take('1', 'r', 'expensive').ok);
});

test('a refused request is each protocol\'s throttling error', async () => {
  const limiter = new RateLimiter({ multiplier: 1, holdMs: 0, now: () => 0 });
  const code = async (wire: 'ec2' | 'autoscaling' | 'ebs', cls: 'unfiltered' | 'mutating' | 'ebs') => {
    await limiter.check('1', 'r', cls, wire); // a full bucket lets it through
    while (limiter.take('1', 'r', cls).ok);
    try { await limiter.check('1', 'r', cls, wire); } catch (e) { return [(e as ApiError).code, (e as ApiError).status]; }
    return [];
  };
  assert.deepEqual(await code('ec2', 'unfiltered'), ['RequestLimitExceeded', 503]);
  assert.deepEqual(await code('autoscaling', 'mutating'), ['Throttling', 400]);
  assert.deepEqual(await code('ebs', 'ebs'), ['RequestThrottledException', 400]);
});
