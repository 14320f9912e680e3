/**
 * ModifyImageAttribute, DescribeImageAttribute, ResetImageAttribute and
 * CancelImageLaunchPermission. ModifyImageAttribute takes one attribute per
 * call, in the structured form (LaunchPermission.Add/Remove, Description.Value,
 * ImdsSupport.Value) or the legacy one (Attribute + OperationType + UserId.N /
 * UserGroup.N / OrganizationArn.N / OrganizationalUnitArn.N, or Value).
 */
import type {
  CancelImageLaunchPermissionRequest, CancelImageLaunchPermissionResult, DescribeImageAttributeRequest, ImageAttribute,
  ModifyImageAttributeRequest, ResetImageAttributeRequest,
} from '@aws-sdk/client-ec2';
import type { Context } from '../../services/context.js';
import type { SharingPolicy } from '../../services/image-attributes.js';
import {
  cancelLaunchPermission, modifyLaunchPermission, ownedImage, resetLaunchPermission, setDescription, setImdsSupport,
} from '../../services/image-attributes.js';
import { visibleImages } from '../../services/images.js';
import type { PermissionItem } from '../../services/permissions.js';
import { permissionItems } from '../../services/permissions.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { toSdkImage } from './images.js';

/** Set by features that constrain public sharing (image block public access). */
export const sharingPolicy: SharingPolicy = {};

function legacyItems(input: ModifyImageAttributeRequest): PermissionItem[] {
  return [
    ...(input.UserIds ?? []).map((UserId) => ({ UserId })),
    ...(input.UserGroups ?? []).map((Group) => ({ Group })),
    ...(input.OrganizationArns ?? []).map((OrganizationArn) => ({ OrganizationArn })),
    ...(input.OrganizationalUnitArns ?? []).map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
}

function attributeOf(input: ModifyImageAttributeRequest): string {
  const given = [
    input.LaunchPermission || legacyItems(input).length ? 'launchPermission' : undefined,
    input.Description ? 'description' : undefined,
    input.ImdsSupport ? 'imdsSupport' : undefined,
    input.ProductCodes?.length ? 'productCodes' : undefined,
  ].filter((a): a is string => !!a);
  if (input.Attribute && given.length && !given.every((g) => g === input.Attribute)) {
    throw new ApiError('InvalidParameterCombination', `The parameters for attribute ${input.Attribute} do not match the attribute`);
  }
  if (new Set(given).size > 1) throw new ApiError('InvalidParameterCombination', 'You can modify only one attribute at a time.');
  const attribute = input.Attribute ?? given[0];
  if (!attribute) throw new ApiError('MissingParameter', 'The request must contain the parameter Attribute');
  return attribute;
}

export const modifyImageAttribute: Handler<ModifyImageAttributeRequest, object> = async (ctx, caller, input) => {
  const imageId = required(input.ImageId, 'ImageId');
  const attribute = attributeOf(input);
  switch (attribute) {
    case 'launchPermission': {
      let add: PermissionItem[] = input.LaunchPermission?.Add ?? [];
      let remove: PermissionItem[] = input.LaunchPermission?.Remove ?? [];
      const legacy = legacyItems(input);
      if (legacy.length) {
        if (input.OperationType !== 'add' && input.OperationType !== 'remove') {
          throw new ApiError('MissingParameter', 'The request must contain the parameter OperationType');
        }
        if (input.OperationType === 'add') add = [...add, ...legacy];
        else remove = [...remove, ...legacy];
      }
      await modifyLaunchPermission(ctx, caller, imageId, add, remove, sharingPolicy);
      break;
    }
    case 'description':
      await setDescription(ctx, caller, imageId, input.Description?.Value ?? input.Value ?? '');
      break;
    case 'imdsSupport':
      await setImdsSupport(ctx, caller, imageId, input.ImdsSupport?.Value ?? input.Value ?? '');
      break;
    case 'productCodes':
      await ownedImage(ctx, caller, imageId);
      throw new ApiError('InvalidParameter', 'AWS Marketplace product codes cannot be modified; publish the image as a product instead.');
    default:
      throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  return {};
};

const ATTRIBUTES = new Set(['description', 'kernel', 'ramdisk', 'launchPermission', 'productCodes', 'blockDeviceMapping',
  'sriovNetSupport', 'bootMode', 'tpmSupport', 'uefiData', 'lastLaunchedTime', 'imdsSupport', 'deregistrationProtection']);

export const describeImageAttribute: Handler<DescribeImageAttributeRequest, ImageAttribute> = async (ctx, caller, input) => {
  const imageId = required(input.ImageId, 'ImageId');
  const attribute = required(input.Attribute, 'Attribute');
  if (!ATTRIBUTES.has(attribute)) {
    throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
  // Launch permissions are the owner's business; the rest is readable by whoever can see the image.
  const img = attribute === 'launchPermission' ? await ownedImage(ctx, caller, imageId) : (await visibleImages(ctx, caller, [imageId]))[0]!;
  const out: ImageAttribute = { ImageId: img.id };
  const value = (v: string | undefined) => (v === undefined ? {} : { Value: v });
  switch (attribute) {
    case 'launchPermission': out.LaunchPermissions = permissionItems(img) as ImageAttribute['LaunchPermissions']; break;
    case 'description': out.Description = value(img.description); break;
    case 'productCodes': out.ProductCodes = toSdkImage(img).ProductCodes ?? []; break;
    case 'blockDeviceMapping': out.BlockDeviceMappings = toSdkImage(img).BlockDeviceMappings; break;
    case 'bootMode': out.BootMode = value(img.bootMode); break;
    case 'imdsSupport': out.ImdsSupport = value(img.imdsSupport); break;
    case 'lastLaunchedTime': out.LastLaunchedTime = value(img.lastLaunchedTime); break;
    case 'deregistrationProtection': out.DeregistrationProtection = value(img.deregistrationProtection ?? 'disabled'); break;
    case 'kernel': out.KernelId = {}; break;
    case 'ramdisk': out.RamdiskId = {}; break;
    case 'sriovNetSupport': out.SriovNetSupport = { Value: 'simple' }; break;
    case 'tpmSupport': out.TpmSupport = value(img.tpmSupport); break;
    case 'uefiData': out.UefiData = value(img.uefiData); break;
  }
  return out;
};

export const resetImageAttribute: Handler<ResetImageAttributeRequest, object> = async (ctx, caller, input) => {
  const imageId = required(input.ImageId, 'ImageId');
  if (required(input.Attribute, 'Attribute') !== 'launchPermission') {
    throw new ApiError('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid. Only launchPermission can be reset.`);
  }
  await resetLaunchPermission(ctx, caller, imageId);
  return {};
};

export const cancelImageLaunchPermission: Handler<CancelImageLaunchPermissionRequest, CancelImageLaunchPermissionResult> =
  async (ctx: Context, caller, input) => {
    await cancelLaunchPermission(ctx, caller, required(input.ImageId, 'ImageId'));
    return { Return: true };
  };

export const HANDLERS: Record<string, Handler> = {
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
  ResetImageAttribute: resetImageAttribute,
  CancelImageLaunchPermission: cancelImageLaunchPermission,
};
