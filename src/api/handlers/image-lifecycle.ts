/**
 * The image lifecycle beyond capture: RegisterImage, CopyImage,
 * GetImageAncestry; retirement (deprecation, DisableImage/EnableImage,
 * deregistration protection, DeregisterImage); and the account-level image
 * settings (block public access for AMIs, Allowed AMIs).
 */
import type {
  CopyImageRequest, CopyImageResult, DeregisterImageRequest, DeregisterImageResult, DisableAllowedImagesSettingsResult,
  DisableImageBlockPublicAccessResult, DisableImageDeprecationRequest, DisableImageDeregistrationProtectionRequest,
  DisableImageDeregistrationProtectionResult, DisableImageRequest, EnableAllowedImagesSettingsRequest,
  EnableAllowedImagesSettingsResult, EnableImageBlockPublicAccessRequest, EnableImageBlockPublicAccessResult,
  EnableImageDeprecationRequest, EnableImageDeregistrationProtectionRequest, EnableImageDeregistrationProtectionResult,
  EnableImageRequest, GetAllowedImagesSettingsResult, GetImageAncestryRequest, GetImageAncestryResult,
  GetImageBlockPublicAccessStateResult, ImageCriterion as SdkCriterion, ImageCriterionRequest, RegisterImageRequest,
  RegisterImageResult, ReplaceImageCriteriaInAllowedImagesSettingsRequest, ReplaceImageCriteriaInAllowedImagesSettingsResult,
} from '@aws-sdk/client-ec2';
import { copyImage, imageAncestry, registerImage } from '../../services/images/image-copy.js';
import {
  deregisterImage, disableDeprecation, disableImage, disableProtection, enableDeprecation, enableImage, enableProtection,
} from '../../services/images/image-lifecycle.js';
import type { ImageCriterion } from '../../services/images/image-settings.js';
import {
  getAllowedImages, getBlockPublicAccess, replaceImageCriteria, setAllowedImagesState, setBlockPublicAccess,
} from '../../services/images/image-settings.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { mappingRequests } from '../mappings.js';
import { tagsFromSpecs } from '../tags.js';

const ok = { Return: true };

export const register: Handler<RegisterImageRequest, RegisterImageResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['image']);
  const img = await registerImage(ctx, caller, {
    name: required(input.Name, 'Name'), description: input.Description, architecture: input.Architecture,
    rootDeviceName: input.RootDeviceName, bootMode: input.BootMode, enaSupport: input.EnaSupport, imdsSupport: input.ImdsSupport,
    tpmSupport: input.TpmSupport, uefiData: input.UefiData,
    virtualizationType: input.VirtualizationType, imageLocation: input.ImageLocation, tags: tags.image,
    blockDeviceMappings: mappingRequests(input.BlockDeviceMappings),
  });
  return { ImageId: img.id };
};

export const copy: Handler<CopyImageRequest, CopyImageResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['image', 'snapshot']);
  const img = await copyImage(ctx, caller, {
    sourceRegion: required(input.SourceRegion, 'SourceRegion'), sourceImageId: required(input.SourceImageId, 'SourceImageId'),
    name: required(input.Name, 'Name'), description: input.Description, encrypted: input.Encrypted, kmsKeyId: input.KmsKeyId,
    copyImageTags: input.CopyImageTags, clientToken: input.ClientToken, imageTags: tags.image, snapshotTags: tags.snapshot,
  });
  return { ImageId: img.id };
};

export const ancestry: Handler<GetImageAncestryRequest, GetImageAncestryResult> = async (ctx, caller, input) => {
  const entries = await imageAncestry(ctx, caller, required(input.ImageId, 'ImageId'));
  return {
    ImageAncestryEntries: entries.map((e) => ({
      ImageId: e.imageId, CreationDate: new Date(e.creationDate), ImageOwnerAlias: e.imageOwnerAlias,
      SourceImageId: e.sourceImageId, SourceImageRegion: e.sourceImageRegion,
    })),
  };
};

export const deregister: Handler<DeregisterImageRequest, DeregisterImageResult> = async (ctx, caller, input) => {
  const results = await deregisterImage(ctx, caller, required(input.ImageId, 'ImageId'), { deleteSnapshots: input.DeleteAssociatedSnapshots });
  return { Return: true, DeleteSnapshotResults: results?.map((r) => ({ SnapshotId: r.snapshotId, ReturnCode: r.returnCode })) };
};

export const enableDeprecationH: Handler<EnableImageDeprecationRequest> = async (ctx, caller, input) => {
  const at = required(input.DeprecateAt, 'DeprecateAt');
  await enableDeprecation(ctx, caller, required(input.ImageId, 'ImageId'), at instanceof Date ? at : new Date(String(at)));
  return ok;
};

export const disableDeprecationH: Handler<DisableImageDeprecationRequest> = async (ctx, caller, input) => {
  await disableDeprecation(ctx, caller, required(input.ImageId, 'ImageId'));
  return ok;
};

export const disable: Handler<DisableImageRequest> = async (ctx, caller, input) => {
  await disableImage(ctx, caller, required(input.ImageId, 'ImageId'));
  return ok;
};

export const enable: Handler<EnableImageRequest> = async (ctx, caller, input) => {
  await enableImage(ctx, caller, required(input.ImageId, 'ImageId'));
  return ok;
};

export const protect: Handler<EnableImageDeregistrationProtectionRequest, EnableImageDeregistrationProtectionResult> =
  async (ctx, caller, input) => ({ Return: await enableProtection(ctx, caller, required(input.ImageId, 'ImageId'), !!input.WithCooldown) });

export const unprotect: Handler<DisableImageDeregistrationProtectionRequest, DisableImageDeregistrationProtectionResult> =
  async (ctx, caller, input) => ({ Return: await disableProtection(ctx, caller, required(input.ImageId, 'ImageId')) });

export const blockPublicAccess: Handler<EnableImageBlockPublicAccessRequest, EnableImageBlockPublicAccessResult> = async (ctx, caller, input) => {
  const state = required(input.ImageBlockPublicAccessState, 'ImageBlockPublicAccessState') as string;
  if (state !== 'block-new-sharing') {
    throw new ApiError('InvalidParameterValue', `Value (${state}) for parameter imageBlockPublicAccessState is invalid. Expected: 'block-new-sharing'.`);
  }
  return { ImageBlockPublicAccessState: await setBlockPublicAccess(ctx, caller, state) as 'block-new-sharing' };
};

export const unblockPublicAccess: Handler<object, DisableImageBlockPublicAccessResult> = async (ctx, caller) =>
  ({ ImageBlockPublicAccessState: await setBlockPublicAccess(ctx, caller, 'unblocked') as 'unblocked' });

export const blockPublicAccessState: Handler<object, GetImageBlockPublicAccessStateResult> = async (ctx, caller) =>
  ({ ImageBlockPublicAccessState: await getBlockPublicAccess(ctx, caller), ManagedBy: 'account' });

export const enableAllowedImages: Handler<EnableAllowedImagesSettingsRequest, EnableAllowedImagesSettingsResult> = async (ctx, caller, input) => {
  const state = required(input.AllowedImagesSettingsState, 'AllowedImagesSettingsState') as string;
  if (state !== 'enabled' && state !== 'audit-mode') {
    throw new ApiError('InvalidParameterValue', `Value (${state}) for parameter allowedImagesSettingsState is invalid. Expected: 'enabled' | 'audit-mode'.`);
  }
  return { AllowedImagesSettingsState: await setAllowedImagesState(ctx, caller, state) as 'enabled' | 'audit-mode' };
};

export const disableAllowedImages: Handler<object, DisableAllowedImagesSettingsResult> = async (ctx, caller) =>
  ({ AllowedImagesSettingsState: await setAllowedImagesState(ctx, caller, 'disabled') as 'disabled' });

function toSdkCriterion(c: ImageCriterion): SdkCriterion {
  return {
    ImageProviders: c.imageProviders, MarketplaceProductCodes: c.marketplaceProductCodes, ImageNames: c.imageNames,
    DeprecationTimeCondition: c.maximumDaysSinceDeprecated === undefined ? undefined : { MaximumDaysSinceDeprecated: c.maximumDaysSinceDeprecated },
    CreationDateCondition: c.maximumDaysSinceCreated === undefined ? undefined : { MaximumDaysSinceCreated: c.maximumDaysSinceCreated },
  };
}

function fromSdkCriterion(c: ImageCriterionRequest): ImageCriterion {
  if (c.ImageWatermarks?.length || c.ScanResultCondition) {
    throw new ApiError('InvalidParameterValue', 'Kiln does not support ImageWatermarks or ScanResultCondition criteria.');
  }
  return {
    imageProviders: c.ImageProviders, marketplaceProductCodes: c.MarketplaceProductCodes, imageNames: c.ImageNames,
    maximumDaysSinceDeprecated: c.DeprecationTimeCondition?.MaximumDaysSinceDeprecated,
    maximumDaysSinceCreated: c.CreationDateCondition?.MaximumDaysSinceCreated,
  };
}

export const allowedImages: Handler<object, GetAllowedImagesSettingsResult> = async (ctx, caller) => {
  const s = await getAllowedImages(ctx, caller);
  return { State: s.state, ImageCriteria: s.imageCriteria.length ? s.imageCriteria.map(toSdkCriterion) : undefined, ManagedBy: 'account' };
};

export const replaceCriteria: Handler<ReplaceImageCriteriaInAllowedImagesSettingsRequest, ReplaceImageCriteriaInAllowedImagesSettingsResult> =
  async (ctx, caller, input) => {
    await replaceImageCriteria(ctx, caller, (input.ImageCriteria ?? []).map(fromSdkCriterion));
    return { ReturnValue: true };
  };

export const HANDLERS: Record<string, Handler> = {
  RegisterImage: register,
  CopyImage: copy,
  GetImageAncestry: ancestry,
  DeregisterImage: deregister,
  EnableImageDeprecation: enableDeprecationH,
  DisableImageDeprecation: disableDeprecationH,
  DisableImage: disable,
  EnableImage: enable,
  EnableImageDeregistrationProtection: protect,
  DisableImageDeregistrationProtection: unprotect,
  EnableImageBlockPublicAccess: blockPublicAccess,
  DisableImageBlockPublicAccess: unblockPublicAccess,
  GetImageBlockPublicAccessState: blockPublicAccessState,
  EnableAllowedImagesSettings: enableAllowedImages,
  DisableAllowedImagesSettings: disableAllowedImages,
  GetAllowedImagesSettings: allowedImages,
  ReplaceImageCriteriaInAllowedImagesSettings: replaceCriteria,
};
