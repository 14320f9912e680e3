/**
 * CreateLaunchTemplate, CreateLaunchTemplateVersion, DescribeLaunchTemplates,
 * DescribeLaunchTemplateVersions, ModifyLaunchTemplate, DeleteLaunchTemplate,
 * DeleteLaunchTemplateVersions and GetLaunchTemplateData over
 * services/templates/. (RunInstances with a template is in instances.ts.)
 */
import type {
  CreateLaunchTemplateRequest, CreateLaunchTemplateResult, CreateLaunchTemplateVersionRequest, CreateLaunchTemplateVersionResult,
  DeleteLaunchTemplateRequest, DeleteLaunchTemplateResult, DeleteLaunchTemplateVersionsRequest, DeleteLaunchTemplateVersionsResult,
  DescribeLaunchTemplatesRequest, DescribeLaunchTemplatesResult, DescribeLaunchTemplateVersionsRequest, DescribeLaunchTemplateVersionsResult,
  GetLaunchTemplateDataRequest, GetLaunchTemplateDataResult, ModifyLaunchTemplateRequest, ModifyLaunchTemplateResult, ValidationWarning,
} from '@aws-sdk/client-ec2';
import { launchDataOf } from '../../services/templates/template-launch.js';
import {
  createLaunchTemplate, createLaunchTemplateVersion, deleteLaunchTemplate, deleteLaunchTemplateVersions, describeLaunchTemplates,
  describeLaunchTemplateVersions, modifyLaunchTemplate,
} from '../../services/templates/templates.js';
import { ApiError, toApiError } from '../errors.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { required } from '../handler.js';
import { paginate } from '../paging.js';
import { tagsFromSpecs } from '../tags.js';
import {
  launchDataFromSdk, launchDataToSdk, TEMPLATE_FILTERS, TEMPLATE_TAG_TYPES, toSdkTemplate, toSdkVersion, VERSION_FILTERS,
} from '../views/launch-templates.js';

const PAGE = { min: 1, max: 200 };

/** CreateLaunchTemplate's Warning: what a launch from the data would fail with, by AWS error code. */
function warning(errors: Error[]): ValidationWarning | undefined {
  if (!errors.length) return undefined;
  return { Errors: errors.map((e) => toApiError(e)).map((e) => ({ Code: e.code, Message: e.message })) };
}

const refOf = (input: { LaunchTemplateId?: string; LaunchTemplateName?: string }) => ({ id: input.LaunchTemplateId, name: input.LaunchTemplateName });

export const create: Handler<CreateLaunchTemplateRequest, CreateLaunchTemplateResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['launch-template'])['launch-template'];
  const { template, warnings } = await createLaunchTemplate(ctx, caller, {
    name: input.LaunchTemplateName, data: launchDataFromSdk(required(input.LaunchTemplateData, 'LaunchTemplateData'), TEMPLATE_TAG_TYPES),
    versionDescription: input.VersionDescription, clientToken: input.ClientToken, tags,
  });
  return { LaunchTemplate: toSdkTemplate(template), Warning: warning(warnings) };
};

export const createVersion: Handler<CreateLaunchTemplateVersionRequest, CreateLaunchTemplateVersionResult> = async (ctx, caller, input) => {
  const { template, version, warnings } = await createLaunchTemplateVersion(ctx, caller, {
    ref: refOf(input), sourceVersion: input.SourceVersion, versionDescription: input.VersionDescription, clientToken: input.ClientToken,
    data: launchDataFromSdk(required(input.LaunchTemplateData, 'LaunchTemplateData'), TEMPLATE_TAG_TYPES),
  });
  return { LaunchTemplateVersion: toSdkVersion(template, version), Warning: warning(warnings) };
};

export const describe: Handler<DescribeLaunchTemplatesRequest, DescribeLaunchTemplatesResult> = async (ctx, caller, input) => {
  if ((input.LaunchTemplateIds?.length || input.LaunchTemplateNames?.length) && input.MaxResults !== undefined) {
    throw new ApiError('InvalidParameterCombination', 'The parameter MaxResults cannot be used with LaunchTemplateIds or LaunchTemplateNames');
  }
  const found = await describeLaunchTemplates(ctx, caller, input.LaunchTemplateIds, input.LaunchTemplateNames);
  const page = paginate(applyFilters(found, input.Filters, TEMPLATE_FILTERS, (t) => t.tags), 'launch-templates', input.MaxResults, input.NextToken, PAGE);
  return { LaunchTemplates: page.items.map(toSdkTemplate), NextToken: page.nextToken };
};

export const describeVersions: Handler<DescribeLaunchTemplateVersionsRequest, DescribeLaunchTemplateVersionsResult> = async (ctx, caller, input) => {
  const found = await describeLaunchTemplateVersions(ctx, caller, {
    ref: refOf(input), versions: input.Versions, minVersion: input.MinVersion, maxVersion: input.MaxVersion,
  });
  const page = paginate(applyFilters(found, input.Filters, VERSION_FILTERS), 'launch-template-versions', input.MaxResults, input.NextToken, PAGE);
  return { LaunchTemplateVersions: page.items.map(({ template, version }) => toSdkVersion(template, version)), NextToken: page.nextToken };
};

export const modify: Handler<ModifyLaunchTemplateRequest, ModifyLaunchTemplateResult> = async (ctx, caller, input) =>
  ({ LaunchTemplate: toSdkTemplate(await modifyLaunchTemplate(ctx, caller, refOf(input), input.DefaultVersion)) });

export const remove: Handler<DeleteLaunchTemplateRequest, DeleteLaunchTemplateResult> = async (ctx, caller, input) =>
  ({ LaunchTemplate: toSdkTemplate(await deleteLaunchTemplate(ctx, caller, refOf(input))) });

export const removeVersions: Handler<DeleteLaunchTemplateVersionsRequest, DeleteLaunchTemplateVersionsResult> = async (ctx, caller, input) => {
  const { template, ref, deleted, failed } = await deleteLaunchTemplateVersions(ctx, caller, refOf(input), input.Versions ?? []);
  const names = { LaunchTemplateId: template?.id ?? ref.id, LaunchTemplateName: template?.name ?? ref.name };
  return {
    SuccessfullyDeletedLaunchTemplateVersions: deleted.map((n) => ({ ...names, VersionNumber: n })),
    UnsuccessfullyDeletedLaunchTemplateVersions: failed.map((f) => ({
      ...names, VersionNumber: f.versionNumber, ResponseError: { Code: f.code as 'unexpectedError', Message: f.message },
    })),
  };
};

export const getData: Handler<GetLaunchTemplateDataRequest, GetLaunchTemplateDataResult> = async (ctx, caller, input) =>
  ({ LaunchTemplateData: launchDataToSdk(await launchDataOf(ctx, caller, input.InstanceId), true) });

export const HANDLERS: Record<string, Handler> = {
  CreateLaunchTemplate: create,
  CreateLaunchTemplateVersion: createVersion,
  DescribeLaunchTemplates: describe,
  DescribeLaunchTemplateVersions: describeVersions,
  ModifyLaunchTemplate: modify,
  DeleteLaunchTemplate: remove,
  DeleteLaunchTemplateVersions: removeVersions,
  GetLaunchTemplateData: getData,
};
