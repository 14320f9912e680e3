/**
 * Auto Scaling: groups (one record each, holding their members so that a
 * change to the group and to its instances is one write), scaling activities
 * (the record of intent a launch or termination starts with), instance
 * refreshes and scheduled actions. Plain JSON, as records.ts.
 */
import type { Owned } from './records.js';

export type LifecycleState =
  | 'Pending' | 'Pending:Wait' | 'Pending:Proceed' | 'InService' | 'Terminating' | 'Terminating:Wait' | 'Terminating:Proceed' | 'Detached';

export type Transition = 'autoscaling:EC2_INSTANCE_LAUNCHING' | 'autoscaling:EC2_INSTANCE_TERMINATING';

/** A lifecycle hook waiting on one member: it proceeds when every hook is completed or times out. */
export interface HookWait { hook: string; token: string; deadline: string; result?: 'CONTINUE' | 'ABANDON' }

export interface GroupMember {
  instanceId: string;
  availabilityZone: string;
  lifecycleState: LifecycleState;
  health: 'Healthy' | 'Unhealthy';
  /** The launch template version it was launched from (a number), for instance refreshes. */
  templateVersion: string;
  instanceType?: string;
  protectedFromScaleIn: boolean;
  /** When it entered the group (its launch), and when it went InService. */
  launchedAt: string;
  inServiceAt?: string;
  /** Why it was found unhealthy (the Cause of the termination that replaces it). */
  healthCause?: string;
  /** Hooks it waits on in Pending:Wait or Terminating:Wait. */
  waits?: HookWait[];
  /** The activity that launched or is terminating it. */
  activityId?: string;
}

export interface LifecycleHookRecord {
  name: string;
  transition: Transition;
  heartbeatTimeout: number;
  defaultResult: 'CONTINUE' | 'ABANDON';
  metadata?: string;
  notificationTargetArn?: string;
  roleArn?: string;
}

export interface GroupTag { key: string; value: string; propagateAtLaunch: boolean }

export interface AutoScalingGroupRecord extends Owned {
  /** id is `account/region/name`: names are unique per account and region by the id itself. */
  name: string;
  uuid: string;
  arn: string;
  launchTemplate: { id: string; name: string; version: string };
  /** The template came as a MixedInstancesPolicy (echoed back in that shape). */
  mixed?: { overrides?: Array<{ instanceType?: string }> };
  minSize: number;
  maxSize: number;
  desiredCapacity: number;
  defaultCooldown: number;
  availabilityZones: string[];
  subnetIds: string[];
  healthCheckType: string;
  healthCheckGracePeriod: number;
  defaultInstanceWarmup?: number;
  terminationPolicies: string[];
  newInstancesProtectedFromScaleIn: boolean;
  capacityRebalance: boolean;
  maxInstanceLifetime?: number;
  tags: GroupTag[];
  suspended: Array<{ process: string; reason: string }>;
  hooks: LifecycleHookRecord[];
  members: GroupMember[];
  /** Launches recorded and not yet seen through (their activity and ClientToken): they count as capacity. */
  launching: Array<{ activityId: string; availabilityZone: string; subnetId?: string }>;
  /** The Cause the next launches or terminations start with (the user request that changed the desired capacity). */
  pendingCause?: string;
  /** After a failed launch, no new one before this time. */
  retryLaunchAt?: string;
  createdTime: string;
  /** The last scaling activity's end, for cooldowns. */
  lastScaledAt?: string;
  /** DeleteAutoScalingGroup was asked with ForceDelete: members terminate, then the group goes. */
  deleting?: boolean;
}

export type ActivityStatus =
  | 'WaitingForInstanceId' | 'PreInService' | 'InProgress' | 'WaitingForInstanceWarmup' | 'Successful' | 'Failed' | 'Cancelled'
  | 'MidLifecycleAction';

export interface ScalingActivityRecord extends Owned {
  groupId: string;
  groupName: string;
  groupArn: string;
  kind: 'launch' | 'terminate' | 'update';
  /** The instance it launches (known once the launch is recorded) or terminates. */
  instanceId?: string;
  /** The launch's ClientToken: a retry after a restart finds the instance the first attempt made. */
  clientToken?: string;
  availabilityZone?: string;
  subnetId?: string;
  description: string;
  cause: string;
  startTime: string;
  endTime?: string;
  statusCode: ActivityStatus;
  statusMessage?: string;
  progress: number;
  details: string;
}

export interface InstanceRefreshRecord extends Owned {
  groupId: string;
  groupName: string;
  status: 'Pending' | 'InProgress' | 'Successful' | 'Failed' | 'Cancelling' | 'Cancelled';
  statusReason?: string;
  startTime: string;
  endTime?: string;
  minHealthyPercentage: number;
  maxHealthyPercentage: number;
  instanceWarmup?: number;
  skipMatching: boolean;
  /** The instances to replace when it started (their count is the denominator of PercentageComplete). */
  toReplace: string[];
}

export interface ScheduledActionRecord extends Owned {
  groupId: string;
  groupName: string;
  name: string;
  arn: string;
  startTime?: string;
  endTime?: string;
  recurrence?: string;
  timeZone?: string;
  minSize?: number;
  maxSize?: number;
  desiredCapacity?: number;
  /** The next time it runs (absent: done). */
  nextRun?: string;
}
