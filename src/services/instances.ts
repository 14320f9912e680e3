import { mkdir, open, stat } from 'node:fs/promises';
import type { InstanceSpec } from '../runtime/runtime.js';
import type { MappingRequest } from './block-mappings.js';
import { applyOverrides, mappingSnapshots, validateMappings } from './block-mappings.js';
import { RuntimeUnavailableError } from '../runtime/runtime.js';
import { recallToken, rememberToken } from './client-tokens.js';
import type { Caller, Context } from './context.js';
import { availabilityZones } from './context.js';
import { beforeChange, HostUnavailable, Invalid, InvalidState, MalformedId, NotFound } from './errors.js';
import { checkLaunchAllowed } from './image-settings.js';
import { launchableImage } from './images.js';
import { launchKeyPair } from './key-pairs.js';
import { meterInstance, requireSubscription } from './marketplace.js';
import { isValidId, newId, nowIso } from './ids.js';
import { architecturesOf, DEFAULT_INSTANCE_TYPE, INSTANCE_TYPES, isNitro } from './instance-types.js';
import type { BlockDeviceMapping, InstanceRecord, InstanceState, Tag, VolumeRecord } from './model.js';
import { createLaunchVolume, deleteVolume, growFilesystem } from './volumes.js';

export const STATE_CODES: Record<InstanceState, number> = {
  pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80,
};

export interface LaunchRequest {
  imageId: string;
  instanceType?: string;
  minCount: number;
  maxCount: number;
  userData?: string;
  keyName?: string;
  availabilityZone?: string;
  clientToken?: string;
  tags?: Tag[];
  volumeTags?: Tag[];
  /** Overrides of the image's mappings: grow or retype a volume, change DeleteOnTermination, suppress or add a device. */
  blockDeviceMappings?: MappingRequest[];
}

const MAX_USER_DATA = 16 * 1024;
const MAX_COUNT = 20;

/** Validates a launch, records the instances as pending and boots them in the background. */
export async function runInstances(ctx: Context, caller: Caller, req: LaunchRequest): Promise<InstanceRecord[]> {
  const prior = await recallToken(ctx, caller, 'run-instances', req.clientToken, req);
  if (prior) return (await Promise.all(prior.map((id) => ctx.store.instances.get(id)))).filter((i): i is InstanceRecord => !!i);
  const image = await launchableImage(ctx, caller, req.imageId);
  await checkLaunchAllowed(ctx, caller, image); // Allowed AMIs: refused when enabled, recorded in audit mode
  await requireSubscription(ctx, caller, image); // marketplace product codes: OptInRequired unless vendor or subscribed
  const instanceType = req.instanceType ?? DEFAULT_INSTANCE_TYPE;
  if (!INSTANCE_TYPES[instanceType]) throw new Invalid('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  const archs: string[] = architecturesOf(instanceType);
  if (!archs.includes(image.architecture)) {
    throw new Invalid('InvalidParameterValue', `The architecture '${archs.at(-1)}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`);
  }
  if (isNitro(instanceType) && !image.enaSupport) {
    throw new Invalid('InvalidParameterCombination', `Enhanced networking with the Elastic Network Adapter (ENA) is required for the '${instanceType}' instance type. Ensure that you are using an AMI that is enabled for ENA.`);
  }
  const count = await launchCount(ctx, caller, req.minCount, req.maxCount);
  if (req.userData !== undefined && Buffer.from(req.userData, 'base64').length > MAX_USER_DATA) {
    throw new Invalid('InvalidParameterValue', 'User data is limited to 16384 bytes');
  }
  const keyPair = req.keyName !== undefined ? await launchKeyPair(ctx, caller, req.keyName) : undefined;
  const zones = availabilityZones(caller.region);
  const az = req.availabilityZone ?? zones[0];
  if (!zones.includes(az)) throw new Invalid('InvalidParameterValue', `Invalid availability zone: [${az}]`);
  const overrides = req.blockDeviceMappings ?? [];
  validateMappings(overrides);
  const mappings = applyOverrides(image.blockDeviceMappings, overrides, await mappingSnapshots(ctx, caller, overrides), image.rootDeviceName);
  const root = mappings.find((m) => m.deviceName === image.rootDeviceName && m.ebs?.snapshotId);
  if (!root) throw new Invalid('InvalidAMIID.Unavailable', `Image ${image.id} has no root snapshot`);

  beforeChange(caller);
  const reservationId = newId('reservation');
  const launched: InstanceRecord[] = [];
  for (let n = 0; n < count; n++) {
    const rec: InstanceRecord = {
      id: newId('instance'), account: caller.account, region: caller.region, imageId: image.id, instanceType,
      state: 'pending', stateTransitionReason: '', launchTime: nowIso('seconds'), availabilityZone: az, reservationId,
      amiLaunchIndex: n, userData: req.userData || undefined, keyName: keyPair?.keyName, publicKey: keyPair?.publicKey, clientToken: req.clientToken,
      productCodes: image.productCodes?.length ? image.productCodes : undefined,
      architecture: image.architecture, rootDeviceName: image.rootDeviceName, bootMode: image.bootMode, tpmSupport: image.tpmSupport, volumeIds: [], tags: req.tags ?? [], launching: true,
    };
    await ctx.store.instances.insert(rec);
    launched.push(rec);
    ctx.tasks.start(`boot ${rec.id}`, () => ctx.locks.run(rec.id, () => firstBoot(ctx, rec, mappings, req.volumeTags ?? [])));
  }
  await rememberToken(ctx, caller, 'run-instances', req.clientToken, req, launched.map((i) => i.id));
  // AWS's lastLaunchedTime: when the image was last used to launch an instance.
  await ctx.store.images.update(image.id, (r) => ({ ...r, lastLaunchedTime: launched[0]!.launchTime })).catch(() => undefined);
  return launched;
}

/**
 * How many instances to launch: as many as MaxCount asks within the limit of
 * MAX_COUNT live (not terminated) instances per account and region, and not
 * fewer than MinCount, else InstanceLimitExceeded and nothing launches.
 */
async function launchCount(ctx: Context, caller: Caller, min: number, max: number): Promise<number> {
  if (!Number.isInteger(min) || min < 1) throw new Invalid('InvalidParameterValue', `Invalid value '${min}' for minCount. Must be greater than 0`);
  if (!Number.isInteger(max) || max < 1) throw new Invalid('InvalidParameterValue', `Invalid value '${max}' for maxCount. Must be greater than 0`);
  if (min > max) throw new Invalid('InvalidParameterValue', `Invalid value '${min}' for minCount. Must be less than or equal to maxCount`);
  const live = (await ctx.store.instances.list(caller)).filter((i) => i.state !== 'terminated' && i.state !== 'shutting-down').length;
  const room = Math.max(0, MAX_COUNT - live);
  if (min > room) {
    throw new Invalid('InstanceLimitExceeded', `You have requested more instances (${min + live}) than your current instance limit of ${MAX_COUNT} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`);
  }
  return Math.min(max, room);
}

/** Makes the instance's volumes (from the image's snapshots as overridden, or empty), then boots it. */
async function firstBoot(ctx: Context, inst: InstanceRecord, mappings: BlockDeviceMapping[], volumeTags: Tag[]): Promise<void> {
  try {
    const owner = { account: inst.account, region: inst.region };
    for (const m of mappings) {
      if (!m.ebs) continue; // NoDevice, or an instance-store device Kiln does not have
      await createLaunchVolume(ctx, owner, {
        availabilityZone: inst.availabilityZone, snapshotId: m.ebs.snapshotId, size: m.ebs.volumeSize,
        volumeType: m.ebs.volumeType, encrypted: m.ebs.encrypted, iops: m.ebs.iops, throughput: m.ebs.throughput, tags: volumeTags,
      }, { instanceId: inst.id, device: m.deviceName, deleteOnTermination: m.ebs.deleteOnTermination, attachTime: nowIso('seconds') },
      (vol) => ctx.store.instances.update(inst.id, (i) => ({ ...i, volumeIds: [...i.volumeIds, vol.id] })).then(() => undefined));
    }
    await boot(ctx, inst.id);
  } catch (err) {
    ctx.log(`kiln: instance ${inst.id} failed to launch: ${(err as Error).message}`);
    const capacity = err instanceof RuntimeUnavailableError || err instanceof HostUnavailable;
    await failLaunch(ctx, inst.id, capacity ? 'Server.InsufficientInstanceCapacity' : 'Server.InternalError', (err as Error).message);
  }
}

/** A launch that cannot finish: every volume made for it goes, and the instance ends terminated with the reason, as on AWS. */
async function failLaunch(ctx: Context, id: string, code: string, why: string): Promise<void> {
  await releaseVolumes(ctx, id, true);
  const message = `${code}: ${why}`;
  await setState(ctx, id, 'terminated', message, { code, message });
}

/** Everything the runtime needs to boot this instance as it is recorded now. */
export async function instanceSpec(ctx: Context, instanceId: string): Promise<InstanceSpec> {
  const inst = await ctx.store.instances.get(instanceId);
  if (!inst) throw new NotFound('instance', [instanceId]);
  const vols = (await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)))).filter((v): v is VolumeRecord => !!v);
  const type = INSTANCE_TYPES[inst.instanceType];
  const metadata: Record<string, string | Buffer> = {
    'instance-id': inst.id, 'instance-type': inst.instanceType, 'ami-id': inst.imageId, region: inst.region,
    'availability-zone': inst.availabilityZone, 'local-hostname': inst.id, hostname: inst.id,
    'reservation-id': inst.reservationId, 'ami-launch-index': String(inst.amiLaunchIndex), 'account-id': inst.account,
  };
  if (inst.userData) metadata['user-data'] = Buffer.from(inst.userData, 'base64');
  if (inst.publicKey) metadata['openssh-key'] = `${inst.publicKey}\n`;
  await mkdir(ctx.paths.consoles, { recursive: true });
  return {
    id: inst.id, vcpus: type.vcpus, memoryMiB: type.memoryMiB, metadata, consoleLog: ctx.paths.console(inst.id),
    volumes: vols.map((v) => ({ device: v.attachment!.device, path: ctx.paths.volume(v.id), root: v.attachment!.device === inst.rootDeviceName })),
  };
}

async function boot(ctx: Context, instanceId: string): Promise<void> {
  const missing = await ctx.runtime.check();
  if (missing.length) throw new HostUnavailable(`this host cannot run instances: ${missing.join(' ')}`);
  const spec = await instanceSpec(ctx, instanceId);
  for (const v of spec.volumes) await growFilesystem(v.path);
  await ctx.runtime.start(spec);
  await setState(ctx, instanceId, 'running', '');
}

async function setState(ctx: Context, id: string, state: InstanceState, reason: string, stateReason?: InstanceRecord['stateReason']) {
  // Once running or terminated, the first boot is over.
  const inst = await ctx.store.instances.update(id, ({ launching, ...i }) => ({
    ...i, state, stateTransitionReason: reason, stateReason, ...(launching && state === 'pending' ? { launching } : {}),
    ...(state === 'terminated' ? { terminatedAt: nowIso() } : {}),
  }));
  await meterInstance(ctx, inst); // marketplace instance-hours: every move into and out of 'running' passes here
  return inst;
}

/** Detaches the instance's volumes, deleting those marked DeleteOnTermination (all of them when `all`). */
async function releaseVolumes(ctx: Context, instanceId: string, all: boolean): Promise<void> {
  const inst = await ctx.store.instances.get(instanceId);
  for (const volId of inst?.volumeIds ?? []) {
    const vol = await ctx.store.volumes.get(volId);
    if (!vol) continue;
    if (all || vol.attachment?.deleteOnTermination) await deleteVolume(ctx, volId);
    else await ctx.store.volumes.update(volId, (v) => ({ ...v, state: 'available', attachment: undefined }));
  }
}

/** The caller's instances; with `ids`, exactly those or NotFound/Malformed as AWS answers. */
export async function visibleInstances(ctx: Context, caller: Caller, ids?: string[]): Promise<InstanceRecord[]> {
  const now = Date.now();
  if (ids?.length) {
    for (const id of ids) if (!isValidId('instance', id)) throw new MalformedId('instance', id);
    const found = await Promise.all(ids.map((id) => ctx.store.instances.get(id)));
    const missing = ids.filter((_, i) => !found[i] || found[i]!.account !== caller.account || found[i]!.region !== caller.region || gone(found[i]!, now));
    if (missing.length) throw new NotFound('instance', missing);
    return found as InstanceRecord[];
  }
  return (await ctx.store.instances.list(caller)).filter((i) => !gone(i, now));
}

/** AWS keeps showing a terminated instance for about an hour; Kiln keeps the record (metering reads it) but shows it no more. */
export const TERMINATED_VISIBLE_MS = 60 * 60 * 1000;
const gone = (i: InstanceRecord, now: number) =>
  i.state === 'terminated' && now - Date.parse(i.terminatedAt ?? i.launchTime) >= TERMINATED_VISIBLE_MS;

export interface StateChange { instanceId: string; previous: InstanceState; current: InstanceState }

type Transition = (ctx: Context, inst: InstanceRecord, opts: { force?: boolean }) => Promise<StateChange>;

/** Applies a lifecycle action to each instance: validates all first, so a bad id changes nothing. */
export async function changeState(ctx: Context, caller: Caller, ids: string[], action: 'stop' | 'start' | 'terminate' | 'reboot', opts: { force?: boolean } = {}) {
  if (!ids.length) throw new Invalid('MissingParameter', 'The request must contain the parameter InstanceId');
  const insts = await visibleInstances(ctx, caller, ids);
  const fn = TRANSITIONS[action];
  for (const inst of insts) checkTransition(inst, action);
  beforeChange(caller);
  const out: StateChange[] = [];
  for (const inst of insts) out.push(await fn(ctx, inst, opts));
  return out;
}

function checkTransition(inst: InstanceRecord, action: string): void {
  const s = inst.state;
  if (action === 'stop' && s === 'pending') {
    throw new InvalidState('instance', inst.id, s, `Instance '${inst.id}' cannot be stopped as it has never reached the 'running' state.`);
  }
  const bad = (action === 'stop' && (s === 'shutting-down' || s === 'terminated'))
    || (action === 'start' && !['stopped', 'running', 'pending'].includes(s))
    || (action === 'reboot' && s !== 'running' && s !== 'pending');
  if (bad) {
    const verb = { stop: 'stopped', start: 'started', reboot: 'rebooted', terminate: 'terminated' }[action];
    // AWS's own wording differs between the verbs.
    const which = action === 'stop' ? 'This' : 'The';
    throw new InvalidState('instance', inst.id, s, `${which} instance '${inst.id}' is not in a state from which it can be ${verb}.`);
  }
}

const TRANSITIONS: Record<string, Transition> = {
  stop: async (ctx, inst, { force }) => {
    if (inst.state === 'stopped' || inst.state === 'stopping') return { instanceId: inst.id, previous: inst.state, current: inst.state };
    await setState(ctx, inst.id, 'stopping', `User initiated (${new Date().toISOString().slice(0, 19).replace('T', ' ')} GMT)`);
    ctx.tasks.start(`stop ${inst.id}`, () => ctx.locks.run(inst.id, async () => {
      await ctx.runtime.stop(inst.id, force ? 0 : undefined);
      await ctx.store.instances.update(inst.id, (i) => ({ ...i, state: 'stopped', stateReason: { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' } }));
    }));
    return { instanceId: inst.id, previous: inst.state, current: 'stopping' };
  },
  start: async (ctx, inst) => {
    if (inst.state !== 'stopped') return { instanceId: inst.id, previous: inst.state, current: inst.state };
    await ctx.store.instances.update(inst.id, (i) => ({
      ...i, state: 'pending', stateReason: undefined, stateTransitionReason: '', firstLaunchTime: i.firstLaunchTime ?? i.launchTime, launchTime: nowIso('seconds'),
    }));
    ctx.tasks.start(`start ${inst.id}`, () => ctx.locks.run(inst.id, async () => {
      try {
        await boot(ctx, inst.id);
      } catch (err) {
        ctx.log(`kiln: instance ${inst.id} failed to start: ${(err as Error).message}`);
        await setState(ctx, inst.id, 'stopped', '', { code: 'Server.InternalError', message: `Server.InternalError: ${(err as Error).message}` });
      }
    }));
    return { instanceId: inst.id, previous: 'stopped', current: 'pending' };
  },
  terminate: async (ctx, inst) => {
    if (inst.state === 'terminated' || inst.state === 'shutting-down') return { instanceId: inst.id, previous: inst.state, current: inst.state };
    await setState(ctx, inst.id, 'shutting-down', `User initiated (${new Date().toISOString().slice(0, 19).replace('T', ' ')} GMT)`);
    ctx.tasks.start(`terminate ${inst.id}`, () => ctx.locks.run(inst.id, () => finishTermination(ctx, inst.id)));
    return { instanceId: inst.id, previous: inst.state, current: 'shutting-down' };
  },
  reboot: async (ctx, inst) => {
    ctx.tasks.start(`reboot ${inst.id}`, () => ctx.locks.run(inst.id, async () => {
      const cur = await ctx.store.instances.get(inst.id);
      if (cur?.state === 'running') await ctx.runtime.reboot(inst.id);
    }));
    return { instanceId: inst.id, previous: inst.state, current: inst.state };
  },
};

async function finishTermination(ctx: Context, instanceId: string): Promise<void> {
  await ctx.runtime.stop(instanceId);
  await releaseVolumes(ctx, instanceId, false);
  await ctx.store.instances.update(instanceId, (i) => ({
    ...i, state: 'terminated', terminatedAt: nowIso(),
    stateReason: { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
  }));
}

const CONSOLE_TAIL = 64 * 1024;

/** The most recent 64 KiB of what the instance printed. */
export async function consoleOutput(ctx: Context, caller: Caller, instanceId: string): Promise<Buffer> {
  await visibleInstances(ctx, caller, [instanceId]);
  const file = ctx.paths.console(instanceId);
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size <= 0) return Buffer.alloc(0);
  const start = Math.max(0, size - CONSOLE_TAIL);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * After a server restart: instances the runtime still runs are running; ones
 * it does not run are stopped (never forgotten); interrupted transitions finish.
 */
export async function reconcileInstances(ctx: Context): Promise<void> {
  const running = new Set(await ctx.runtime.list().catch(() => [] as string[]));
  for (const inst of await ctx.store.instances.list()) {
    if (inst.state === 'terminated') continue;
    if (inst.launching && !running.has(inst.id)) {
      await failLaunch(ctx, inst.id, 'Server.InternalError', 'the launch was interrupted by a server restart').catch((e) => ctx.log(String(e)));
      continue;
    }
    if (inst.state === 'shutting-down') { await finishTermination(ctx, inst.id).catch((e) => ctx.log(String(e))); continue; }
    if (running.has(inst.id)) {
      if (inst.state === 'stopping') await ctx.runtime.stop(inst.id).then(() => setState(ctx, inst.id, 'stopped', ''));
      else if (inst.state !== 'running') await setState(ctx, inst.id, 'running', '');
      continue;
    }
    if (inst.state === 'stopped') continue;
    await ctx.runtime.stop(inst.id).catch(() => undefined);
    await setState(ctx, inst.id, 'stopped', 'Kiln restarted while the instance was not running',
      { code: 'Server.InternalError', message: 'Server.InternalError: the instance was not running when Kiln restarted' });
  }
}
