/**
 * The host side of instance networking: one Linux bridge per VPC, and per
 * instance a network namespace joined to its VPC's bridge by a veth pair.
 *
 *   bridge kb-<8 hex of the server's  holds the VPC router's address (the first
 *          state dir and VPC id>      address of the VPC range, `noprefixroute`:
 *                                     several VPCs may share a range); its alias
 *                                     `kiln <scope hex>` says whose it is
 *   netns  kiln-<instance id>         eth0 (the veth's peer) with the instance's
 *                                     address on the VPC's prefix, its MAC, lo up,
 *                                     a default route via the router address
 *   veth   kv<10 hex of the id>       the host end, enslaved to the bridge; alias
 *                                     `kiln <scope hex> <mac> <address>`
 *   route  <address>/32 dev <bridge>  so the host reaches the instance (and only
 *          in the server's own        through its own VPC's bridge); never taken
 *          routing table              from a device that is not this server's
 *   km-<scope hex>                    the server's metadata listener's address
 *
 * The server's nftables (host-tables.ts, `inet` and `bridge` kiln_<scope hex>)
 * are rebuilt whole from those aliases whenever a bridge or veth comes or
 * goes: VPCs apart, anti-spoofing per veth, the host closed to guests but the
 * metadata listener. Another server's tables, bridges and routes are left
 * alone (the legacy host-wide `inet kiln` table of earlier versions too: a
 * server of such a version may still depend on it).
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
import type { Port } from './host-tables.js';
import { bridgeTable, inetTable, metadataAddress, metadataDevice, ROUTE_RULE_PRIORITY, routeTable, scopeHex, tableName } from './host-tables.js';
import { exec, findExecutable, HostCommandError } from '../runc/host.js';

export type { NatOptions } from './host-tables.js';

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

/** One table write at a time per server in this process (the driver's and the metadata service's HostNetwork share a scope). */
const tableWrites = new KeyedMutex();

interface JsonLink { ifname: string; ifalias?: string; master?: string }
interface JsonRoute { dst: string; dev?: string; table?: string }
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export class HostNetwork {
  /** `nat`: instances reach the outside through NAT (masquerade) on the host. `scope`: whose bridges, veths and tables these are (the server's runtime state directory). */
  constructor(private readonly opts: { nat?: boolean; scope?: string } = {}) {}
  private ipPath?: string;
  private nftPath?: string;
  private readonly bridges = new KeyedMutex();
  private get scope(): string { return this.opts.scope ?? ''; }
  /** The alias this server's bridges carry (its veths: this, the MAC and the address). */
  private get mark(): string { return `kiln ${scopeHex(this.scope)}`; }

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
    const br = att.bridge ?? bridgeName(att.vpcId, this.scope);
    const ns = netnsName(instanceId);
    const [veth, peer] = [vethName(instanceId), peerName(instanceId)];
    const revert = new Revert();
    try {
      // adoptNetns: the namespace exists already (made in the instance's user namespace, runc/userns.ts); it is named here.
      await (adoptNetns ? adoptNetns(ns) : this.ip(['netns', 'add', ns]));
      revert.add(() => this.ip(['netns', 'delete', ns]));
      revert.add(() => this.writeTables()); // after the veth went (steps run last-added first)
      await this.ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', peer]);
      revert.add(() => this.ip(['link', 'delete', veth]));
      // Its anti-spoofing entry before it joins the bridge.
      await this.ip(['link', 'set', veth, 'alias', `${this.mark} ${att.mac} ${att.ip}`]);
      await this.writeTables();
      await this.ip(['link', 'set', veth, 'master', br, 'up']);
      await this.ip(['link', 'set', peer, 'netns', ns]);
      const inNs = (args: string[]) => this.ip(['-n', ns, ...args]);
      await inNs(['link', 'set', peer, 'name', 'eth0']);
      await inNs(['link', 'set', 'eth0', 'address', att.mac]);
      await inNs(['addr', 'add', `${att.ip}/${att.prefixLength}`, 'dev', 'eth0']);
      await inNs(['link', 'set', 'eth0', 'up']);
      await inNs(['link', 'set', 'lo', 'up']);
      await inNs(['route', 'add', 'default', 'via', att.gateway, 'dev', 'eth0']);
      if (att.firewall) await this.applyFirewall(instanceId, att.ip, att.firewall);
      await this.routeTo(att.ip, br, att.gateway);
      revert.success();
      return netnsPath(instanceId);
    } catch (err) {
      await revert.run();
      throw err;
    }
  }

  /**
   * The host route to the instance, on its bridge; never taken from a device that is not this server's (another
   * server's instance at the same address): then the start fails (the services do not give out such an address,
   * addressesTaken(); this closes the race of two servers launching at once).
   */
  private async routeTo(ip: string, br: string, src: string): Promise<void> {
    const own = new Set((await this.links()).bridges);
    const foreign = (await this.routes(['table', 'all', 'exact', `${ip}/32`])).find((r) => !own.has(r.dev ?? ''));
    if (foreign) throw new HostCommandError(`the address ${ip} is already routed on this host to ${foreign.dev ?? 'another device'}, which is not this server's`, [], '');
    await this.dropRoute(ip); // its own, wherever an earlier start (or version) put it
    await this.ip(['route', 'replace', `${ip}/32`, 'dev', br, 'src', src, 'table', String(routeTable(this.scope))]);
  }

  /**
   * IPv4 addresses this host routes to a device that is not this server's, or holds itself (another server's
   * instances, the host's own addresses): an instance given one would take it over, so the services give out none.
   */
  async addressesTaken(): Promise<string[]> {
    const own = new Set((await this.links()).bridges);
    const routes = await this.routes(['table', 'all']);
    return [...new Set(routes.filter((r) => IPV4.test(r.dst) && !own.has(r.dev ?? '')).map((r) => r.dst))];
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
    await execInput(await this.ipTool(), ['netns', 'exec', netnsName(instanceId), await this.nft(), '-f', '-'], firewallTable(ip, fw));
  }

  /**
   * The server's metadata listener's address (host-tables.ts metadataAddress), local to the host on a small
   * bridge of its own (km-<scope hex>), so the listener can bind it before any VPC bridge exists. The server's
   * table lets only its own bridges (and the loopback) reach it. Refuses an address the host holds elsewhere.
   */
  async ensureMetadataAddress(): Promise<string> {
    const [dev, address] = [metadataDevice(this.scope), metadataAddress(this.scope)];
    const held = (await this.routes(['table', 'local'])).find((r) => r.dst === address && r.dev !== dev);
    if (held) throw new HostCommandError(`the metadata address ${address} is already on ${held.dev}`, [], '');
    if (!(await this.ip(['link', 'show', dev]).then(() => true, () => false))) {
      await this.ip(['link', 'add', dev, 'type', 'bridge']).catch((err: HostCommandError) => { if (!/exists/i.test(err.stderr ?? '')) throw err; });
    }
    if (!(await this.ip(['-4', '-o', 'addr', 'show', 'dev', dev])).includes(`inet ${address}/`)) {
      await this.ip(['addr', 'add', `${address}/32`, 'dev', dev, 'noprefixroute']).catch((err: HostCommandError) => {
        if (!/exists|already assigned/i.test(err.stderr ?? '')) throw err;
      });
    }
    await this.ip(['link', 'set', dev, 'up']);
    await this.writeTables();
    return address;
  }

  /**
   * A server closing with no instance left takes what it made on the host with it: its tables, bridges and
   * metadata device (a server closing with instances running keeps them: they run on). Whether it did.
   */
  async releaseIfIdle(): Promise<boolean> {
    const { bridges, ports, attached } = await this.links();
    if (ports.length || attached) return false; // (attached: an instance an earlier version started, its veth unmarked)
    await tableWrites.run(this.scope, async () => {
      const name = tableName(this.scope);
      await execInput(await this.nft(), ['-f', '-'], `table inet ${name} {}\ndelete table inet ${name}\ntable bridge ${name} {}\ndelete table bridge ${name}\n`);
    });
    for (const dev of [...bridges, metadataDevice(this.scope)]) await this.ip(['link', 'delete', dev]).catch(() => undefined);
    await this.ip(['rule', 'del', 'pref', String(ROUTE_RULE_PRIORITY), 'lookup', String(routeTable(this.scope))]).catch(() => undefined);
    return true;
  }

  /** Removes the instance's namespace (its veth goes with it) and its host route. Safe when there is none. */
  async disconnect(instanceId: string): Promise<void> {
    const ns = netnsName(instanceId);
    const addr = await this.ip(['-n', ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']).catch(() => '');
    const ip = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr)?.[1];
    if (ip) await this.dropRoute(ip).catch(() => undefined);
    const had = await this.ip(['link', 'delete', vethName(instanceId)]).then(() => true, () => false);
    await this.ip(['netns', 'delete', ns]).catch(() => undefined);
    if (had) await this.writeTables().catch(() => undefined); // a stale entry admits nothing: the veth is gone
  }

  /** The instance's host route, where it is on one of this server's bridges (another server's route to the same address stays). */
  private async dropRoute(ip: string): Promise<void> {
    const own = new Set((await this.links()).bridges);
    for (const r of await this.routes(['table', 'all', 'exact', `${ip}/32`])) {
      if (r.dev && own.has(r.dev)) await this.ip(['route', 'delete', `${ip}/32`, 'dev', r.dev, 'table', r.table ?? 'main']).catch(() => undefined);
    }
  }

  /** The VPC's bridge, up, with the router address, marked as this server's. One launch at a time makes it. */
  private ensureBridge(att: NetworkAttachment): Promise<void> {
    const br = att.bridge ?? bridgeName(att.vpcId, this.scope);
    return this.bridges.run(br, () => this.makeBridge(br, att));
  }

  private async makeBridge(br: string, att: NetworkAttachment): Promise<void> {
    const exists = await this.ip(['link', 'show', br]).then(() => true, () => false);
    if (!exists) {
      await this.ip(['link', 'add', br, 'type', 'bridge']).catch(async (err: HostCommandError) => {
        if (!/exists/i.test(err.stderr ?? '')) throw err; // a concurrent launch made it first
      });
    }
    await this.ip(['link', 'set', br, 'alias', this.mark]);
    const addrs = await this.ip(['-4', '-o', 'addr', 'show', 'dev', br]);
    if (!addrs.includes(`inet ${att.gateway}/`)) {
      await this.ip(['addr', 'add', `${att.gateway}/${att.prefixLength}`, 'dev', br, 'noprefixroute']).catch(async (err: HostCommandError) => {
        if (!/exists|already assigned/i.test(err.stderr ?? '')) throw err;
      });
    }
    await this.ip(['link', 'set', br, 'up']);
  }

  /** This server's bridges and instance ports, as their aliases say. */
  private async links(): Promise<{ bridges: string[]; ports: Port[]; attached: boolean }> {
    const links = JSON.parse(await this.ip(['-j', 'link', 'show']) || '[]') as JsonLink[];
    const bridges = links.filter((l) => l.ifalias === this.mark && /^kb-[0-9a-f]{8}$/.test(l.ifname)).map((l) => l.ifname).sort();
    const ports: Port[] = [];
    for (const l of links) {
      const [kiln, h, mac, ip, ...rest] = (l.ifalias ?? '').split(' ');
      if (`${kiln} ${h}` === this.mark && /^kv[0-9a-f]{10}$/.test(l.ifname) && MAC.test(mac ?? '') && IPV4.test(ip ?? '') && !rest.length) {
        ports.push({ name: l.ifname, mac: mac!, ip: ip! });
      }
    }
    return { bridges, ports, attached: links.some((l) => l.master !== undefined && bridges.includes(l.master)) };
  }

  private async routes(args: string[]): Promise<JsonRoute[]> {
    return JSON.parse(await this.ip(['-4', '-j', 'route', 'show', ...args]) || '[]') as JsonRoute[];
  }

  /** Rewrites this server's tables (host-tables.ts) for the bridges and veths it has now; never another server's. */
  private writeTables(): Promise<void> {
    return tableWrites.run(this.scope, async () => {
      const nft = await this.nft();
      const { bridges, ports } = await this.links();
      const nat = { nat: !!this.opts.nat, forwardingIsKilns: this.opts.nat ? await ensureForwarding() : await forwardingMarked() };
      const t = { name: tableName(this.scope), bridges, ports, metadata: metadataAddress(this.scope), nat };
      await execInput(nft, ['-f', '-'], inetTable(t) + bridgeTable(t));
      // The rule that looks up the server's own routing table before `main`.
      const table = String(routeTable(this.scope));
      const rules = JSON.parse(await this.ip(['-j', 'rule', 'show']) || '[]') as Array<{ table?: string }>;
      if (!rules.some((r) => r.table === table)) await this.ip(['rule', 'add', 'pref', String(ROUTE_RULE_PRIORITY), 'lookup', table]);
    });
  }

  private async nft(): Promise<string> {
    this.nftPath ??= await findExecutable('nft');
    if (!this.nftPath) throw new HostCommandError('nft is missing: it keeps VPCs apart and enforces security groups (apt-get install nftables)', [], '');
    return this.nftPath;
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
