/**
 * The default VPC as tools read it: DescribeVpcs, DescribeSubnets and
 * DescribeNetworkInterfaces (one per live instance). Read-only: the VPC and
 * its per-zone subnets exist implicitly per account and region
 * (services/network/network.ts); security groups are security-groups.ts.
 */
import type {
  DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult,
  DescribeSubnetsRequest, DescribeSubnetsResult, DescribeVpcsRequest,
  DescribeVpcsResult, NetworkInterface, Subnet, Vpc } from '@aws-sdk/client-ec2';
import type { Caller, Context } from '../../services/core/context.js';
import { describeInstances } from '../../services/instances/instances.js';
import { defaultSubnetsInUse } from '../../services/instances/instance-attributes.js';
import type { DefaultSubnet, VpcRange } from '../../services/network/network.js';
import { defaultVpc, derivedId, macAddress, privateDnsName, vpcRange, zoneId } from '../../services/network/network.js';
import { ApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { securityGroups } from '../views/instances.js';

/** Exactly the named ones, or `code` naming those that do not exist. */
function pick<T>(items: T[], ids: string[] | undefined, idOf: (t: T) => string, code: string, what: string): T[] {
  if (!ids?.length) return items;
  const missing = ids.filter((id) => !items.some((t) => idOf(t) === id));
  if (missing.length) throw new ApiError(code, `The ${what} '${missing.join(', ')}' does not exist`);
  return items.filter((t) => ids.includes(idOf(t)));
}

const VPC_FILTERS: FilterFields<Vpc> = {
  'vpc-id': (v) => v.VpcId,
  'cidr': (v) => v.CidrBlock,
  'cidr-block-association.cidr-block': (v) => v.CidrBlock,
  'cidr-block-association.state': () => 'associated',
  'dhcp-options-id': (v) => v.DhcpOptionsId,
  'is-default': (v) => v.IsDefault,
  'isDefault': (v) => v.IsDefault,
  'owner-id': (v) => v.OwnerId,
  'state': (v) => v.State,
};

function sdkVpc(caller: Caller, range: VpcRange): Vpc {
  const v = defaultVpc(caller, range);
  return {
    VpcId: v.vpcId, CidrBlock: v.cidr, State: 'available', DhcpOptionsId: v.dhcpOptionsId, InstanceTenancy: 'default', IsDefault: true,
    OwnerId: caller.account, Ipv6CidrBlockAssociationSet: [], BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
    CidrBlockAssociationSet: [{ AssociationId: derivedId('vpc-cidr-assoc', v.vpcId), CidrBlock: v.cidr, CidrBlockState: { State: 'associated' } }],
  };
}

export const describeVpcs: Handler<DescribeVpcsRequest, DescribeVpcsResult> = async (ctx, caller, input) => {
  const vpcs = pick([sdkVpc(caller, vpcRange(ctx))], input.VpcIds, (v) => v.VpcId!, 'InvalidVpcID.NotFound', 'vpc ID');
  const page = paginate(applyFilters(vpcs, input.Filters, VPC_FILTERS, () => []), 'vpcs', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Vpcs: page.items, NextToken: page.nextToken };
};

const SUBNET_FILTERS: FilterFields<Subnet> = {
  'subnet-id': (s) => s.SubnetId,
  'subnet-arn': (s) => s.SubnetArn,
  'vpc-id': (s) => s.VpcId,
  'availability-zone': (s) => s.AvailabilityZone,
  'availability-zone-id': (s) => s.AvailabilityZoneId,
  'availabilityZone': (s) => s.AvailabilityZone,
  'cidr-block': (s) => s.CidrBlock,
  'cidr': (s) => s.CidrBlock,
  'cidrBlock': (s) => s.CidrBlock,
  'default-for-az': (s) => s.DefaultForAz,
  'defaultForAz': (s) => s.DefaultForAz,
  'map-public-ip-on-launch': (s) => s.MapPublicIpOnLaunch,
  'owner-id': (s) => s.OwnerId,
  'state': (s) => s.State,
};

function sdkSubnet(s: DefaultSubnet, used: number): Subnet {
  return {
    SubnetId: s.subnetId, SubnetArn: `arn:aws:ec2:${s.region}:${s.account}:subnet/${s.subnetId}`, VpcId: s.vpcId, CidrBlock: s.cidr,
    AvailabilityZone: s.availabilityZone, AvailabilityZoneId: zoneId(s.region, s.index), AvailableIpAddressCount: 4091 - used,
    DefaultForAz: true, MapPublicIpOnLaunch: false, MapCustomerOwnedIpOnLaunch: false, State: 'available', OwnerId: s.account,
    AssignIpv6AddressOnCreation: false, Ipv6CidrBlockAssociationSet: [], EnableDns64: false, Ipv6Native: false,
    PrivateDnsNameOptionsOnLaunch: { HostnameType: 'ip-name', EnableResourceNameDnsARecord: false, EnableResourceNameDnsAAAARecord: false },
    BlockPublicAccessStates: { InternetGatewayBlockMode: 'off' },
  };
}

export const describeSubnets: Handler<DescribeSubnetsRequest, DescribeSubnetsResult> = async (ctx, caller, input) => {
  const subnets = (await defaultSubnetsInUse(ctx, caller)).map(({ subnet, used }) => sdkSubnet(subnet, used));
  const named = pick(subnets, input.SubnetIds, (s) => s.SubnetId!, 'InvalidSubnetID.NotFound', 'subnet ID');
  const page = paginate(applyFilters(named, input.Filters, SUBNET_FILTERS, () => []), 'subnets', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { Subnets: page.items, NextToken: page.nextToken };
};

/** The primary interface of each of the caller's instances that is not terminated. */
async function interfaces(ctx: Context, caller: Caller): Promise<NetworkInterface[]> {
  const out: NetworkInterface[] = [];
  const vpcId = defaultVpc(caller).vpcId;
  for (const { inst, attrs: rec, groupNames } of await describeInstances(ctx, caller)) {
    if (inst.state === 'terminated') continue;
    const dns = privateDnsName(inst.region, rec.privateIp);
    out.push({
      NetworkInterfaceId: rec.networkInterfaceId, SubnetId: rec.subnetId, VpcId: vpcId, AvailabilityZone: inst.availabilityZone,
      OwnerId: inst.account, RequesterManaged: false, Status: 'in-use', InterfaceType: 'interface', Description: '',
      MacAddress: macAddress(rec.networkInterfaceId), PrivateIpAddress: rec.privateIp, PrivateDnsName: dns,
      SourceDestCheck: rec.sourceDestCheck, Groups: securityGroups(rec, groupNames),
      Attachment: {
        AttachmentId: rec.networkInterfaceId.replace(/^eni-/, 'eni-attach-'), InstanceId: inst.id, InstanceOwnerId: inst.account,
        DeviceIndex: 0, NetworkCardIndex: 0, Status: 'attached', AttachTime: new Date(inst.launchTime), DeleteOnTermination: true,
      },
      PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: rec.privateIp, PrivateDnsName: dns }],
      Ipv6Addresses: [], TagSet: [],
    });
  }
  return out;
}

const ENI_FILTERS: FilterFields<NetworkInterface> = {
  'network-interface-id': (n) => n.NetworkInterfaceId,
  'attachment.instance-id': (n) => n.Attachment?.InstanceId,
  'attachment.instance-owner-id': (n) => n.Attachment?.InstanceOwnerId,
  'attachment.attachment-id': (n) => n.Attachment?.AttachmentId,
  'attachment.device-index': (n) => n.Attachment?.DeviceIndex,
  'attachment.status': (n) => n.Attachment?.Status,
  'attachment.delete-on-termination': (n) => n.Attachment?.DeleteOnTermination,
  'availability-zone': (n) => n.AvailabilityZone,
  'description': (n) => n.Description,
  'group-id': (n) => n.Groups?.map((g) => g.GroupId),
  'group-name': (n) => n.Groups?.map((g) => g.GroupName),
  'interface-type': (n) => n.InterfaceType,
  'mac-address': (n) => n.MacAddress,
  'owner-id': (n) => n.OwnerId,
  'private-dns-name': (n) => n.PrivateDnsName,
  'private-ip-address': (n) => n.PrivateIpAddress,
  'addresses.private-ip-address': (n) => n.PrivateIpAddresses?.map((a) => a.PrivateIpAddress),
  'requester-managed': (n) => n.RequesterManaged,
  'source-dest-check': (n) => n.SourceDestCheck,
  'status': (n) => n.Status,
  'subnet-id': (n) => n.SubnetId,
  'vpc-id': (n) => n.VpcId,
};

export const describeNetworkInterfaces: Handler<DescribeNetworkInterfacesRequest, DescribeNetworkInterfacesResult> = async (ctx, caller, input) => {
  const all = await interfaces(ctx, caller);
  const named = pick(all, input.NetworkInterfaceIds, (n) => n.NetworkInterfaceId!, 'InvalidNetworkInterfaceID.NotFound', 'networkInterface ID');
  const page = paginate(applyFilters(named, input.Filters, ENI_FILTERS, () => []), 'network-interfaces', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { NetworkInterfaces: page.items, NextToken: page.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
};
