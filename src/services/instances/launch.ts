/**
 * RunInstances as one service call: every check first (image, permission,
 * Allowed AMIs, subscription, type, count, user data, key pair, zone, network,
 * attributes, block device mappings), then one transaction that writes the
 * instances, their attributes, their launch volumes and the client token, and
 * only then the boots, in the background. A bad request launches nothing; a
 * crash leaves either no instance or one whose volumes it knows.
 */
import type { BlockDeviceMapping, InstanceRecord, Tag } from '../../model/records.js';
import { recallToken, rememberToken } from '../core/client-tokens.js';
import type { Caller, Context } from '../core/context.js';
import { availabilityZones } from '../core/context.js';
import { beforeChange, Invalid } from '../core/errors.js';
import { newId, nowIso } from '../core/ids.js';
import type { MappingRequest } from '../images/block-mappings.js';
import { applyOverrides, mappingSnapshots, validateMappings } from '../images/block-mappings.js';
import { checkLaunchAllowed } from '../images/image-settings.js';
import { launchableImage } from '../images/images.js';
import { launchKeyPair } from '../keys/key-pairs.js';
import { requireSubscription } from '../marketplace/marketplace.js';
import { fillLaunchVolume, recordLaunchVolume } from '../volumes/volumes.js';
import { requireSoundSnapshots } from '../snapshots/snapshots.js';
import type { LaunchOptions } from './instance-attributes.js';
import { ensureAttributes, prepareLaunch } from './instance-attributes.js';
import { checkInstanceType, DEFAULT_INSTANCE_TYPE, MAX_LIVE_INSTANCES, MAX_USER_DATA_BYTES, userDataTooLong } from './instance-types.js';
import { boot, failLaunch, liveInstanceCount } from './instances.js';
import { instanceRoom } from './capacity.js';
import type { InstanceDetails } from './instances.js';
import { detailsOf } from './instances.js';

export interface LaunchRequest extends LaunchOptions {
  imageId: string;
  instanceType?: string;
  minCount: number;
  maxCount: number;
  userData?: string;
  keyName?: string;
  tags?: Tag[];
  volumeTags?: Tag[];
  /** Overrides of the image's mappings: grow or retype a volume, change DeleteOnTermination, suppress or add a device. */
  blockDeviceMappings?: MappingRequest[];
}

/** Validates a launch, records the instances as pending (one transaction) and boots them in the background. */
export async function runInstances(ctx: Context, caller: Caller, req: LaunchRequest): Promise<InstanceDetails[]> {
  const launched = await ctx.store.transaction(async () => {
    const prior = await recallToken(ctx, caller, 'run-instances', req.clientToken, req);
    if (prior) return { insts: await instancesById(ctx, prior), fresh: false, mappings: [] as BlockDeviceMapping[] };
    const image = await launchableImage(ctx, caller, req.imageId);
    await checkLaunchAllowed(ctx, caller, image); // Allowed AMIs: refused when enabled, recorded in audit mode
    await requireSubscription(ctx, caller, image); // marketplace product codes: OptInRequired unless vendor or subscribed
    const instanceType = req.instanceType ?? DEFAULT_INSTANCE_TYPE;
    checkInstanceType(instanceType, image);
    // As many as the account's limit and then the host's memory allow (InsufficientInstanceCapacity below MinCount).
    const count = await instanceRoom(ctx, instanceType, req.minCount, await launchCount(ctx, caller, req.minCount, req.maxCount));
    if (req.userData !== undefined && userDataTooLong(req.userData)) {
      throw new Invalid('InvalidParameterValue', `User data is limited to ${MAX_USER_DATA_BYTES} bytes`);
    }
    const keyPair = req.keyName !== undefined ? await launchKeyPair(ctx, caller, req.keyName) : undefined;
    // An image marked ImdsSupport v2.0 launches instances that require IMDSv2 tokens, unless the request says otherwise.
    const asked = image.imdsSupport === 'v2.0' ? { ...req, metadataOptions: { httpTokens: 'required', ...req.metadataOptions } } : req;
    const prepared = await prepareLaunch(ctx, caller, instanceType, asked, count);
    const zones = availabilityZones(caller.region);
    const az = prepared.availabilityZone ?? zones[0]!;
    if (!zones.includes(az)) throw new Invalid('InvalidParameterValue', `Invalid availability zone: [${az}]`);
    const overrides = req.blockDeviceMappings ?? [];
    validateMappings(overrides);
    const mappings = applyOverrides(image.blockDeviceMappings, overrides, await mappingSnapshots(ctx, caller, overrides), image.rootDeviceName);
    if (!mappings.some((m) => m.deviceName === image.rootDeviceName && m.ebs?.snapshotId)) {
      throw new Invalid('InvalidAMIID.Unavailable', `Image ${image.id} has no root snapshot`);
    }
    await requireSoundSnapshots(ctx, mappings.flatMap((m) => m.ebs?.snapshotId ? [m.ebs.snapshotId] : []));

    beforeChange(caller);
    const reservationId = newId('reservation');
    const insts: InstanceRecord[] = [];
    for (let n = 0; n < count; n++) {
      const rec: InstanceRecord = {
        id: newId('instance'), account: caller.account, region: caller.region, imageId: image.id, instanceType,
        state: 'pending', stateTransitionReason: '', launchTime: nowIso('seconds'), availabilityZone: az, reservationId,
        amiLaunchIndex: n, userData: req.userData || undefined, keyName: keyPair?.keyName, publicKey: keyPair?.publicKey, clientToken: req.clientToken,
        productCodes: image.productCodes?.length ? image.productCodes : undefined,
        architecture: image.architecture, rootDeviceName: image.rootDeviceName, bootMode: image.bootMode, tpmSupport: image.tpmSupport,
        volumeIds: [], tags: req.tags ?? [], launching: true,
      };
      await ctx.store.instances.insert(rec);
      await ensureAttributes(ctx, rec, prepared);
      insts.push(await recordVolumes(ctx, rec, mappings, req.volumeTags ?? []));
    }
    await rememberToken(ctx, caller, 'run-instances', req.clientToken, req, insts.map((i) => i.id));
    // AWS's lastLaunchedTime: when the image was last used to launch an instance.
    await ctx.store.images.update(image.id, (r) => ({ ...r, lastLaunchedTime: insts[0]!.launchTime }));
    return { insts, fresh: true, mappings };
  });
  // Started outside the transaction: a boot waits on the host, and must not hold the store.
  if (launched.fresh) for (const inst of launched.insts) ctx.tasks.start(`boot ${inst.id}`, () => ctx.locks.run(inst.id, () => firstBoot(ctx, inst)));
  return Promise.all(launched.insts.map((i) => detailsOf(ctx, i)));
}

async function instancesById(ctx: Context, ids: string[]): Promise<InstanceRecord[]> {
  return (await Promise.all(ids.map((id) => ctx.store.instances.get(id)))).filter((i): i is InstanceRecord => !!i);
}

/**
 * How many instances to launch: as many as MaxCount asks within the limit of
 * live (not terminated) instances per account and region, and not fewer than
 * MinCount, else InstanceLimitExceeded and nothing launches.
 */
async function launchCount(ctx: Context, caller: Caller, min: number, max: number): Promise<number> {
  if (!Number.isInteger(min) || min < 1) throw new Invalid('InvalidParameterValue', `Invalid value '${min}' for minCount. Must be greater than 0`);
  if (!Number.isInteger(max) || max < 1) throw new Invalid('InvalidParameterValue', `Invalid value '${max}' for maxCount. Must be greater than 0`);
  if (min > max) throw new Invalid('InvalidParameterValue', `Invalid value '${min}' for minCount. Must be less than or equal to maxCount`);
  const live = await liveInstanceCount(ctx, caller);
  const room = Math.max(0, MAX_LIVE_INSTANCES - live);
  if (min > room) {
    throw new Invalid('InstanceLimitExceeded', `You have requested more instances (${min + live}) than your current instance limit of ${MAX_LIVE_INSTANCES} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`);
  }
  return Math.min(max, room);
}

/** The records of the instance's launch volumes (from the image's snapshots as overridden, or empty), attached from the start. */
async function recordVolumes(ctx: Context, inst: InstanceRecord, mappings: BlockDeviceMapping[], volumeTags: Tag[]): Promise<InstanceRecord> {
  const owner = { account: inst.account, region: inst.region };
  const volumeIds: string[] = [];
  for (const m of mappings) {
    if (!m.ebs) continue; // NoDevice, or an instance-store device Kiln does not have
    const vol = await recordLaunchVolume(ctx, owner, {
      availabilityZone: inst.availabilityZone, snapshotId: m.ebs.snapshotId, size: m.ebs.volumeSize,
      volumeType: m.ebs.volumeType, encrypted: m.ebs.encrypted, iops: m.ebs.iops, throughput: m.ebs.throughput, tags: volumeTags,
    }, { instanceId: inst.id, device: m.deviceName, deleteOnTermination: m.ebs.deleteOnTermination, attachTime: nowIso('seconds') });
    volumeIds.push(vol.id);
  }
  return ctx.store.instances.update(inst.id, (i) => ({ ...i, volumeIds }));
}

/** Writes the launch volumes' data, then boots; a launch that cannot finish ends terminated with the reason. */
async function firstBoot(ctx: Context, inst: InstanceRecord): Promise<void> {
  try {
    for (const id of inst.volumeIds) {
      const vol = await ctx.store.volumes.get(id);
      if (vol) await fillLaunchVolume(ctx, vol);
    }
    await boot(ctx, inst.id);
  } catch (err) {
    ctx.log(`kiln: instance ${inst.id} failed to launch: ${(err as Error).message}`);
    await failLaunch(ctx, inst.id, err);
  }
}


