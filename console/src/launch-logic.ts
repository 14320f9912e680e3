/**
 * Launch instance's request logic, free of React (checked by test/console-logic.test.ts): the recent AMIs, the
 * storage section's block device mappings, and the advanced details as RunInstances parameters.
 */
import type { BlockDeviceMapping, EbsBlockDevice, Image, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { rootMapping } from './logic.js';

/** The recent AMIs list (most recent first, at most `max`, no repeats), from its stored JSON, with `add` in front. */
export function recentAmis(stored: string | null, add?: string, max = 5): string[] {
  let list: string[] = [];
  try {
    const v: unknown = JSON.parse(stored ?? '[]');
    if (Array.isArray(v)) list = v.filter((x): x is string => typeof x === 'string' && /^ami-[0-9a-f]+$/.test(x));
  } catch { /* a damaged entry is forgotten */ }
  return [...new Set(add ? [add, ...list] : list)].slice(0, max);
}

export interface ExtraVolume { size: string; type: string; deleteOnTermination: boolean }

/** The device for the next added volume: /dev/sdf, /dev/sdg, ... skipping names the image or earlier volumes take. */
export function nextDevices(image: Image | undefined, count: number): string[] {
  const taken = new Set((image?.BlockDeviceMappings ?? []).map((b) => b.DeviceName?.replace('/dev/xvd', '/dev/sd')));
  const out: string[] = [];
  for (let c = 'f'.charCodeAt(0); out.length < count && c <= 'p'.charCodeAt(0); c++) {
    const dev = `/dev/sd${String.fromCharCode(c)}`;
    if (!taken.has(dev)) out.push(dev);
  }
  return out;
}

/** Configure storage: the root mapping when it differs from the image's, then one empty EBS volume per added row. */
export function launchMappings(image: Image | undefined, rootSize: string, rootType: string, extra: ExtraVolume[]): BlockDeviceMapping[] | undefined {
  const devices = nextDevices(image, extra.length);
  const added = extra.map((v, k): BlockDeviceMapping => ({
    DeviceName: devices[k],
    Ebs: { VolumeSize: Math.max(1, Number.parseInt(v.size, 10) || 8), VolumeType: (v.type || 'gp3') as EbsBlockDevice['VolumeType'], DeleteOnTermination: v.deleteOnTermination },
  }));
  const all = [...(rootMapping(image, rootSize, rootType) ?? []), ...added];
  return all.length ? all : undefined;
}

export interface Advanced {
  shutdown: 'stop' | 'terminate';
  terminationProtection: boolean;
  metadata: 'enabled' | 'disabled';
  /** 'optional': IMDSv1 and v2; 'required': v2 (session tokens) only. */
  tokens: 'optional' | 'required';
}

export const DEFAULT_ADVANCED: Advanced = { shutdown: 'stop', terminationProtection: false, metadata: 'enabled', tokens: 'required' };

/** Advanced details as RunInstances parameters (only what differs from EC2's defaults, except the metadata options, always sent as the console does). */
export function advancedParams(a: Advanced): Pick<RunInstancesCommandInput, 'InstanceInitiatedShutdownBehavior' | 'DisableApiTermination' | 'MetadataOptions'> {
  return {
    ...(a.shutdown === 'terminate' ? { InstanceInitiatedShutdownBehavior: 'terminate' } : {}),
    ...(a.terminationProtection ? { DisableApiTermination: true } : {}),
    MetadataOptions: a.metadata === 'disabled' ? { HttpEndpoint: 'disabled' } : { HttpEndpoint: 'enabled', HttpTokens: a.tokens },
  };
}
