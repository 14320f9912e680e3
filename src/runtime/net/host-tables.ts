/**
 * The host-side nftables of ONE Kiln server (host-network.ts applies them),
 * each named from the server's scope (kiln_<8 hex>) so that servers on one
 * host never rewrite each other's, and each naming only that server's own
 * bridges and veths (sets), never another server's:
 *
 *   inet kiln_<h>    VPCs apart (no forwarding from one of its bridges to any
 *                    other Kiln bridge, nor into its bridges from another
 *                    server's); reverse-path check of what comes in by its
 *                    bridges; guests reach nothing of the host itself but
 *                    this server's metadata listener (replies to the host's
 *                    own connections pass); NAT when the server has it.
 *   bridge kiln_<h>  anti-spoofing on the host end of each instance's veth:
 *                    only IPv4 and ARP from the instance's own MAC and
 *                    address leave it (no IPv6: Kiln assigns none; no DHCP).
 *
 * The guest cannot touch either (they live in the host's namespace), unlike
 * its own namespace's table (firewall.ts).
 */
import { createHash } from 'node:crypto';

/** An instance port: the host end of its veth, with the MAC and address its guest was given. */
export interface Port { name: string; mac: string; ip: string }

/** How instances reach beyond their VPC. */
export interface NatOptions {
  /** Masquerade what instances send out of the host (not to another VPC), as a NAT gateway does; nothing comes in unasked. */
  nat: boolean;
  /**
   * Kiln itself turned the host's IPv4 forwarding on (it was off): then the
   * host forwards nothing that is not an instance's, as before.
   */
  forwardingIsKilns: boolean;
}

export interface HostTables {
  /** The server's tables' name (kiln_<8 hex>), the same in both families. */
  name: string;
  bridges: string[];
  ports: Port[];
  /** The server's metadata listener's address: the one host address its guests reach. */
  metadata: string;
  nat?: NatOptions;
}

export const scopeHex = (scope: string): string => createHash('sha256').update(`kiln-scope\n${scope}`).digest('hex').slice(0, 8);
export const tableName = (scope: string): string => `kiln_${scopeHex(scope)}`;

/**
 * The server's metadata listener's address: link-local, derived from the scope (169.254.64.1 - 169.254.127.254,
 * away from the 169.254.169.x and 169.254.170.x a cloud host uses), on a device of its own (km-<8 hex>).
 */
export function metadataAddress(scope: string): string {
  const n = parseInt(scopeHex(scope), 16);
  return `169.254.${64 + (n % 64)}.${1 + (Math.floor(n / 64) % 254)}`;
}
export const metadataDevice = (scope: string): string => `km-${scopeHex(scope)}`;

/**
 * The server's own routing table, for its instances' host routes (looked up before `main`, by a rule of
 * ROUTE_RULE_PRIORITY): a route another server (of any version) replaces or deletes in `main` is never one of them.
 */
export const routeTable = (scope: string): number => 1_000_000 + (parseInt(scopeHex(scope), 16) % 1_000_000_000);
export const ROUTE_RULE_PRIORITY = 30000;

const set = (name: string, type: string, elements: string[]) =>
  `  set ${name} {\n    type ${type};\n${elements.length ? `    elements = { ${elements.join(', ')} }\n` : ''}  }`;

const table = (family: string, name: string, body: string[]) =>
  `table ${family} ${name} {}\nflush table ${family} ${name}\ntable ${family} ${name} {\n${body.join('\n')}\n}\n`;

const chain = (name: string, hook: string, rules: string[]) => `  chain ${name} {\n    ${hook}\n${rules.map((r) => `    ${r}`).join('\n')}\n  }`;

/** The `inet` table: VPCs and servers apart, reverse-path check, the host closed to guests but the metadata listener, NAT. */
export function inetTable(t: HostTables): string {
  const nat = t.nat ?? { nat: false, forwardingIsKilns: false };
  // Reverse path: what a guest sends the host, or through it, comes from an address the host routes back to
  // the same bridge (bridged traffic within a VPC, which br_netfilter shows here too, is the bridge table's).
  const rp = 'fib saddr . iif oif missing drop';
  const forward = [
    `iifname @bridges oifname != @bridges ${rp}`,
    ...t.bridges.map((br) => `iifname "${br}" oifname @bridges oifname != "${br}" drop`),
    // Another server's bridges, either way.
    'iifname @bridges oifname "kb-*" oifname != @bridges drop',
    'oifname @bridges iifname "kb-*" iifname != @bridges drop',
    // Link-local addresses (another metadata service: the host's own cloud's) are never reached through the host.
    'iifname @bridges ip daddr 169.254.0.0/16 drop',
    'iifname @bridges meta nfproto ipv6 drop',
  ];
  if (nat.nat) forward.push('oifname @bridges iifname != "kb-*" ct state established,related accept', 'oifname @bridges iifname != "kb-*" drop');
  // Where Kiln turned IPv4 forwarding on (even if NAT is off now), the host forwards no one else's IPv4.
  if (nat.forwardingIsKilns) forward.push('meta nfproto ipv4 iifname != "kb-*" oifname != "kb-*" drop');
  const input = [
    `iifname @bridges ${rp}`,
    `ip daddr ${t.metadata} iifname != @bridges iifname != "lo" drop`,
    // Replies to the host's own connections (SSH to an instance, a probe of its web server).
    'iifname @bridges ct state established,related accept',
    `iifname @bridges ip daddr ${t.metadata} meta l4proto tcp accept`,
    // The router address, the host's other addresses, other servers' listeners: nothing else of the host.
    'iifname @bridges drop',
  ];
  const body = [
    set('bridges', 'ifname', t.bridges.map((b) => `"${b}"`)),
    chain('forward', 'type filter hook forward priority filter; policy accept;', forward),
    chain('input', 'type filter hook input priority filter; policy accept;', input),
  ];
  if (nat.nat) body.push(chain('postrouting', 'type nat hook postrouting priority srcnat; policy accept;', ['iifname @bridges oifname != "kb-*" masquerade']));
  return table('inet', t.name, body);
}

/** The `bridge` table: what may enter the server's bridges from each instance's veth. */
export function bridgeTable(t: HostTables): string {
  return table('bridge', t.name, [
    set('ports', 'ifname', t.ports.map((p) => `"${p.name}"`)),
    set('sources', 'ifname . ether_addr . ipv4_addr', t.ports.map((p) => `"${p.name}" . ${p.mac} . ${p.ip}`)),
    chain('prerouting', 'type filter hook prerouting priority -200; policy accept;', [
      'iifname != @ports accept',
      'ether type ip iifname . ether saddr . ip saddr @sources accept',
      'ether type arp iifname . ether saddr . arp saddr ip @sources iifname . arp saddr ether . arp saddr ip @sources accept',
      'counter drop',
    ]),
  ]);
}
