import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from './errors.js';
import { applyFilters, wildcard } from './filters.js';
import { paginate } from './paging.js';

interface Item { id: string; name: string; public: boolean; tags: Array<{ key: string; value: string }> }
const items: Item[] = [
  { id: 'ami-1', name: 'web-v1', public: true, tags: [{ key: 'team', value: 'web' }] },
  { id: 'ami-2', name: 'web-v2', public: false, tags: [{ key: 'team', value: 'data' }, { key: 'env', value: 'prod' }] },
  { id: 'ami-3', name: 'Web-v3', public: false, tags: [] },
];
const fields = { name: (i: Item) => i.name, 'image-id': (i: Item) => i.id, 'is-public': (i: Item) => i.public };
const ids = (xs: Item[]) => xs.map((x) => x.id);
const run = (filters: Array<{ Name: string; Values: string[] }>) => ids(applyFilters(items, filters, fields, (i) => i.tags));

test('wildcards: * any run, ? one character, backslash escapes, case-sensitive', () => {
  assert.ok(wildcard('web-*').test('web-v1'));
  assert.ok(!wildcard('web-*').test('Web-v3'));
  assert.ok(wildcard('web-v?').test('web-v2'));
  assert.ok(!wildcard('web-v?').test('web-v10'));
  assert.ok(wildcard('a\\*b').test('a*b'));
  assert.ok(!wildcard('a\\*b').test('axb'));
  assert.ok(wildcard('(x).[y]').test('(x).[y]'));
});

test('values are ORed, filters ANDed', () => {
  assert.deepEqual(run([{ Name: 'name', Values: ['web-v1', 'Web-*'] }]), ['ami-1', 'ami-3']);
  assert.deepEqual(run([{ Name: 'name', Values: ['*'] }, { Name: 'is-public', Values: ['false'] }]), ['ami-2', 'ami-3']);
});

test('tag:KEY, tag-key, tag-value', () => {
  assert.deepEqual(run([{ Name: 'tag:team', Values: ['web', 'data'] }]), ['ami-1', 'ami-2']);
  assert.deepEqual(run([{ Name: 'tag-key', Values: ['env'] }]), ['ami-2']);
  assert.deepEqual(run([{ Name: 'tag-value', Values: ['w*'] }]), ['ami-1']);
});

test('an unknown filter is InvalidParameterValue', () => {
  assert.throws(() => run([{ Name: 'colour', Values: ['red'] }]), (e: ApiError) => e.code === 'InvalidParameterValue');
});

test('pagination walks the whole list and refuses foreign tokens', () => {
  const xs = Array.from({ length: 7 }, (_, i) => i);
  const seen: number[] = [];
  let token: string | undefined;
  do {
    const p = paginate(xs, 'images', 3, token, { min: 1, max: 1000 });
    seen.push(...p.items);
    token = p.nextToken;
  } while (token);
  assert.deepEqual(seen, xs);
  const t = paginate(xs, 'images', 3, undefined, { min: 1, max: 1000 }).nextToken;
  assert.throws(() => paginate(xs, 'snapshots', 3, t, { min: 5, max: 1000 }), (e: ApiError) => e.code === 'InvalidParameterValue');
  assert.throws(() => paginate(xs, 'snapshots', 5, t, { min: 5, max: 1000 }), (e: ApiError) => e.code === 'InvalidPaginationToken');
  assert.throws(() => paginate(xs, 'images', 5, 'garbage', { min: 5, max: 1000 }), (e: ApiError) => e.code === 'InvalidPaginationToken');
});

test('a tag filter of many stars over a long tag is a plain miss (no backtracking)', () => {
  const long: Item = { id: 'ami-9', name: 'x', public: false, tags: [{ key: 't', value: 'a'.repeat(256) }] };
  const filters = [{ Name: 'tag:t', Values: [`${'*a'.repeat(60)}b`, '*a*a', 'a?*'] }];
  assert.deepEqual(ids(applyFilters([long], [{ Name: 'tag:t', Values: [filters[0]!.Values[0]!] }], fields, (i) => i.tags)), []);
  assert.deepEqual(ids(applyFilters([long], filters, fields, (i) => i.tags)), ['ami-9']);
});
