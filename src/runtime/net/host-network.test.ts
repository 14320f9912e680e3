import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bridgeName, nftTable, resolverLines } from './host-network.js';

test('the host table: VPCs apart; with NAT, masquerade out, only replies in, and no other forwarding when forwarding is Kiln\'s', () => {
  const plain = nftTable(['kb-00000001', 'kb-00000002'], ['172.31.0.1']);
  assert.match(plain, /iifname "kb-00000001" oifname "kb-\*" oifname != "kb-00000001" drop/);
  assert.match(plain, /ip daddr 172\.31\.0\.1 iifname != "lo" iifname != "kb-\*" drop/);
  assert.doesNotMatch(plain, /masquerade|postrouting/);
  const nat = nftTable(['kb-00000001'], [], { nat: true, forwardingIsKilns: false });
  assert.match(nat, /type nat hook postrouting priority srcnat; policy accept;\n\s+iifname "kb-\*" oifname != "kb-\*" oifname != "kiln-md" masquerade/);
  assert.ok(nat.indexOf('ct state established,related accept') < nat.indexOf('oifname "kb-*" iifname != "kb-*" drop'), 'replies pass before new connections are dropped');
  assert.doesNotMatch(nat, /iifname != "kb-\*" oifname != "kb-\*" drop/);
  assert.match(nftTable([], [], { nat: true, forwardingIsKilns: true }), /meta nfproto ipv4 iifname != "kb-\*" oifname != "kb-\*" drop/);
  // Forwarding Kiln turned on stays guarded after a restart without NAT; link-local is never forwarded.
  assert.match(nftTable([], [], { nat: false, forwardingIsKilns: true }), /meta nfproto ipv4 iifname != "kb-\*" oifname != "kb-\*" drop/);
  assert.match(plain, /iifname "kb-\*" ip daddr 169\.254\.0\.0\/16 drop/);
});

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
