/**
 * The autoscaling service's group actions (AWS Query, API 2011-01-01) over
 * services/scaling/: CreateAutoScalingGroup, UpdateAutoScalingGroup,
 * SetDesiredCapacity, DescribeAutoScalingGroups, DescribeAutoScalingInstances,
 * TerminateInstanceInAutoScalingGroup, SetInstanceHealth,
 * DeleteAutoScalingGroup, Suspend/ResumeProcesses, DescribeScalingActivities,
 * and the constant answers (account limits, process and hook types).
 */
import type {
  ActivitiesType, ActivityType, AutoScalingGroupNamesType, AutoScalingGroupsType, AutoScalingInstancesType, CreateAutoScalingGroupType,
  DeleteAutoScalingGroupType, DescribeAccountLimitsAnswer, DescribeAutoScalingInstancesType, DescribeLifecycleHookTypesAnswer,
  DescribeScalingActivitiesType, LaunchTemplateSpecification, MixedInstancesPolicy, ProcessesType, ScalingProcessQuery,
  SetDesiredCapacityType, SetInstanceHealthQuery, TerminateInstanceInAutoScalingGroupType, UpdateAutoScalingGroupType,
} from '@aws-sdk/client-auto-scaling';
import { groupActivities } from '../../services/scaling/activities.js';
import type { GroupSettings, TemplateSpec } from '../../services/scaling/groups.js';
import {
  createGroup, deleteGroup, describeGroupInstances, describeGroups, MAX_GROUPS, PROCESSES, setDesiredCapacity, setInstanceHealth, setProcesses,
  terminateInGroup, updateGroup,
} from '../../services/scaling/groups.js';
import { TRANSITIONS } from '../../services/scaling/hooks.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { page, toSdkActivity, toSdkGroup, toSdkInstanceDetails } from '../views/scaling.js';

const templateOf = (t: LaunchTemplateSpecification | undefined): TemplateSpec | undefined =>
  t && { id: t.LaunchTemplateId, name: t.LaunchTemplateName, version: t.Version };

const mixedOf = (p: MixedInstancesPolicy | undefined): GroupSettings['mixed'] => p && {
  template: templateOf(p.LaunchTemplate?.LaunchTemplateSpecification) ?? {},
  overrides: p.LaunchTemplate?.Overrides?.map((o) => ({ instanceType: o.InstanceType })),
};

function settingsOf(input: UpdateAutoScalingGroupType): GroupSettings {
  return {
    launchTemplate: templateOf(input.LaunchTemplate), mixed: mixedOf(input.MixedInstancesPolicy),
    minSize: input.MinSize, maxSize: input.MaxSize, desiredCapacity: input.DesiredCapacity, defaultCooldown: input.DefaultCooldown,
    availabilityZones: input.AvailabilityZones, vpcZoneIdentifier: input.VPCZoneIdentifier, healthCheckType: input.HealthCheckType,
    healthCheckGracePeriod: input.HealthCheckGracePeriod, defaultInstanceWarmup: input.DefaultInstanceWarmup,
    terminationPolicies: input.TerminationPolicies, newInstancesProtectedFromScaleIn: input.NewInstancesProtectedFromScaleIn,
    capacityRebalance: input.CapacityRebalance, maxInstanceLifetime: input.MaxInstanceLifetime,
  };
}

export const create: Handler<CreateAutoScalingGroupType, object> = async (ctx, caller, input) => {
  if (input.LaunchConfigurationName || input.InstanceId) {
    throw new ApiError('ValidationError', 'Kiln launches groups from launch templates: give LaunchTemplate or MixedInstancesPolicy.');
  }
  await createGroup(ctx, caller, {
    ...settingsOf(input), name: input.AutoScalingGroupName,
    tags: input.Tags?.map((t) => ({ key: t.Key ?? '', value: t.Value ?? '', propagateAtLaunch: t.PropagateAtLaunch ?? false })),
    hooks: input.LifecycleHookSpecificationList?.map((h) => ({
      name: h.LifecycleHookName, transition: h.LifecycleTransition, heartbeatTimeout: h.HeartbeatTimeout, defaultResult: h.DefaultResult,
      metadata: h.NotificationMetadata, notificationTargetArn: h.NotificationTargetARN, roleArn: h.RoleARN,
    })),
  });
  return {};
};

export const update: Handler<UpdateAutoScalingGroupType, object> = async (ctx, caller, input) => {
  await updateGroup(ctx, caller, input.AutoScalingGroupName, settingsOf(input));
  return {};
};

export const setDesired: Handler<SetDesiredCapacityType, object> = async (ctx, caller, input) => {
  await setDesiredCapacity(ctx, caller, input.AutoScalingGroupName, input.DesiredCapacity, input.HonorCooldown);
  return {};
};

export const describe: Handler<AutoScalingGroupNamesType, AutoScalingGroupsType> = async (ctx, caller, input) => {
  let groups = await describeGroups(ctx, caller, input.AutoScalingGroupNames);
  for (const f of input.Filters ?? []) {
    const values = f.Values ?? [];
    const tagKey = f.Name?.startsWith('tag:') ? f.Name.slice(4) : undefined;
    groups = groups.filter((g) => g.tags.some((t) => tagKey !== undefined ? t.key === tagKey && values.includes(t.value)
      : f.Name === 'tag-key' ? values.includes(t.key) : f.Name === 'tag-value' ? values.includes(t.value) : false));
  }
  const p = page(groups, 'asg', input.MaxRecords, input.NextToken);
  return { AutoScalingGroups: p.items.map(toSdkGroup), NextToken: p.nextToken };
};

export const describeInstances: Handler<DescribeAutoScalingInstancesType, AutoScalingInstancesType> = async (ctx, caller, input) => {
  const found = await describeGroupInstances(ctx, caller, input.InstanceIds);
  const p = page(found, 'asg-instances', input.MaxRecords, input.NextToken, 50);
  return { AutoScalingInstances: p.items.map(({ group, member }) => toSdkInstanceDetails(group, member)), NextToken: p.nextToken };
};

export const terminate: Handler<TerminateInstanceInAutoScalingGroupType, ActivityType> = async (ctx, caller, input) => {
  const act = await terminateInGroup(ctx, caller, input.InstanceId, input.ShouldDecrementDesiredCapacity);
  return { Activity: toSdkActivity(act) };
};

export const setHealth: Handler<SetInstanceHealthQuery, object> = async (ctx, caller, input) => {
  await setInstanceHealth(ctx, caller, input.InstanceId, input.HealthStatus);
  return {};
};

export const remove: Handler<DeleteAutoScalingGroupType, object> = async (ctx, caller, input) => {
  await deleteGroup(ctx, caller, input.AutoScalingGroupName, input.ForceDelete);
  return {};
};

export const suspend: Handler<ScalingProcessQuery, object> = async (ctx, caller, input) => {
  await setProcesses(ctx, caller, input.AutoScalingGroupName, input.ScalingProcesses, true);
  return {};
};

export const resume: Handler<ScalingProcessQuery, object> = async (ctx, caller, input) => {
  await setProcesses(ctx, caller, input.AutoScalingGroupName, input.ScalingProcesses, false);
  return {};
};

export const activities: Handler<DescribeScalingActivitiesType, ActivitiesType> = async (ctx, caller, input) => {
  const found = await groupActivities(ctx, caller, input.AutoScalingGroupName, input.ActivityIds);
  const p = page(found, 'asg-activities', input.MaxRecords, input.NextToken);
  return { Activities: p.items.map(toSdkActivity), NextToken: p.nextToken };
};

export const accountLimits: Handler<object, DescribeAccountLimitsAnswer> = async (ctx, caller) => {
  const groups = await describeGroups(ctx, caller);
  return { MaxNumberOfAutoScalingGroups: MAX_GROUPS, MaxNumberOfLaunchConfigurations: 200, NumberOfAutoScalingGroups: groups.length, NumberOfLaunchConfigurations: 0 };
};

export const hookTypes: Handler<object, DescribeLifecycleHookTypesAnswer> = async () => ({ LifecycleHookTypes: TRANSITIONS });

export const processTypes: Handler<object, ProcessesType> = async () => ({ Processes: PROCESSES.map((ProcessName) => ({ ProcessName })) });

export const HANDLERS: Record<string, Handler> = {
  CreateAutoScalingGroup: create, UpdateAutoScalingGroup: update, SetDesiredCapacity: setDesired, DescribeAutoScalingGroups: describe,
  DescribeAutoScalingInstances: describeInstances, TerminateInstanceInAutoScalingGroup: terminate, SetInstanceHealth: setHealth,
  DeleteAutoScalingGroup: remove, SuspendProcesses: suspend, ResumeProcesses: resume, DescribeScalingActivities: activities,
  DescribeAccountLimits: accountLimits, DescribeLifecycleHookTypes: hookTypes, DescribeScalingProcessTypes: processTypes,
};
