import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bridgeName, resolverLines } from './host-network.js';

test('the resolver an instance gets: the host\'s nameservers, never a loopback one', () => {
  assert.deepEqual(resolverLines('# x\nnameserver 10.0.0.53\nnameserver 127.0.0.53\nnameserver ::1\nsearch example.internal\noptions edns0\n'),
    ['nameserver 10.0.0.53', 'search example.internal', 'options edns0']);
  assert.deepEqual(resolverLines('nameserver 127.0.0.53\n'), []);
});

test('a VPC\'s bridge is its server\'s own: the same default VPC id under two state directories gives two bridges', () => {
  const vpc = 'vpc-0123456789abcdef0';
  assert.match(bridgeName(vpc, '/srv/a/runtime'), /^kb-[0-9a-f]{8}$/);
  assert.equal(bridgeName(vpc, '/srv/a/runtime'), bridgeName(vpc, '/srv/a/runtime'), 'stable across restarts');
  assert.notEqual(bridgeName(vpc, '/srv/a/runtime'), bridgeName(vpc, '/srv/b/runtime'));
  assert.ok(bridgeName(vpc, '/srv/a/runtime').length <= 15, 'within IFNAMSIZ');
});
