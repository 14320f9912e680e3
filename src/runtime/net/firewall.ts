/**
 * An instance's security groups as an nftables table inside its own network
 * namespace (`inet kiln_sg`), applied whole with `nft -f` so a change is
 * atomic. Inside the namespace it filters exactly that instance's traffic,
 * whatever the host's own firewall is, and the instance cannot change it (it
 * holds no CAP_NET_ADMIN). Stateful: replies to allowed connections pass by
 * conntrack; everything else is dropped; and nothing leaves eth0 from an
 * address that is not the instance's own (anti-spoofing). The metadata
 * service's address, 169.254.169.254:80, is translated (DNAT) to the host's
 * metadata listener, which knows the instance by its address. The host does
 * not rely on this table against spoofing: the host end of the veth passes
 * only the instance's own MAC and address (host-tables.ts).
 */
import type { Firewall, FirewallRule } from '../runtime.js';

const ADDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;

function match(r: FirewallRule, dir: 'saddr' | 'daddr'): string | undefined {
  const peers = r.peers.filter((p) => ADDR.test(p));
  if (!peers.length) return undefined;
  const addr = `ip ${dir} { ${[...new Set(peers)].join(', ')} }`;
  if (r.protocol === 'all') return `${addr} accept`;
  if (r.protocol === 'icmp') return `${addr} ip protocol icmp${r.fromPort !== undefined && r.fromPort >= 0 ? ` icmp type ${r.fromPort}` : ''} accept`;
  const ports = r.fromPort === undefined || r.fromPort < 0 ? '' : ` ${r.protocol} dport ${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`}`;
  return `${addr} meta l4proto ${r.protocol}${ports} accept`;
}

/** The table for an instance at `ip` with these rules. */
export const METADATA_ADDRESS = '169.254.169.254';

export function firewallTable(ip: string, fw: Firewall): string {
  const md = fw.metadata;
  const lines = (rules: FirewallRule[], dir: 'saddr' | 'daddr') => rules.map((r) => match(r, dir)).filter((l): l is string => !!l).map((l) => `    ${l}`);
  return [
    'table inet kiln_sg {}',
    'flush table inet kiln_sg',
    'table inet kiln_sg {',
    '  chain input {',
    '    type filter hook input priority filter; policy drop;',
    '    iifname "lo" accept',
    '    ct state established,related accept',
    '    ct state invalid drop',
    ...lines(fw.ingress, 'saddr'),
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy drop;',
    '    oifname "lo" accept',
    `    oifname "eth0" ip saddr != ${ip} drop`,
    '    ct state established,related accept',
    ...(md ? [`    ip daddr ${md.address} tcp dport ${md.port} accept`] : []),
    ...lines(fw.egress, 'daddr'),
    '  }',
    ...(md ? [
      '  chain metadata {',
      '    type nat hook output priority -100; policy accept;',
      `    ip daddr ${METADATA_ADDRESS} tcp dport 80 dnat ip to ${md.address}:${md.port}`,
      '  }',
    ] : []),
    '}',
    '',
  ].join('\n');
}
