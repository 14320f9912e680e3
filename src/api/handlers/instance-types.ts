/** DescribeInstanceTypes and DescribeInstanceTypeOfferings, from the one table of types. */
import type {
  DescribeInstanceTypeOfferingsRequest, DescribeInstanceTypeOfferingsResult, DescribeInstanceTypesRequest, DescribeInstanceTypesResult,
  InstanceTypeOffering,
} from '@aws-sdk/client-ec2';
import { availabilityZones } from '../../services/core/context.js';
import { INSTANCE_TYPES } from '../../services/instances/instance-types.js';
import { zoneId } from '../../services/network/network.js';
import { ApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { paginate } from '../paging.js';
import { OFFERING_FILTERS, toSdkType, TYPE_FILTERS } from '../views/instance-types.js';

export const describeInstanceTypes: Handler<DescribeInstanceTypesRequest, DescribeInstanceTypesResult> = async (_ctx, _caller, input) => {
  const names = input.InstanceTypes?.length ? input.InstanceTypes : Object.keys(INSTANCE_TYPES);
  const unknown = names.filter((n) => !INSTANCE_TYPES[n]);
  if (unknown.length) {
    throw new ApiError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]. Call DescribeInstanceTypes without InstanceTypes for the types Kiln offers.`);
  }
  const types = applyFilters(names.map((n) => toSdkType(n, INSTANCE_TYPES[n]!)), input.Filters, TYPE_FILTERS);
  const page = paginate(types, 'instance-types', input.MaxResults, input.NextToken, { min: 5, max: 100 });
  return { InstanceTypes: page.items, NextToken: page.nextToken };
};

/** Every Kiln type is offered in every region and zone it serves. */
export const describeInstanceTypeOfferings: Handler<DescribeInstanceTypeOfferingsRequest, DescribeInstanceTypeOfferingsResult> = async (_ctx, caller, input) => {
  const kind = input.LocationType ?? 'region';
  let locations: string[];
  if (kind === 'region') locations = [caller.region];
  else if (kind === 'availability-zone') locations = availabilityZones(caller.region);
  else if (kind === 'availability-zone-id') locations = availabilityZones(caller.region).map((_, i) => zoneId(caller.region, i));
  else throw new ApiError('InvalidParameterValue', `Value (${kind}) for parameter locationType is invalid.`);
  const offerings = locations.flatMap((Location) => Object.keys(INSTANCE_TYPES).map((t) => ({
    InstanceType: t as InstanceTypeOffering['InstanceType'], LocationType: kind, Location,
  })));
  const page = paginate(applyFilters(offerings, input.Filters, OFFERING_FILTERS), 'instance-type-offerings', input.MaxResults, input.NextToken, { min: 5, max: 1000 });
  return { InstanceTypeOfferings: page.items, NextToken: page.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
};
