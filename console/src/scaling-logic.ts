/**
 * The Launch Templates and Auto Scaling Groups pages' form logic, free of React so that Node's test runner checks it
 * (test/console-scaling-logic.test.ts): what each form turns into for the EC2 and Auto Scaling APIs.
 */
import type {
  AutoScalingGroup, AutoScalingInstanceDetails, CreateAutoScalingGroupCommandInput, StartInstanceRefreshCommandInput,
} from '@aws-sdk/client-auto-scaling';
import type { LaunchTemplate, LaunchTemplateVersion, RequestLaunchTemplateData, ResponseLaunchTemplateData } from '@aws-sdk/client-ec2';
import { decodeOutput, encodeUserData } from './logic.js';

/** What the launch template form edits; the rest of a version's data is carried over as it is. */
export interface TemplateForm { imageId: string; instanceType: string; keyName: string; securityGroupIds: string[]; userData: string }

/** The form as a version's (or GetLaunchTemplateData's) data fills it. */
export function templateForm(d: ResponseLaunchTemplateData | undefined): TemplateForm {
  const groups = d?.SecurityGroupIds?.length ? d.SecurityGroupIds : d?.NetworkInterfaces?.[0]?.Groups ?? [];
  return {
    imageId: d?.ImageId ?? '', instanceType: d?.InstanceType ?? 't3.micro', keyName: d?.KeyName ?? '',
    securityGroupIds: [...groups], userData: decodeOutput(d?.UserData),
  };
}

/**
 * The LaunchTemplateData to send: `base` (the source version's data, or the instance's) with the form's fields over it.
 * A field left blank is left out, so a new version can drop what its source had (CreateLaunchTemplateVersion's
 * SourceVersion would keep it). Where the base names its network interfaces, the groups go on the first one: EC2
 * refuses instance-level groups beside interfaces.
 */
export function templateData(form: TemplateForm, base: ResponseLaunchTemplateData = {}): RequestLaunchTemplateData {
  const out = { ...base } as RequestLaunchTemplateData & Record<string, unknown>;
  const set = (key: 'ImageId' | 'InstanceType' | 'KeyName' | 'UserData', value: string | undefined) => {
    if (value) out[key] = value as never;
    else delete out[key];
  };
  set('ImageId', form.imageId.trim());
  set('InstanceType', form.instanceType);
  set('KeyName', form.keyName);
  set('UserData', encodeUserData(form.userData));
  delete out.SecurityGroups;
  const groups = form.securityGroupIds.filter(Boolean);
  if (out.NetworkInterfaces?.length) {
    const [first, ...rest] = out.NetworkInterfaces;
    out.NetworkInterfaces = [{ ...first, Groups: groups.length ? groups : undefined }, ...rest];
    delete out.SecurityGroupIds;
  } else if (groups.length) out.SecurityGroupIds = groups;
  else delete out.SecurityGroupIds;
  return out;
}

/** The versions a launch or a group can name: Default and Latest, then each number. */
export function versionChoices(t: LaunchTemplate | undefined, versions: LaunchTemplateVersion[]): Array<{ value: string; label: string }> {
  const numbers = versions.map((v) => v.VersionNumber!).filter((n) => n !== undefined).sort((a, b) => b - a);
  return [
    { value: '$Default', label: `Default (${t?.DefaultVersionNumber ?? '?'})` },
    { value: '$Latest', label: `Latest (${t?.LatestVersionNumber ?? '?'})` },
    ...numbers.map((n) => {
      const about = versions.find((v) => v.VersionNumber === n)?.VersionDescription;
      return { value: String(n), label: about ? `${n} (${about})` : String(n) };
    }),
  ];
}

/** A whole number from a form field, or NaN. */
const whole = (s: string) => (/^\s*\d+\s*$/.test(s) ? Number.parseInt(s, 10) : Number.NaN);

export interface Capacity { desired: string; min: string; max: string }

/** What is wrong with a group size, by field (empty when nothing is). */
export function capacityErrors(c: Capacity): Partial<Record<keyof Capacity, string>> {
  const [desired, min, max] = [whole(c.desired), whole(c.min), whole(c.max)];
  const out: Partial<Record<keyof Capacity, string>> = {};
  if (Number.isNaN(min)) out.min = 'Enter a whole number.';
  if (Number.isNaN(max)) out.max = 'Enter a whole number.';
  else if (!Number.isNaN(min) && max < min) out.max = 'Maximum capacity must be at least the minimum.';
  if (Number.isNaN(desired)) out.desired = 'Enter a whole number.';
  else if (!Number.isNaN(min) && desired < min) out.desired = 'Desired capacity must be at least the minimum.';
  else if (!Number.isNaN(max) && desired > max) out.desired = 'Desired capacity must be at most the maximum.';
  return out;
}

/** UpdateAutoScalingGroup's sizes (Edit): only the ones that changed. */
export function capacityChanges(g: Pick<Partial<AutoScalingGroup>, 'DesiredCapacity' | 'MinSize' | 'MaxSize'>, c: Capacity): { DesiredCapacity?: number; MinSize?: number; MaxSize?: number } {
  const out: { DesiredCapacity?: number; MinSize?: number; MaxSize?: number } = {};
  if (whole(c.desired) !== g.DesiredCapacity) out.DesiredCapacity = whole(c.desired);
  if (whole(c.min) !== g.MinSize) out.MinSize = whole(c.min);
  if (whole(c.max) !== g.MaxSize) out.MaxSize = whole(c.max);
  return out;
}

export interface GroupForm extends Capacity { name: string; templateId: string; version: string; subnetIds: string[] }

/** Create Auto Scaling group: the request, or what is wrong with the form. */
export function groupInput(f: GroupForm): { input?: CreateAutoScalingGroupCommandInput; errors: Record<string, string> } {
  const errors: Record<string, string> = { ...capacityErrors(f) };
  const name = f.name.trim();
  if (!name) errors.name = 'Enter a name.';
  else if (name.length > 255) errors.name = 'The name can have up to 255 characters.';
  if (!f.templateId) errors.templateId = 'Choose a launch template.';
  if (!f.subnetIds.length) errors.subnetIds = 'Choose at least one subnet.';
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    input: {
      AutoScalingGroupName: name, LaunchTemplate: { LaunchTemplateId: f.templateId, Version: f.version || '$Default' },
      DesiredCapacity: whole(f.desired), MinSize: whole(f.min), MaxSize: whole(f.max), VPCZoneIdentifier: f.subnetIds.join(','),
    },
  };
}

/** The group's members as DescribeAutoScalingInstances tells them (it answers for every group of the account). */
export const membersOf = <T extends Pick<Partial<AutoScalingInstanceDetails>, 'AutoScalingGroupName'>>(all: T[], group: string) => all.filter((i) => i.AutoScalingGroupName === group);

/** The table's "Launch template/configuration" cell. */
export function templateCell(g: Pick<Partial<AutoScalingGroup>, 'LaunchTemplate' | 'MixedInstancesPolicy'>): string {
  const lt = g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification;
  if (!lt) return '-';
  return `${lt.LaunchTemplateName ?? lt.LaunchTemplateId} | Version ${(lt.Version ?? '$Default').replace(/^\$/, '')}`;
}

/** The table polls while the group is on its way somewhere: capacity not met, an instance not yet InService, a delete. */
export const groupBusy = (g: { Status?: string; DesiredCapacity?: number; Instances?: Array<{ LifecycleState?: string }> }) => !!g.Status
  || (g.Instances ?? []).length !== g.DesiredCapacity || (g.Instances ?? []).some((i) => i.LifecycleState !== 'InService');

/** Start instance refresh: the request, or the error for the minimum healthy percentage. */
export function refreshInput(group: string, minHealthy: string, warmup: string): { input?: StartInstanceRefreshCommandInput; error?: string } {
  const pct = whole(minHealthy);
  if (Number.isNaN(pct) || pct > 100) return { error: 'Enter a whole percentage from 0 to 100.' };
  const w = warmup.trim() === '' ? undefined : whole(warmup);
  if (w !== undefined && Number.isNaN(w)) return { error: 'The warmup is a whole number of seconds.' };
  return { input: { AutoScalingGroupName: group, Preferences: { MinHealthyPercentage: pct, ...(w !== undefined ? { InstanceWarmup: w } : {}) } } };
}

/** A launch template name as EC2 takes it (3 to 128 of letters, digits and ( ) . - / _), or what is wrong with it. */
export function templateNameError(name: string): string | undefined {
  if (name.length < 3 || name.length > 128) return 'The name must be 3 to 128 characters long.';
  if (!/^[a-zA-Z0-9().\-/_]+$/.test(name)) return 'Use only letters, digits and ( ) . - / _';
  return undefined;
}
