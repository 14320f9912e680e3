import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { HostTables } from './host-tables.js';
import { bridgeTable, inetTable, metadataAddress, metadataDevice, tableName } from './host-tables.js';

const T: HostTables = {
  name: tableName('/srv/a/runtime'), bridges: ['kb-00000001', 'kb-00000002'], metadata: '169.254.77.7',
  ports: [{ name: 'kv0000000001', mac: '0e:00:00:00:00:01', ip: '172.31.0.4' }],
};

test('each server has its own tables, metadata address and device, named from its scope', () => {
  assert.match(tableName('/srv/a/runtime'), /^kiln_[0-9a-f]{8}$/);
  assert.notEqual(tableName('/srv/a/runtime'), tableName('/srv/b/runtime'));
  assert.notEqual(metadataAddress('/srv/a/runtime'), metadataAddress('/srv/b/runtime'));
  for (const scope of ['', '/a', '/srv/b/runtime', '/var/lib/kiln/runtime']) {
    const [, third, fourth] = /^169\.254\.(\d+)\.(\d+)$/.exec(metadataAddress(scope))!.map(Number);
    assert.ok(third! >= 64 && third! <= 127 && fourth! >= 1 && fourth! <= 254, metadataAddress(scope));
  }
  assert.ok(metadataDevice('/srv/a/runtime').length <= 15, 'within IFNAMSIZ');
});

test('the inet table: only its own bridges, VPCs and servers apart, the host closed to guests but the metadata listener', () => {
  const t = inetTable(T);
  assert.match(t, new RegExp(`^table inet ${T.name} \\{\\}\\nflush table inet ${T.name}\\n`));
  assert.match(t, /set bridges \{\n\s+type ifname;\n\s+elements = \{ "kb-00000001", "kb-00000002" \}/);
  assert.match(t, /iifname "kb-00000001" oifname @bridges oifname != "kb-00000001" drop/);
  assert.match(t, /iifname @bridges oifname "kb-\*" oifname != @bridges drop/);
  assert.match(t, /oifname @bridges iifname "kb-\*" iifname != @bridges drop/);
  assert.match(t, /chain forward \{\n.*\n\s+iifname @bridges oifname != @bridges fib saddr \. iif oif missing drop/);
  assert.match(t, /chain input \{\n.*\n\s+iifname @bridges fib saddr \. iif oif missing drop/);
  const input = t.slice(t.indexOf('chain input'));
  assert.match(input, /ip daddr 169\.254\.77\.7 iifname != @bridges iifname != "lo" drop/);
  const order = ['ct state established,related accept', 'ip daddr 169.254.77.7 meta l4proto tcp accept', 'iifname @bridges drop'].map((r) => input.indexOf(r));
  assert.deepEqual([...order].sort((x, y) => x - y), order, 'replies and the metadata listener pass before the rest is dropped');
  assert.ok(order.every((i) => i > 0));
  assert.doesNotMatch(t, /masquerade|postrouting/);
  assert.doesNotMatch(t, /iifname "kb-\*" (?!iifname|oifname != @)/, 'the wildcard only ever excludes, never matches on its own');
});

test('the inet table with NAT: masquerade out, only replies in, and no other forwarding when forwarding is Kiln\'s', () => {
  const nat = inetTable({ ...T, nat: { nat: true, forwardingIsKilns: false } });
  assert.match(nat, /type nat hook postrouting priority srcnat; policy accept;\n\s+iifname @bridges oifname != "kb-\*" masquerade/);
  assert.ok(nat.indexOf('ct state established,related accept') < nat.indexOf('oifname @bridges iifname != "kb-*" drop'));
  assert.doesNotMatch(nat, /iifname != "kb-\*" oifname != "kb-\*" drop/);
  assert.match(inetTable({ ...T, nat: { nat: false, forwardingIsKilns: true } }), /meta nfproto ipv4 iifname != "kb-\*" oifname != "kb-\*" drop/);
  assert.match(inetTable({ ...T, bridges: [] }), /set bridges \{\n\s+type ifname;\n\s+\}/, 'no bridges yet: an empty set');
});

test('the bridge table: from an instance\'s veth only its own MAC and address, IPv4 and ARP; other ports untouched', () => {
  const t = bridgeTable(T);
  assert.match(t, new RegExp(`^table bridge ${T.name} \\{\\}\\nflush table bridge ${T.name}\\n`));
  assert.match(t, /elements = \{ "kv0000000001" \. 0e:00:00:00:00:01 \. 172\.31\.0\.4 \}/);
  assert.match(t, /iifname != @ports accept\n\s+ether type ip iifname \. ether saddr \. ip saddr @sources accept\n/);
  assert.match(t, /ether type arp iifname \. ether saddr \. arp saddr ip @sources iifname \. arp saddr ether \. arp saddr ip @sources accept/);
  assert.match(t, /counter drop\n\s+\}\n\}\n$/, 'everything else from a port (IPv6, DHCP, forged sources) is dropped');
});
