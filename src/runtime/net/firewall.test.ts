import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firewallTable } from './firewall.js';

test('the firewall table: stateful, dropping by default, anti-spoofing first on the way out, one accept per allowed rule', () => {
  const t = firewallTable('172.31.0.9', {
    ingress: [
      { protocol: 'tcp', fromPort: 22, toPort: 22, peers: ['0.0.0.0/0'] },
      { protocol: 'all', peers: ['172.31.0.4', '172.31.0.5', '172.31.0.4'] },
      { protocol: 'udp', fromPort: 1000, toPort: 2000, peers: [] }, // a group with no members yet: nothing
      { protocol: 'icmp', peers: ['10.0.0.0/8'] },
    ],
    egress: [{ protocol: 'all', peers: ['0.0.0.0/0'] }],
  });
  assert.match(t, /^table inet kiln_sg \{\}\nflush table inet kiln_sg\n/);
  assert.match(t, /chain input \{\n\s+type filter hook input priority filter; policy drop;/);
  assert.match(t, /ip saddr \{ 0\.0\.0\.0\/0 \} meta l4proto tcp tcp dport 22 accept/);
  assert.match(t, /ip saddr \{ 172\.31\.0\.4, 172\.31\.0\.5 \} accept/);
  assert.doesNotMatch(t, /udp/);
  assert.match(t, /ip saddr \{ 10\.0\.0\.0\/8 \} ip protocol icmp accept/);
  const out = t.slice(t.indexOf('chain output'));
  assert.ok(out.indexOf('ip saddr != 172.31.0.9 drop') < out.indexOf('ct state established'), 'spoofed packets are dropped before anything is accepted');
  assert.match(out, /ip daddr \{ 0\.0\.0\.0\/0 \} accept/);
});
