/**
 * Auto Scaling records in the SDK's shapes (@aws-sdk/client-auto-scaling):
 * groups, their instances, activities, instance refreshes, lifecycle hooks
 * and scheduled actions.
 */
import type {
  Activity, AutoScalingGroup, AutoScalingInstanceDetails, Instance, InstanceRefresh, LaunchTemplateSpecification, LifecycleHook,
  ScheduledUpdateGroupAction, TagDescription,
} from '@aws-sdk/client-auto-scaling';
import type {
  AutoScalingGroupRecord, GroupMember, GroupTag, InstanceRefreshRecord, LifecycleHookRecord, ScalingActivityRecord, ScheduledActionRecord,
} from '../../model/scaling-records.js';
import { ApiError } from '../errors.js';
import { paginate } from '../paging.js';

/** MaxRecords/NextToken as Auto Scaling words their errors. */
export function page<T>(items: T[], kind: string, max: number | undefined, token: string | undefined, limit = 100) {
  try {
    return paginate(items, kind, max, token, { min: 1, max: limit });
  } catch (err) {
    if (err instanceof ApiError && err.code === 'InvalidPaginationToken') throw new ApiError('InvalidNextToken', 'The token is not valid.');
    if (err instanceof ApiError) throw new ApiError('ValidationError', `MaxRecords must be between 1 and ${limit}`);
    throw err;
  }
}


const spec = (g: AutoScalingGroupRecord, version = g.launchTemplate.version): LaunchTemplateSpecification => ({
  LaunchTemplateId: g.launchTemplate.id, LaunchTemplateName: g.launchTemplate.name, Version: version,
});

export function toSdkMember(g: AutoScalingGroupRecord, m: GroupMember): Instance {
  return {
    InstanceId: m.instanceId, InstanceType: m.instanceType, AvailabilityZone: m.availabilityZone, LifecycleState: m.lifecycleState,
    HealthStatus: m.health, LaunchTemplate: spec(g, m.templateVersion), ProtectedFromScaleIn: m.protectedFromScaleIn,
  };
}

/** DescribeAutoScalingInstances writes health in capitals, as AWS does there (and only there). */
export function toSdkInstanceDetails(g: AutoScalingGroupRecord, m: GroupMember): AutoScalingInstanceDetails {
  return { ...toSdkMember(g, m), AutoScalingGroupName: g.name, HealthStatus: m.health.toUpperCase() } as AutoScalingInstanceDetails;
}

export function toSdkTag(g: AutoScalingGroupRecord, t: GroupTag): TagDescription {
  return { ResourceId: g.name, ResourceType: 'auto-scaling-group', Key: t.key, Value: t.value, PropagateAtLaunch: t.propagateAtLaunch };
}

export function toSdkGroup(g: AutoScalingGroupRecord): AutoScalingGroup {
  return {
    AutoScalingGroupName: g.name, AutoScalingGroupARN: g.arn,
    LaunchTemplate: g.mixed ? undefined : spec(g),
    MixedInstancesPolicy: g.mixed ? {
      LaunchTemplate: { LaunchTemplateSpecification: spec(g), Overrides: g.mixed.overrides?.map((o) => ({ InstanceType: o.instanceType })) },
      InstancesDistribution: {
        OnDemandAllocationStrategy: 'prioritized', OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 100,
        SpotAllocationStrategy: 'lowest-price', SpotInstancePools: 2,
      },
    } : undefined,
    MinSize: g.minSize, MaxSize: g.maxSize, DesiredCapacity: g.desiredCapacity, DefaultCooldown: g.defaultCooldown,
    AvailabilityZones: g.availabilityZones, LoadBalancerNames: [], TargetGroupARNs: [], HealthCheckType: g.healthCheckType,
    HealthCheckGracePeriod: g.healthCheckGracePeriod, Instances: g.members.map((m) => toSdkMember(g, m)), CreatedTime: new Date(g.createdTime),
    SuspendedProcesses: g.suspended.map((s) => ({ ProcessName: s.process, SuspensionReason: s.reason })),
    VPCZoneIdentifier: g.subnetIds.join(','), EnabledMetrics: [], Status: g.deleting ? 'Delete in progress' : undefined,
    Tags: g.tags.map((t) => toSdkTag(g, t)), TerminationPolicies: g.terminationPolicies,
    NewInstancesProtectedFromScaleIn: g.newInstancesProtectedFromScaleIn,
    ServiceLinkedRoleARN: `arn:aws:iam::${g.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
    CapacityRebalance: g.capacityRebalance, DefaultInstanceWarmup: g.defaultInstanceWarmup, MaxInstanceLifetime: g.maxInstanceLifetime,
    TrafficSources: [],
  };
}

export function toSdkActivity(a: ScalingActivityRecord): Activity {
  return {
    ActivityId: a.id, AutoScalingGroupName: a.groupName, AutoScalingGroupARN: a.groupArn, Description: a.description, Cause: a.cause,
    StartTime: new Date(a.startTime), EndTime: a.endTime ? new Date(a.endTime) : undefined,
    StatusCode: a.statusCode, StatusMessage: a.statusMessage, Progress: a.progress, Details: a.details,
  };
}

export function toSdkRefresh(r: InstanceRefreshRecord, progress: { left: number; percentage: number }): InstanceRefresh {
  return {
    InstanceRefreshId: r.id, AutoScalingGroupName: r.groupName, Status: r.status, StatusReason: r.statusReason,
    StartTime: new Date(r.startTime), EndTime: r.endTime ? new Date(r.endTime) : undefined,
    PercentageComplete: progress.percentage, InstancesToUpdate: progress.left,
    Preferences: {
      MinHealthyPercentage: r.minHealthyPercentage, MaxHealthyPercentage: r.maxHealthyPercentage, InstanceWarmup: r.instanceWarmup,
      SkipMatching: r.skipMatching, AutoRollback: false, ScaleInProtectedInstances: 'Ignore', StandbyInstances: 'Ignore',
    },
    ProgressDetails: { LivePoolProgress: { PercentageComplete: progress.percentage, InstancesToUpdate: progress.left } },
  };
}

export function toSdkHook(g: AutoScalingGroupRecord, h: LifecycleHookRecord): LifecycleHook {
  return {
    LifecycleHookName: h.name, AutoScalingGroupName: g.name, LifecycleTransition: h.transition, NotificationTargetARN: h.notificationTargetArn,
    RoleARN: h.roleArn, NotificationMetadata: h.metadata, HeartbeatTimeout: h.heartbeatTimeout,
    GlobalTimeout: Math.min(h.heartbeatTimeout * 100, 172800), DefaultResult: h.defaultResult,
  };
}

export function toSdkScheduled(a: ScheduledActionRecord): ScheduledUpdateGroupAction {
  const start = a.nextRun ?? a.startTime;
  return {
    AutoScalingGroupName: a.groupName, ScheduledActionName: a.name, ScheduledActionARN: a.arn,
    Time: start ? new Date(start) : undefined, StartTime: start ? new Date(start) : undefined, EndTime: a.endTime ? new Date(a.endTime) : undefined,
    Recurrence: a.recurrence, MinSize: a.minSize, MaxSize: a.maxSize, DesiredCapacity: a.desiredCapacity, TimeZone: a.timeZone,
  };
}
