/** A lifecycle hook as a request gives it (PutLifecycleHook, CreateAutoScalingGroup's LifecycleHookSpecificationList), checked. */
import type { LifecycleHookRecord, Transition } from '../../model/scaling-records.js';
import { Invalid } from '../core/errors.js';

const validation = (message: string) => new Invalid('ValidationError', message);

export const TRANSITIONS: Transition[] = ['autoscaling:EC2_INSTANCE_LAUNCHING', 'autoscaling:EC2_INSTANCE_TERMINATING'];
export const MAX_HOOKS = 50;

export interface HookRequest {
  groupName?: string;
  name?: string;
  transition?: string;
  heartbeatTimeout?: number;
  defaultResult?: string;
  metadata?: string;
  notificationTargetArn?: string;
  roleArn?: string;
}

/** A hook from a request (PutLifecycleHook, CreateAutoScalingGroup's LifecycleHookSpecificationList), checked; `prior` fills what is not given. */
export function hookFrom(req: HookRequest, prior?: LifecycleHookRecord): LifecycleHookRecord {
  if (!req.name || !/^[A-Za-z0-9\-_/]{1,255}$/.test(req.name)) throw validation('LifecycleHookName must be 1-255 letters, digits, -, _ or /');
  const transition = req.transition ?? prior?.transition;
  if (!transition) throw validation('LifecycleTransition is required for a new lifecycle hook');
  if (!TRANSITIONS.includes(transition as Transition)) throw validation(`Invalid Lifecycle Transition: ${transition}`);
  const heartbeatTimeout = req.heartbeatTimeout ?? prior?.heartbeatTimeout ?? 3600;
  if (!Number.isInteger(heartbeatTimeout) || heartbeatTimeout < 30 || heartbeatTimeout > 7200) {
    throw validation('Heartbeat timeout must be between 30 and 7200 seconds');
  }
  const defaultResult = req.defaultResult ?? prior?.defaultResult ?? 'ABANDON';
  if (defaultResult !== 'CONTINUE' && defaultResult !== 'ABANDON') throw validation(`Invalid default result: ${defaultResult}`);
  return {
    name: req.name, transition: transition as Transition, heartbeatTimeout, defaultResult,
    metadata: req.metadata ?? prior?.metadata, notificationTargetArn: req.notificationTargetArn ?? prior?.notificationTargetArn, roleArn: req.roleArn ?? prior?.roleArn,
  };
}

