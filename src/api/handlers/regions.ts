/** DescribeRegions, DescribeAvailabilityZones and DescribeAccountAttributes. */
import type {
  AccountAttribute, AvailabilityZone, DescribeAccountAttributesRequest, DescribeAccountAttributesResult,
  DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult, DescribeRegionsRequest, DescribeRegionsResult, Region,
} from '@aws-sdk/client-ec2';
import { availabilityZones } from '../../services/core/context.js';
import { MAX_LIVE_INSTANCES } from '../../services/instances/instance-types.js';
import { defaultVpc } from '../../services/network/network.js';
import { ApiError } from '../errors.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';

const REGION_FILTERS: FilterFields<Region> = {
  'endpoint': (r) => r.Endpoint,
  'opt-in-status': (r) => r.OptInStatus,
  'region-name': (r) => r.RegionName,
};

/** Regions are served by this same endpoint: the Endpoint field names it. */
export const describeRegions: Handler<DescribeRegionsRequest, DescribeRegionsResult> = async (ctx, _caller, input, req) => {
  let regions: Region[] = ctx.regions.map((name) => ({ RegionName: name, Endpoint: req.host, OptInStatus: 'opt-in-not-required' }));
  if (input.RegionNames?.length) {
    const unknown = input.RegionNames.filter((n) => !ctx.regions.includes(n));
    if (unknown.length) throw new ApiError('InvalidParameterValue', `Invalid region names: ${unknown.join(', ')}`);
    regions = regions.filter((r) => input.RegionNames!.includes(r.RegionName!));
  }
  return { Regions: applyFilters(regions, input.Filters, REGION_FILTERS) };
};

const ZONE_FILTERS: FilterFields<AvailabilityZone> = {
  'group-name': (z) => z.GroupName,
  'opt-in-status': (z) => z.OptInStatus,
  'region-name': (z) => z.RegionName,
  'state': (z) => z.State,
  'zone-id': (z) => z.ZoneId,
  'zone-name': (z) => z.ZoneName,
  'zone-type': (z) => z.ZoneType,
};

export const describeAvailabilityZones: Handler<DescribeAvailabilityZonesRequest, DescribeAvailabilityZonesResult> = async (ctx, caller, input) => {
  const short = caller.region.replace(/-(\w)\w*-(\d+)$/, (_, d: string, n: string) => `${d}${n}`).replace(/^(\w\w)-/, '$1');
  let zones: AvailabilityZone[] = availabilityZones(caller.region).map((name, i) => ({
    ZoneName: name, ZoneId: `${short}-az${i + 1}`, State: 'available', RegionName: caller.region, ZoneType: 'availability-zone',
    OptInStatus: 'opt-in-not-required', GroupName: caller.region, NetworkBorderGroup: caller.region, Messages: [],
  }));
  if (input.ZoneNames?.length) zones = zones.filter((z) => input.ZoneNames!.includes(z.ZoneName!));
  if (input.ZoneIds?.length) zones = zones.filter((z) => input.ZoneIds!.includes(z.ZoneId!));
  return { AvailabilityZones: applyFilters(zones, input.Filters, ZONE_FILTERS) };
};

export const describeAccountAttributes: Handler<DescribeAccountAttributesRequest, DescribeAccountAttributesResult> = async (_ctx, caller, input) => {
  const all: Record<string, string[]> = {
    'supported-platforms': ['VPC'],
    'default-vpc': [defaultVpc(caller).vpcId],
    'max-instances': [String(MAX_LIVE_INSTANCES)],
    'max-elastic-ips': ['5'],
    'vpc-max-elastic-ips': ['5'],
    'vpc-max-security-groups-per-interface': ['5'],
  };
  const names = input.AttributeNames?.length ? input.AttributeNames : Object.keys(all);
  const out: AccountAttribute[] = names.map((name) => {
    const values = all[name];
    if (!values) throw new ApiError('InvalidParameterValue', `Value (${name}) for parameter attributeName is invalid.`);
    return { AttributeName: name, AttributeValues: values.map((AttributeValue) => ({ AttributeValue })) };
  });
  return { AccountAttributes: out };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeAccountAttributes: describeAccountAttributes,
  DescribeRegions: describeRegions,
  DescribeAvailabilityZones: describeAvailabilityZones,
};
