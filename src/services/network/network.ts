/**
 * The network an instance sits in, as AWS's default VPC shapes it: one
 * default VPC per account and region (172.31.0.0/16), one default subnet per
 * availability zone (a /20 each), one `default` security group. Kiln does not
 * create VPCs; these exist implicitly, with ids derived from the account and
 * region so they are stable across restarts and the same in every answer.
 * Instances get a private address in their subnet, kept on the instance's
 * attribute record (services/instance-attributes.ts).
 */
import { createHash } from 'node:crypto';
import type { Caller } from '../core/context.js';
import { availabilityZones } from '../core/context.js';

export const VPC_CIDR = '172.31.0.0/16';
/** The VPC router's address (AWS: the subnet's base + 1); the host holds it on the VPC's bridge. */
export const VPC_ROUTER = '172.31.0.1';
export const VPC_PREFIX_LENGTH = 16;

export interface DefaultVpc { vpcId: string; cidr: string; dhcpOptionsId: string; account: string; region: string }
export interface DefaultSubnet {
  subnetId: string; vpcId: string; availabilityZone: string; cidr: string; account: string; region: string;
  /** Index of the zone in the region (0 for ...a): the subnet is 172.31.(16*index).0/20. */
  index: number;
}
export interface DefaultSecurityGroup { groupId: string; groupName: string; description: string; vpcId: string; account: string }

/** A stable id of AWS's long format for an implicit resource. */
export function derivedId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update([prefix, ...parts].join('/')).digest('hex').slice(0, 17)}`;
}

export function defaultVpc(owner: Caller): DefaultVpc {
  return {
    vpcId: derivedId('vpc', owner.account, owner.region), cidr: VPC_CIDR,
    dhcpOptionsId: derivedId('dopt', owner.account, owner.region), account: owner.account, region: owner.region,
  };
}

export function defaultSubnets(owner: Caller): DefaultSubnet[] {
  const vpcId = defaultVpc(owner).vpcId;
  return availabilityZones(owner.region).map((az, index) => ({
    subnetId: derivedId('subnet', owner.account, az), vpcId, availabilityZone: az,
    cidr: `172.31.${16 * index}.0/20`, account: owner.account, region: owner.region, index,
  }));
}

export function subnetForZone(owner: Caller, availabilityZone: string): DefaultSubnet | undefined {
  return defaultSubnets(owner).find((s) => s.availabilityZone === availabilityZone);
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

export function addressAt(subnet: DefaultSubnet, host: number): string {
  const third = 16 * subnet.index + Math.floor(host / 256);
  return `172.31.${third}.${host % 256}`;
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
  const m = /^172\.31\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return false;
  const host = (Number(m[1]) - 16 * subnet.index) * 256 + Number(m[2]);
  return Number(m[2]) < 256 && host >= FIRST_HOST && host <= LAST_HOST;
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
