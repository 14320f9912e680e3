/** DescribeImages and CreateImage. */
import type {
  CreateImageRequest, CreateImageResult, DescribeImagesRequest,
  DescribeImagesResult } from '@aws-sdk/client-ec2';
import { createImageFromInstance } from '../../services/instances/capture.js';
import { IMAGE_FILTERS, toSdkImage } from '../views/images.js';
import { ApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { mappingRequests } from '../mappings.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs } from '../tags.js';
import { describeImages as describe } from '../../services/images/describe.js';

export const describeImages: Handler<DescribeImagesRequest, DescribeImagesResult> = async (ctx, caller, input) => {
  if (input.ImageIds?.length && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter imageIdsSet cannot be used with the parameter maxResults');
  }
  const { images, allowed } = await describe(ctx, caller, {
    imageIds: input.ImageIds, owners: input.Owners, executableUsers: input.ExecutableUsers,
    includeDeprecated: input.IncludeDeprecated, includeDisabled: input.IncludeDisabled,
  });
  const shown = applyFilters(images, input.Filters, { ...IMAGE_FILTERS, 'image-allowed': allowed }, (i) => i.tags);
  const page = paginate(shown, 'images', input.MaxResults, input.NextToken, { min: 1, max: 1000 });
  return { Images: page.items.map((i) => toSdkImage(i, allowed(i))), NextToken: page.nextToken };
};

export const createImage: Handler<CreateImageRequest, CreateImageResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['image', 'snapshot']);
  const image = await createImageFromInstance(ctx, caller, {
    instanceId: required(input.InstanceId, 'InstanceId'), name: required(input.Name, 'Name'), description: input.Description,
    noReboot: input.NoReboot, imageTags: tags.image, snapshotTags: tags.snapshot,
    blockDeviceMappings: mappingRequests(input.BlockDeviceMappings),
  });
  return { ImageId: image.id };
};

export const HANDLERS: Record<string, Handler> = {
  DescribeImages: describeImages,
  CreateImage: createImage,
};
