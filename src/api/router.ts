/**
 * Which handler answers which EC2 action. Each handler module exports its
 * own `HANDLERS` map (action name -> handler); adding an action is one entry
 * in its module's map.
 */
import type { Handler } from './handler.js';
import * as imageAttributes from './handlers/image-attributes.js';
import * as imageLifecycle from './handlers/image-lifecycle.js';
import * as ebs from './handlers/ebs.js';
import * as images from './handlers/images.js';
import * as instanceAttributes from './handlers/instance-attributes.js';
import * as instanceTypes from './handlers/instance-types.js';
import * as instances from './handlers/instances.js';
import * as keyPairs from './handlers/key-pairs.js';
import * as launchTemplates from './handlers/launch-templates.js';
import * as network from './handlers/network.js';
import * as regions from './handlers/regions.js';
import * as securityGroups from './handlers/security-groups.js';
import * as snapshots from './handlers/snapshots.js';
import * as tags from './handlers/tags.js';
import * as volumes from './handlers/volumes.js';
import * as scalingGroups from './handlers/scaling-groups.js';
import * as scalingExtras from './handlers/scaling-extras.js';

const MODULES: Array<Record<string, Handler>> = [
  regions.HANDLERS, images.HANDLERS, imageAttributes.HANDLERS, imageLifecycle.HANDLERS, snapshots.HANDLERS, instances.HANDLERS, tags.HANDLERS,
  volumes.HANDLERS, instanceAttributes.HANDLERS, instanceTypes.HANDLERS, network.HANDLERS, securityGroups.HANDLERS, keyPairs.HANDLERS,
  launchTemplates.HANDLERS,
];

/**
 * Mutating actions whose services call beforeChange(caller) before their first
 * change, so a DryRun of them runs every check (http.ts). A DryRun of any
 * other mutating action is only parsed.
 */
export const DRY_RUN_CHECKED = new Set([
  'RunInstances', 'StartInstances', 'StopInstances', 'RebootInstances', 'TerminateInstances', 'CreateImage', 'CopyImage',
  'DeregisterImage', 'CreateVolume', 'CreateSnapshot',
  'CreateLaunchTemplate', 'CreateLaunchTemplateVersion', 'ModifyLaunchTemplate', 'DeleteLaunchTemplate', 'DeleteLaunchTemplateVersions',
]);

export const HANDLERS: Record<string, Handler> = {};
for (const m of MODULES) {
  for (const [action, handler] of Object.entries(m)) {
    if (HANDLERS[action]) throw new Error(`two handlers for ${action}`);
    HANDLERS[action] = handler;
  }
}

/** The EBS direct APIs' handlers (service ebs, REST-JSON), by operation name; routed by the model's URI templates (protocol/rest-json.ts). */
export const EBS_HANDLERS: Record<string, Handler> = ebs.HANDLERS;
/** The actions of the other Query services on the endpoint (AWS Query: autoscaling), by service. */
export const SERVICE_HANDLERS: Record<'autoscaling', Record<string, Handler>> = {
  autoscaling: { ...scalingGroups.HANDLERS, ...scalingExtras.HANDLERS },
};
