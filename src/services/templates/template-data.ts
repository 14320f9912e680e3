/**
 * A launch template's data: the checks a version's data must pass to be
 * stored (shapes and enumerations, as CreateLaunchTemplate refuses them), the
 * warnings it earns for what would fail at launch (an image, key pair or
 * instance type that is not there: AWS stores the version and warns), and
 * the merge of a template's data with a RunInstances request's, the request
 * winning field by field.
 */
import type { Tag } from '../../model/records.js';
import type {
  LaunchTemplateData, TemplateBlockDeviceMapping, TemplateNetworkInterface, TemplateTagSpecification,
} from '../../model/template-records.js';
import type { Caller, Context } from '../core/context.js';
import { Invalid } from '../core/errors.js';
import type { MappingRequest } from '../images/block-mappings.js';
import { validateMappings } from '../images/block-mappings.js';
import { launchableImage } from '../images/images.js';
import { launchKeyPair } from '../keys/key-pairs.js';
import { defaultMetadataOptions, metadataOptions, oneOf } from '../instances/instance-attributes.js';
import { checkInstanceType, knownInstanceType, MAX_USER_DATA_BYTES, userDataTooLong } from '../instances/instance-types.js';
import { mergeTags } from '../tags/tags.js';

/** A template's (or a launch's) block device mappings as the block-mapping rules take them. */
export function mappingRequests(mappings: TemplateBlockDeviceMapping[] | undefined): MappingRequest[] | undefined {
  return mappings?.map((m) => ({ deviceName: m.deviceName, virtualName: m.virtualName, noDevice: m.noDevice !== undefined || undefined, ebs: m.ebs }));
}

/** Refuses data no launch could use as given: the checks RunInstances makes of each field's shape. */
export function checkTemplateData(d: LaunchTemplateData): void {
  if (d.userData !== undefined && userDataTooLong(d.userData)) throw new Invalid('InvalidParameterValue', `User data is limited to ${MAX_USER_DATA_BYTES} bytes`);
  if (d.metadataOptions) metadataOptions(defaultMetadataOptions(), d.metadataOptions);
  if (d.instanceInitiatedShutdownBehavior !== undefined) oneOf(d.instanceInitiatedShutdownBehavior, ['stop', 'terminate'], 'InstanceInitiatedShutdownBehavior');
  if (d.autoRecovery !== undefined) oneOf(d.autoRecovery, ['default', 'disabled'], 'MaintenanceOptions.AutoRecovery');
  if (d.cpuCredits !== undefined) oneOf(d.cpuCredits.toLowerCase(), ['standard', 'unlimited'], 'CpuCredits');
  if (d.blockDeviceMappings) validateMappings(mappingRequests(d.blockDeviceMappings)!);
  for (const n of d.networkInterfaces ?? []) {
    if (n.deviceIndex !== undefined && (!Number.isInteger(n.deviceIndex) || n.deviceIndex < 0)) {
      throw new Invalid('InvalidParameterValue', `Invalid value '${n.deviceIndex}' for DeviceIndex.`);
    }
  }
}

/** What a launch from this data would fail with today, as AWS reports in CreateLaunchTemplate's Warning. */
export async function dataWarnings(ctx: Context, caller: Caller, d: LaunchTemplateData): Promise<Error[]> {
  const out: Error[] = [];
  const check = async (fn: () => unknown) => { try { await fn(); } catch (err) { out.push(err as Error); } };
  const image = d.imageId ? await launchableImage(ctx, caller, d.imageId).catch((err: Error) => { out.push(err); return undefined; }) : undefined;
  if (d.instanceType) await check(() => (image ? checkInstanceType(d.instanceType!, image) : knownInstanceType(d.instanceType!)));
  if (d.keyName) await check(() => launchKeyPair(ctx, caller, d.keyName!));
  return out;
}

/** Tags by resource type, the second's winning key by key. */
function mergeTagSpecs(a: TemplateTagSpecification[] = [], b: TemplateTagSpecification[] = []): TemplateTagSpecification[] {
  const byType = new Map<string, Tag[]>();
  for (const s of [...a, ...b]) byType.set(s.resourceType, mergeTags(byType.get(s.resourceType) ?? [], s.tags));
  return [...byType].map(([resourceType, tags]) => ({ resourceType, tags }));
}

/** Items matched by a key, the second's fields winning over the first's; the first's order, then the second's new items. */
function mergeBy<T extends object>(a: T[] = [], b: T[] = [], key: (x: T) => unknown, combine = (x: T, y: T): T => ({ ...x, ...defined(y) })): T[] {
  const out = a.map((x) => ({ ...x }));
  for (const item of b) {
    const i = out.findIndex((x) => key(x) === key(item));
    if (i >= 0) out[i] = combine(out[i]!, item);
    else out.push(item);
  }
  return out;
}

/** `o` without its undefined members. */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * A template's data with a RunInstances request's over it, as EC2 merges
 * them: every field the request sets wins; metadata options merge option by
 * option, tags resource type by resource type and key by key, block device
 * mappings device by device (and EBS field by field), network interfaces by
 * device index.
 */
export function mergeLaunchData(template: LaunchTemplateData, request: LaunchTemplateData): LaunchTemplateData {
  const out: LaunchTemplateData = { ...template, ...defined(request) };
  if (template.metadataOptions && request.metadataOptions) out.metadataOptions = { ...template.metadataOptions, ...defined(request.metadataOptions) };
  if (template.tagSpecifications || request.tagSpecifications) out.tagSpecifications = mergeTagSpecs(template.tagSpecifications, request.tagSpecifications);
  if (template.blockDeviceMappings && request.blockDeviceMappings) {
    out.blockDeviceMappings = mergeBy<TemplateBlockDeviceMapping>(template.blockDeviceMappings, request.blockDeviceMappings, (m) => m.deviceName,
      (x, y) => ({ ...x, ...defined(y), ...(x.ebs && y.ebs ? { ebs: { ...x.ebs, ...defined(y.ebs) } } : {}) }));
  }
  if (template.networkInterfaces && request.networkInterfaces) {
    out.networkInterfaces = mergeBy<TemplateNetworkInterface>(template.networkInterfaces, request.networkInterfaces, (n) => n.deviceIndex ?? 0);
  }
  return out;
}

export const tagsFor = (d: LaunchTemplateData, resourceType: string): Tag[] | undefined =>
  d.tagSpecifications?.find((s) => s.resourceType === resourceType)?.tags;
