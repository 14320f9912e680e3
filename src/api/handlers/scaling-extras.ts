/**
 * The autoscaling service's lifecycle hooks, scheduled actions and instance
 * refreshes over services/scaling/: PutLifecycleHook, DescribeLifecycleHooks,
 * DeleteLifecycleHook, CompleteLifecycleAction, RecordLifecycleActionHeartbeat,
 * PutScheduledUpdateGroupAction, DescribeScheduledActions,
 * DeleteScheduledAction, StartInstanceRefresh, DescribeInstanceRefreshes,
 * CancelInstanceRefresh; and the group tag actions CreateOrUpdateTags,
 * DeleteTags, DescribeTags.
 */
import type {
  CancelInstanceRefreshAnswer, CancelInstanceRefreshType, CompleteLifecycleActionType, DeleteLifecycleHookType, DeleteScheduledActionType,
  DescribeInstanceRefreshesAnswer, DescribeInstanceRefreshesType, DescribeLifecycleHooksAnswer, DescribeLifecycleHooksType,
  DescribeScheduledActionsType, PutLifecycleHookType, PutScheduledUpdateGroupActionType, RecordLifecycleActionHeartbeatType,
  ScheduledActionsType, StartInstanceRefreshAnswer, StartInstanceRefreshType, CreateOrUpdateTagsType, DeleteTagsType, DescribeTagsType, TagsType,
  Tag,
} from '@aws-sdk/client-auto-scaling';
import { createOrUpdateTags, deleteTags, describeGroupTags } from '../../services/scaling/group-tags.js';
import { deleteLifecycleHook, describeLifecycleHooks, lifecycleAction, putLifecycleHook } from '../../services/scaling/hooks.js';
import { cancelInstanceRefresh, describeInstanceRefreshes, refreshProgress, startInstanceRefresh } from '../../services/scaling/refresh.js';
import { deleteScheduledAction, describeScheduledActions, putScheduledAction } from '../../services/scaling/scheduled.js';
import { ApiError } from '../errors.js';
import type { Handler } from '../handler.js';
import { page, toSdkHook, toSdkRefresh, toSdkScheduled, toSdkTag } from '../views/scaling.js';

export const putHook: Handler<PutLifecycleHookType, object> = async (ctx, caller, input) => {
  await putLifecycleHook(ctx, caller, {
    groupName: input.AutoScalingGroupName, name: input.LifecycleHookName, transition: input.LifecycleTransition,
    heartbeatTimeout: input.HeartbeatTimeout, defaultResult: input.DefaultResult, metadata: input.NotificationMetadata,
    notificationTargetArn: input.NotificationTargetARN, roleArn: input.RoleARN,
  });
  return {};
};

export const describeHooks: Handler<DescribeLifecycleHooksType, DescribeLifecycleHooksAnswer> = async (ctx, caller, input) => {
  const { group, hooks } = await describeLifecycleHooks(ctx, caller, input.AutoScalingGroupName, input.LifecycleHookNames);
  return { LifecycleHooks: hooks.map((h) => toSdkHook(group, h)) };
};

export const deleteHook: Handler<DeleteLifecycleHookType, object> = async (ctx, caller, input) => {
  await deleteLifecycleHook(ctx, caller, input.AutoScalingGroupName, input.LifecycleHookName);
  return {};
};

export const complete: Handler<CompleteLifecycleActionType, object> = async (ctx, caller, input) => {
  await lifecycleAction(ctx, caller, {
    groupName: input.AutoScalingGroupName, hookName: input.LifecycleHookName, instanceId: input.InstanceId, token: input.LifecycleActionToken,
  }, input.LifecycleActionResult ?? '');
  return {};
};

export const heartbeat: Handler<RecordLifecycleActionHeartbeatType, object> = async (ctx, caller, input) => {
  await lifecycleAction(ctx, caller, {
    groupName: input.AutoScalingGroupName, hookName: input.LifecycleHookName, instanceId: input.InstanceId, token: input.LifecycleActionToken,
  });
  return {};
};

export const putScheduled: Handler<PutScheduledUpdateGroupActionType, object> = async (ctx, caller, input) => {
  await putScheduledAction(ctx, caller, {
    groupName: input.AutoScalingGroupName, name: input.ScheduledActionName, startTime: input.StartTime ?? input.Time, endTime: input.EndTime,
    recurrence: input.Recurrence, timeZone: input.TimeZone, minSize: input.MinSize, maxSize: input.MaxSize, desiredCapacity: input.DesiredCapacity,
  });
  return {};
};

export const describeScheduled: Handler<DescribeScheduledActionsType, ScheduledActionsType> = async (ctx, caller, input) => {
  let found = await describeScheduledActions(ctx, caller, input.AutoScalingGroupName, input.ScheduledActionNames);
  if (input.StartTime) found = found.filter((a) => !a.nextRun || Date.parse(a.nextRun) >= input.StartTime!.getTime());
  if (input.EndTime) found = found.filter((a) => !a.nextRun || Date.parse(a.nextRun) <= input.EndTime!.getTime());
  const p = page(found, 'asg-scheduled', input.MaxRecords, input.NextToken);
  return { ScheduledUpdateGroupActions: p.items.map(toSdkScheduled), NextToken: p.nextToken };
};

export const deleteScheduled: Handler<DeleteScheduledActionType, object> = async (ctx, caller, input) => {
  await deleteScheduledAction(ctx, caller, input.AutoScalingGroupName, input.ScheduledActionName);
  return {};
};

export const startRefresh: Handler<StartInstanceRefreshType, StartInstanceRefreshAnswer> = async (ctx, caller, input) => {
  const p = input.Preferences ?? {};
  if (p.AutoRollback) throw new ApiError('ValidationError', 'Kiln does not roll an instance refresh back: AutoRollback must be false.');
  const lt = input.DesiredConfiguration?.LaunchTemplate;
  const r = await startInstanceRefresh(ctx, caller, {
    groupName: input.AutoScalingGroupName, strategy: input.Strategy, minHealthyPercentage: p.MinHealthyPercentage,
    maxHealthyPercentage: p.MaxHealthyPercentage, instanceWarmup: p.InstanceWarmup, skipMatching: p.SkipMatching,
    desiredTemplate: lt ? { id: lt.LaunchTemplateId, name: lt.LaunchTemplateName, version: lt.Version } : undefined,
  });
  return { InstanceRefreshId: r.id };
};

export const describeRefreshes: Handler<DescribeInstanceRefreshesType, DescribeInstanceRefreshesAnswer> = async (ctx, caller, input) => {
  const { group, refreshes } = await describeInstanceRefreshes(ctx, caller, input.AutoScalingGroupName, input.InstanceRefreshIds);
  const p = page(refreshes, 'asg-refreshes', input.MaxRecords, input.NextToken);
  return { InstanceRefreshes: p.items.map((r) => toSdkRefresh(r, refreshProgress(r, group))), NextToken: p.nextToken };
};

export const cancelRefresh: Handler<CancelInstanceRefreshType, CancelInstanceRefreshAnswer> = async (ctx, caller, input) => {
  return { InstanceRefreshId: await cancelInstanceRefresh(ctx, caller, input.AutoScalingGroupName) };
};

const tagRefs = (tags: Tag[] | undefined) => tags?.map((t) => ({
  resourceId: t.ResourceId, resourceType: t.ResourceType, key: t.Key, value: t.Value, propagateAtLaunch: t.PropagateAtLaunch,
}));

export const putTags: Handler<CreateOrUpdateTagsType, object> = async (ctx, caller, input) => {
  await createOrUpdateTags(ctx, caller, tagRefs(input.Tags));
  return {};
};

export const removeTags: Handler<DeleteTagsType, object> = async (ctx, caller, input) => {
  await deleteTags(ctx, caller, tagRefs(input.Tags));
  return {};
};

export const describeTags: Handler<DescribeTagsType, TagsType> = async (ctx, caller, input) => {
  const found = await describeGroupTags(ctx, caller, input.Filters?.map((f) => ({ name: f.Name, values: f.Values })));
  const p = page(found, 'asg-tags', input.MaxRecords, input.NextToken);
  return { Tags: p.items.map(({ group, tag }) => toSdkTag(group, tag)), NextToken: p.nextToken };
};

export const HANDLERS: Record<string, Handler> = {
  PutLifecycleHook: putHook, DescribeLifecycleHooks: describeHooks, DeleteLifecycleHook: deleteHook, CompleteLifecycleAction: complete,
  RecordLifecycleActionHeartbeat: heartbeat, PutScheduledUpdateGroupAction: putScheduled, DescribeScheduledActions: describeScheduled,
  DeleteScheduledAction: deleteScheduled, StartInstanceRefresh: startRefresh, DescribeInstanceRefreshes: describeRefreshes,
  CancelInstanceRefresh: cancelRefresh, CreateOrUpdateTags: putTags, DeleteTags: removeTags, DescribeTags: describeTags,
};
