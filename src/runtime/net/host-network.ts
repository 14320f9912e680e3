/**
 * The host side of instance networking: one Linux bridge per VPC, and per
 * instance a network namespace joined to its VPC's bridge by a veth pair.
 *
 *   bridge kb-<8 hex of the server's  holds the VPC router's address (the first
 *          state dir and VPC id>      address of the VPC range, `noprefixroute`:
 *                                     several VPCs may share a range)
 *   netns  kiln-<instance id>         eth0 (the veth's peer) with the instance's
 *                                     address on the VPC's prefix, its MAC, lo up,
 *                                     a default route via the router address
 *   veth   kv<10 hex of the id>       the host end, enslaved to the bridge
 *   route  <address>/32 dev <bridge>  so the host reaches the instance (and only
 *                                     through its own VPC's bridge)
 *
 * Instances of one VPC talk over their bridge; VPCs do not reach each other:
 * separate bridges, no proxy ARP, and the host does not forward between them
 * (the `inet kiln` nftables table drops forwarding from one Kiln bridge to
 * another, in case forwarding is on for other reasons; within a VPC every
 * address is on-link, so nothing of its own is forwarded). Addresses are unique on the host (the
 * services allocate them so), which is what lets the host route each one.
 *
 * Everything is made idempotently and undone on failure; `disconnect` removes
 * what `connect` made, and is safe on an instance that has nothing.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import { Revert } from '../revert.js';
import type { Firewall, NetworkAttachment } from '../runtime.js';
import { firewallTable } from './firewall.js';
import { exec, findExecutable, HostCommandError } from '../runc/host.js';

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

/**
 * The `inet kiln` table, applied whole with `nft -f` (atomic: made if absent,
 * emptied, filled): for each Kiln bridge, traffic in from it may not leave by
 * another Kiln bridge. (Where br_netfilter is loaded, traffic bridged within
 * one VPC passes this hook too, in and out of the same bridge: it is kept.)
 * With NAT: what instances send elsewhere leaves masqueraded as the host, and
 * from elsewhere only replies reach them.
 */
export function nftTable(bridges: string[], local: string[], nat: NatOptions = { nat: false, forwardingIsKilns: false }): string {
  const forward = bridges.map((br) => `    iifname "${br}" oifname "kb-*" oifname != "${br}" drop`);
  // Link-local addresses (another metadata service: the host's own cloud's) are never reached through the host.
  forward.push('    iifname "kb-*" ip daddr 169.254.0.0/16 drop');
  if (nat.nat) forward.push('    oifname "kb-*" iifname != "kb-*" ct state established,related accept', '    oifname "kb-*" iifname != "kb-*" drop');
  // Where Kiln turned IPv4 forwarding on (even if NAT is off now), the host forwards no one else's IPv4.
  if (nat.forwardingIsKilns) forward.push('    meta nfproto ipv4 iifname != "kb-*" oifname != "kb-*" drop');
  const guard = local.map((a) => `    ip daddr ${a} iifname != "lo" iifname != "kb-*" drop`).join('\n');
  const postrouting = nat.nat
    ? '  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n    iifname "kb-*" oifname != "kb-*" oifname != "kiln-md" masquerade\n  }\n'
    : '';
  return `table inet kiln {}\nflush table inet kiln\ntable inet kiln {\n  chain forward {\n    type filter hook forward priority filter; policy accept;\n${forward.join('\n')}\n  }\n`
    + `  chain input {\n    type filter hook input priority filter; policy accept;\n${guard}\n  }\n${postrouting}}\n`;
}

/**
 * The resolver lines of a resolv.conf that make sense inside an instance: its
 * nameservers but the loopback ones (the instance's loopback is its own),
 * and search/options. Empty when nothing but loopback nameservers is left.
 */
export function resolverLines(text: string): string[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => /^(nameserver|search|domain|options)\s/.test(l));
  const servers = lines.filter((l) => /^nameserver\s/.test(l) && !/^nameserver\s+(127\.|::1$)/.test(l));
  return servers.length ? lines.filter((l) => !/^nameserver\s/.test(l) || servers.includes(l)) : [];
}

/** Where Kiln notes that it turned IPv4 forwarding on (a tmpfs: gone at reboot, as the setting is). */
const FORWARDING_MARK = '/run/kiln/ip-forward-enabled-by-kiln';
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

const hex = (s: string, n: number) => createHash('sha256').update(s).digest('hex').slice(0, n);

/**
 * The VPC's bridge. Named from the VPC id and the server's `scope` (its runtime state directory): a default VPC's id
 * depends only on its account and region, so without the scope two Kiln servers on one host (or a server and the
 * instances a killed one left behind) would put instances with the same addresses on one bridge, and the host's
 * packets would go to whichever answered ARP first.
 */
export const bridgeName = (vpcId: string, scope = ''): string => `kb-${hex(scope ? `${scope}\n${vpcId}` : vpcId, 8)}`;
export const netnsName = (instanceId: string): string => `kiln-${instanceId}`;
export const netnsPath = (instanceId: string): string => `/run/netns/${netnsName(instanceId)}`;
const vethName = (instanceId: string): string => `kv${hex(instanceId, 10)}`;
const peerName = (instanceId: string): string => `kp${hex(instanceId, 10)}`;

export class HostNetwork {
  /** Instances reach the outside through NAT (masquerade) on the host. */
  /** `scope`: what the bridges' names are made unique to (the server's runtime state directory). */
  constructor(private readonly opts: { nat?: boolean; scope?: string } = {}) {}
  private ipPath?: string;
  private nftPath?: string;
  private readonly bridges = new KeyedMutex();
  /** Whether this process has written the table yet (it is rewritten whenever a bridge is made). */
  private tableWritten = false;

  /** What this host lacks for instance networks (empty when ready). */
  async check(): Promise<string[]> {
    const missing: string[] = [];
    if (!(await findExecutable('ip'))) missing.push('ip is missing: instances get their network with it (apt-get install iproute2).');
    if (!(await findExecutable('nft'))) missing.push('nft is missing: it keeps VPCs apart (apt-get install nftables).');
    return missing;
  }

  /** Makes the instance's namespace and joins it to its VPC's bridge; returns the namespace's path for the runtime. */
  async connect(instanceId: string, att: NetworkAttachment, adoptNetns?: (name: string) => Promise<void>): Promise<string> {
    await this.disconnect(instanceId); // whatever an earlier start or a crash left
    await this.ensureBridge(att);
    const ns = netnsName(instanceId);
    const [veth, peer] = [vethName(instanceId), peerName(instanceId)];
    const revert = new Revert();
    try {
      // adoptNetns: the namespace exists already (made in the instance's user namespace, runc/userns.ts); it is named here.
      await (adoptNetns ? adoptNetns(ns) : this.ip(['netns', 'add', ns]));
      revert.add(() => this.ip(['netns', 'delete', ns]));
      await this.ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
      revert.add(() => this.ip(['link', 'delete', veth]));
      await this.ip(['link', 'set', veth, 'master', att.bridge ?? bridgeName(att.vpcId, this.opts.scope), 'up']);
      await this.ip(['link', 'set', peer, 'netns', ns]);
      const inNs = (args: string[]) => this.ip(['-n', ns, ...args]);
      await inNs(['link', 'set', peer, 'name', 'eth0']);
      await inNs(['link', 'set', 'eth0', 'address', att.mac]);
      await inNs(['addr', 'add', `${att.ip}/${att.prefixLength}`, 'dev', 'eth0']);
      await inNs(['link', 'set', 'eth0', 'up']);
      await inNs(['link', 'set', 'lo', 'up']);
      await inNs(['route', 'add', 'default', 'via', att.gateway, 'dev', 'eth0']);
      if (att.firewall) await this.applyFirewall(instanceId, att.ip, att.firewall);
      await this.ip(['route', 'replace', `${att.ip}/32`, 'dev', att.bridge ?? bridgeName(att.vpcId, this.opts.scope), 'src', att.gateway]);
      revert.success();
      return netnsPath(instanceId);
    } catch (err) {
      await revert.run();
      throw err;
    }
  }

  /**
   * What an instance's /etc/resolv.conf says when it can reach the outside
   * (NAT): the host's own nameservers, or, behind systemd-resolved's stub,
   * its upstream ones. Undefined without NAT or when the host has none an
   * instance could reach.
   */
  async resolvConf(): Promise<string | undefined> {
    if (!this.opts.nat) return undefined;
    for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
      const lines = resolverLines(await readFile(file, 'utf8').catch(() => ''));
      if (lines.length) return `# written by Kiln from the host's resolvers\n${lines.join('\n')}\n`;
    }
    return undefined;
  }

  /** Replaces the firewall of the instance's namespace (atomically); a no-op when it has no namespace. */
  async firewall(instanceId: string, fw: Firewall): Promise<void> {
    const addr = await this.ip(['-n', netnsName(instanceId), '-4', '-o', 'addr', 'show', 'dev', 'eth0']).catch(() => '');
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr)?.[1];
    if (ip) await this.applyFirewall(instanceId, ip, fw);
  }

  private async applyFirewall(instanceId: string, ip: string, fw: Firewall): Promise<void> {
    this.nftPath ??= await findExecutable('nft');
    if (!this.nftPath) throw new HostCommandError('nft is missing: it enforces security groups (apt-get install nftables)', [], '');
    await execInput(await this.ipTool(), ['netns', 'exec', netnsName(instanceId), this.nftPath, '-f', '-'], firewallTable(ip, fw));
  }

  /**
   * Makes `address` local to the host on a small bridge of its own (kiln-md),
   * so the metadata listener can bind it before any VPC bridge exists. The
   * `inet kiln` table drops traffic to it that does not come in by a Kiln
   * bridge or the loopback.
   */
  async ensureLocalAddress(address: string): Promise<void> {
    const dev = 'kiln-md';
    if (!(await this.ip(['link', 'show', dev]).then(() => true, () => false))) {
      await this.ip(['link', 'add', dev, 'type', 'bridge']).catch((err: HostCommandError) => { if (!/exists/i.test(err.stderr ?? '')) throw err; });
    }
    if (!(await this.ip(['-4', '-o', 'addr', 'show', 'dev', dev])).includes(`inet ${address}/`)) {
      await this.ip(['addr', 'add', `${address}/32`, 'dev', dev, 'noprefixroute']).catch((err: HostCommandError) => {
        if (!/exists|already assigned/i.test(err.stderr ?? '')) throw err;
      });
    }
    await this.ip(['link', 'set', dev, 'up']);
    await this.ensureTable();
  }

  /** Removes the instance's namespace (its veth goes with it) and its host route. Safe when there is none. */
  async disconnect(instanceId: string): Promise<void> {
    const ns = netnsName(instanceId);
    const addr = await this.ip(['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).catch(() => '');
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr)?.[1];
    if (ip) await this.ip(['route', 'delete', `${ip}/32`]).catch(() => undefined);
    await this.ip(['link', 'delete', vethName(instanceId)]).catch(() => undefined);
    await this.ip(['netns', 'delete', ns]).catch(() => undefined);
  }

  /** The VPC's bridge, up, with the router address; and the table that keeps VPCs apart. One launch at a time makes it. */
  private ensureBridge(att: NetworkAttachment): Promise<void> {
    const br = att.bridge ?? bridgeName(att.vpcId, this.opts.scope);
    return this.bridges.run(br, () => this.makeBridge(br, att));
  }

  private async makeBridge(br: string, att: NetworkAttachment): Promise<void> {
    const exists = await this.ip(['link', 'show', br]).then(() => true, () => false);
    if (!exists) {
      await this.ip(['link', 'add', br, 'type', 'bridge']).catch(async (err: HostCommandError) => {
        if (!/exists/i.test(err.stderr ?? '')) throw err; // a concurrent launch made it first
      });
    }
    const addrs = await this.ip(['-4', '-o', 'addr', 'show', 'dev', br]);
    if (!addrs.includes(`inet ${att.gateway}/`)) {
      await this.ip(['addr', 'add', `${att.gateway}/${att.prefixLength}`, 'dev', br, 'noprefixroute']).catch(async (err: HostCommandError) => {
        if (!/exists|already assigned/i.test(err.stderr ?? '')) throw err;
      });
    }
    await this.ip(['link', 'set', br, 'up']);
    if (!exists || !this.tableWritten) await this.ensureTable();
  }

  /** Rewrites the table for the Kiln bridges there are now. */
  private async ensureTable(): Promise<void> {
    this.nftPath ??= await findExecutable('nft');
    if (!this.nftPath) throw new HostCommandError('nft is missing: it keeps VPCs apart (apt-get install nftables)', [], '');
    const links = await this.ip(['-o', 'link', 'show', 'type', 'bridge']);
    const bridges = [...links.matchAll(/^\d+: (kb-[0-9a-f]{8})[:@]/gm)].map((m) => m[1]!).sort();
    // Addresses only instances may reach: the ones on kiln-md (the metadata listener's).
    const md = await this.ip(['-4', '-o', 'addr', 'show', 'dev', 'kiln-md']).catch(() => '');
    const local = [...md.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1]!);
    const nat = { nat: !!this.opts.nat, forwardingIsKilns: this.opts.nat ? await ensureForwarding() : await forwardingMarked() };
    await execInput(this.nftPath, ['-f', '-'], nftTable(bridges, local, nat));
    this.tableWritten = true;
  }

  private async ipTool(): Promise<string> {
    this.ipPath ??= await findExecutable('ip');
    if (!this.ipPath) throw new HostCommandError('ip is missing (apt-get install iproute2)', [], '');
    return this.ipPath;
  }

  private async ip(args: string[]): Promise<string> {
    return exec(await this.ipTool(), args);
  }
}

/**
 * Turns the host's IPv4 forwarding on for NAT, noting when it was Kiln that
 * did (so the table keeps the host from forwarding anything else). Whether
 * forwarding is Kiln's doing.
 */
async function ensureForwarding(): Promise<boolean> {
  if ((await readFile(IP_FORWARD, 'utf8')).trim() === '1') return forwardingMarked();
  await mkdir('/run/kiln', { recursive: true });
  await writeFile(FORWARDING_MARK, `IPv4 forwarding turned on by Kiln (pid ${process.pid}) for instance NAT\n`);
  await writeFile(IP_FORWARD, '1\n');
  return true;
}

/** Whether the IPv4 forwarding on now is Kiln's doing (its mark, and forwarding still on). */
async function forwardingMarked(): Promise<boolean> {
  const on = (await readFile(IP_FORWARD, 'utf8').catch(() => '0')).trim() === '1';
  return on && readFile(FORWARDING_MARK).then(() => true, () => false);
}

/** Runs a command with `input` on its stdin. */
async function execInput(file: string, args: string[], input: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new HostCommandError(`${file} ${args.join(' ')} failed: ${stderr}`, [file, ...args], stderr))));
    p.stdin.end(input);
  });
}
