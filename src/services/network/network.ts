/**
 * The network an instance sits in, as AWS's default VPC shapes it: one
 * default VPC per account and region (172.31.0.0/16 unless the server's VPC
 * range setting names another private /16, for a host whose own networks use
 * AWS's range), one default subnet per availability zone (a /20 each), one
 * `default` security group. Kiln does not
 * create VPCs; these exist implicitly, with ids derived from the account and
 * region so they are stable across restarts and the same in every answer.
 * Instances get a private address in their subnet, kept on the instance's
 * attribute record (services/instance-attributes.ts).
 */
import { createHash } from 'node:crypto';
import type { Caller, Context } from '../core/context.js';
import { availabilityZones } from '../core/context.js';
import { Invalid } from '../core/errors.js';

/** AWS's default VPC range. */
export const DEFAULT_VPC_CIDR = '172.31.0.0/16';

/** The range every default VPC on this host has: a private /16. */
export class VpcRange {
  /** The first two octets ("172.31"). */
  readonly base: string;
  readonly prefixLength = 16;
  constructor(readonly cidr: string = DEFAULT_VPC_CIDR) {
    const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
    const [a, b] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    const isPrivate = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
    if (!m || b > 255 || !isPrivate) {
      throw new Invalid('InvalidParameterValue', `the VPC range must be a private /16 such as 172.31.0.0/16 or 10.99.0.0/16, not '${cidr}'`);
    }
    this.base = `${a}.${b}`;
  }

  /** The VPC router's address (AWS: the base + 1); the host holds it on the VPC's bridge. */
  get router(): string { return `${this.base}.0.1`; }
}

const ranges = new Map<string, VpcRange>();
/** The server's VPC range (Context.vpcCidr, else AWS's). */
export function vpcRange(ctx: Pick<Context, 'vpcCidr'>): VpcRange {
  const cidr = ctx.vpcCidr ?? DEFAULT_VPC_CIDR;
  let r = ranges.get(cidr);
  if (!r) ranges.set(cidr, r = new VpcRange(cidr));
  return r;
}
const DEFAULT_RANGE = new VpcRange();

export interface DefaultVpc { vpcId: string; cidr: string; dhcpOptionsId: string; account: string; region: string }
export interface DefaultSubnet {
  subnetId: string; vpcId: string; availabilityZone: string; cidr: string; account: string; region: string;
  /** Index of the zone in the region (0 for ...a): the subnet is <base>.(16*index).0/20. */
  index: number;
}
export interface DefaultSecurityGroup { groupId: string; groupName: string; description: string; vpcId: string; account: string }

/** A stable id of AWS's long format for an implicit resource. */
export function derivedId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update([prefix, ...parts].join('/')).digest('hex').slice(0, 17)}`;
}

/** The default VPC (its id depends only on the owner; its range is the server's). */
export function defaultVpc(owner: Caller, range: VpcRange = DEFAULT_RANGE): DefaultVpc {
  return {
    vpcId: derivedId('vpc', owner.account, owner.region), cidr: range.cidr,
    dhcpOptionsId: derivedId('dopt', owner.account, owner.region), account: owner.account, region: owner.region,
  };
}

export function defaultSubnets(owner: Caller, range: VpcRange = DEFAULT_RANGE): DefaultSubnet[] {
  const vpcId = defaultVpc(owner).vpcId;
  return availabilityZones(owner.region).map((az, index) => ({
    subnetId: derivedId('subnet', owner.account, az), vpcId, availabilityZone: az,
    cidr: `${range.base}.${16 * index}.0/20`, account: owner.account, region: owner.region, index,
  }));
}

export function subnetForZone(owner: Caller, availabilityZone: string, range: VpcRange = DEFAULT_RANGE): DefaultSubnet | undefined {
  return defaultSubnets(owner, range).find((s) => s.availabilityZone === availabilityZone);
}

export function defaultSecurityGroup(owner: Caller): DefaultSecurityGroup {
  return {
    groupId: derivedId('sg', owner.account, owner.region), groupName: 'default', description: 'default VPC security group',
    vpcId: defaultVpc(owner).vpcId, account: owner.account,
  };
}

/** AWS's zone id of the region's zone number `index` (0 for ...a): use1-az1, euw2-az3 ... as DescribeAvailabilityZones answers. */
/** The zone id (use1-az1 ...) of the availability zone named `az` in `region`. */
export function zoneIdOf(region: string, az: string): string {
  return zoneId(region, Math.max(0, availabilityZones(region).indexOf(az)));
}

export function zoneId(region: string, index: number): string {
  const short = region.replace(/-(\w)\w*-(\d+)$/, (_, d: string, n: string) => `${d}${n}`).replace(/^(\w\w)-/, '$1');
  return `${short}-az${index + 1}`;
}

/** Usable host addresses of a default subnet: AWS reserves the first four and the last one. */
const FIRST_HOST = 4;
const LAST_HOST = 4096 - 2;

/** The first two octets of the subnet's range. */
const baseOf = (subnet: DefaultSubnet) => subnet.cidr.split('.').slice(0, 2).join('.');

export function addressAt(subnet: DefaultSubnet, host: number): string {
  const third = 16 * subnet.index + Math.floor(host / 256);
  return `${baseOf(subnet)}.${third}.${host % 256}`;
}

/** The lowest free address of the subnet, given the addresses in use. */
export function nextFreeAddress(subnet: DefaultSubnet, used: Set<string>): string {
  for (let host = FIRST_HOST; host <= LAST_HOST; host++) {
    const ip = addressAt(subnet, host);
    if (!used.has(ip)) return ip;
  }
  throw new Error(`subnet ${subnet.subnetId} has no free address`);
}

/** Whether `ip` is a usable host address of the subnet. */
export function inSubnet(subnet: DefaultSubnet, ip: string): boolean {
  const m = /^(\d{1,3}\.\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m || m[1] !== baseOf(subnet) || Number(m[3]) > 255) return false;
  const host = (Number(m[2]) - 16 * subnet.index) * 256 + Number(m[3]);
  return host >= FIRST_HOST && host <= LAST_HOST;
}

/** AWS's private DNS name for an address: ip-172-31-0-4.ec2.internal in us-east-1, REGION.compute.internal elsewhere. */
export function privateDnsName(region: string, ip: string): string {
  const domain = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
  return `ip-${ip.replace(/\./g, '-')}.${domain}`;
}

/** A locally administered MAC address derived from the interface id. */
export function macAddress(eniId: string): string {
  const h = createHash('sha256').update(eniId).digest();
  return ['0e', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
