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
import type { Context } from '../../services/core/context.js';
import type { ImageAttributeChange } from '../../services/images/image-attributes.js';
import {
  cancelLaunchPermission, imageForAttribute, modifyImageAttribute as modifyImage, resetLaunchPermission,
} from '../../services/images/image-attributes.js';
import type { PermissionItem } from '../../services/images/permissions.js';
import { permissionItems } from '../../services/images/permissions.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { toSdkImage } from '../views/images.js';

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

/** The one change the request asks for, in the structured or the legacy (OperationType + UserId ...) form. */
function imageChange(input: ModifyImageAttributeRequest): ImageAttributeChange {
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
      return { name: 'launchPermission', add, remove };
    }
    case 'description': return { name: 'description', value: input.Description?.Value ?? input.Value ?? '' };
    case 'imdsSupport': return { name: 'imdsSupport', value: input.ImdsSupport?.Value ?? input.Value ?? '' };
    case 'productCodes': return { name: 'productCodes' };
    default:
      throw new ApiError('InvalidParameterValue', `Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  }
}

export const modifyImageAttribute: Handler<ModifyImageAttributeRequest, object> = async (ctx, caller, input) => {
  await modifyImage(ctx, caller, required(input.ImageId, 'ImageId'), imageChange(input));
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
  const img = await imageForAttribute(ctx, caller, imageId, attribute);
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
