/**
 * An instance's lifecycle after launch (launch.ts makes them): boot, stop,
 * start, reboot, terminate, the console, what DescribeInstances shows of it, and
 * finding the host's instances again after a restart. State changes go through
 * setState, which tells the context's instance-state listeners (metering).
 */
import { mkdir, open, stat } from 'node:fs/promises';
import type { InstanceAttributesRecord } from '../../model/extra-records.js';
import type { InstanceRecord, InstanceState, VolumeRecord } from '../../model/records.js';
import type { InstanceSpec, RuntimeState } from '../../runtime/runtime.js';
import { RuntimeUnavailableError } from '../../runtime/runtime.js';
import { DamagedFilesystemError } from '../../lib/ext4-check.js';
import type { Caller, Context } from '../core/context.js';
import { beforeChange, HostUnavailable, Invalid, InvalidState, isStorageError, NotFound, publicMessage } from '../core/errors.js';
import { nowIso } from '../core/ids.js';
import { deleteVolume, growFilesystem } from '../volumes/volumes.js';
import { checkProtection, ensureAttributes } from './instance-attributes.js';
import { knownInstanceType } from './instance-types.js';
import { checkStartRoom } from './capacity.js';
import { visibleInstances } from './lookup.js';
import { defaultVpc, macAddress, privateDnsName, vpcRange } from '../network/network.js';
import { firewallOf, securityGroups } from '../network/security-groups.js';

export { liveInstanceCount, visibleInstances } from './lookup.js';

/** An instance and what the host's runtime says of it, for DescribeInstanceStatus. */
export interface InstanceHealth { inst: InstanceRecord; runtime: RuntimeState }

/** DescribeInstanceStatus: running instances (all with `includeAll`) and whether the runtime really runs them. */
export async function instanceStatuses(ctx: Context, caller: Caller, ids: string[] | undefined, includeAll: boolean): Promise<InstanceHealth[]> {
  let insts = await visibleInstances(ctx, caller, ids);
  if (!includeAll) insts = insts.filter((i) => i.state === 'running');
  const out: InstanceHealth[] = [];
  for (const inst of insts) {
    const runtime = inst.state === 'running' || inst.state === 'pending' ? await ctx.runtime.state(inst.id).catch(() => 'absent' as const) : 'absent';
    out.push({ inst, runtime });
  }
  return out;
}

/** AWS's numeric instance state codes. */
export const STATE_CODES: Record<InstanceState, number> = {
  pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80,
};

/** An instance with what DescribeInstances shows beside its record: its attributes and its attached volumes. */
export interface InstanceDetails {
  inst: InstanceRecord;
  attrs: InstanceAttributesRecord;
  volumes: VolumeRecord[];
  /** The names of its security groups, by id. */
  groupNames: Record<string, string>;
}

export async function detailsOf(ctx: Context, inst: InstanceRecord): Promise<InstanceDetails> {
  const volumes = (await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id))))
    .filter((v): v is VolumeRecord => v?.attachment?.instanceId === inst.id);
  const groupNames = Object.fromEntries((await securityGroups(ctx, inst)).map((g) => [g.id, g.groupName]));
  return { inst, attrs: await ensureAttributes(ctx, inst), volumes, groupNames };
}

/** DescribeInstances and its neighbours: the caller's instances (exactly `ids` when given) with their details. */
export async function describeInstances(ctx: Context, caller: Caller, ids?: string[]): Promise<InstanceDetails[]> {
  const out: InstanceDetails[] = [];
  for (const inst of await visibleInstances(ctx, caller, ids)) out.push(await detailsOf(ctx, inst));
  return out;
}

/**
 * A launch that cannot finish: every volume made for it goes, and the instance
 * ends terminated with the reason, as on AWS (a host that cannot run instances
 * is a capacity error, anything else an internal one).
 */
export async function failLaunch(ctx: Context, id: string, err: unknown): Promise<void> {
  const capacity = err instanceof RuntimeUnavailableError || err instanceof HostUnavailable || isStorageError(err);
  // A volume whose filesystem the host refuses to mount is the launcher's doing (lib/ext4-check.ts).
  const code = capacity ? 'Server.InsufficientInstanceCapacity' : err instanceof DamagedFilesystemError ? 'Client.InternalError' : 'Server.InternalError';
  // What the record says names no host path (a full disk is "insufficient storage on the host"); the log has the error.
  const why = err instanceof HostUnavailable || err instanceof RuntimeUnavailableError || err instanceof DamagedFilesystemError ? err.message : publicMessage(err);
  await releaseVolumes(ctx, id, true);
  const message = `${code}: ${why}`;
  await setState(ctx, id, 'terminated', message, { code, message });
}

/** Everything the runtime needs to boot this instance as it is recorded now. */
export async function instanceSpec(ctx: Context, instanceId: string): Promise<InstanceSpec> {
  const inst = await ctx.store.instances.get(instanceId);
  if (!inst) throw new NotFound('instance', [instanceId]);
  const vols = (await Promise.all(inst.volumeIds.map((id) => ctx.store.volumes.get(id)))).filter((v): v is VolumeRecord => !!v);
  const type = knownInstanceType(inst.instanceType);
  const metadata: Record<string, string | Buffer> = {
    'instance-id': inst.id, 'instance-type': inst.instanceType, 'ami-id': inst.imageId, region: inst.region,
    'availability-zone': inst.availabilityZone,
    'reservation-id': inst.reservationId, 'ami-launch-index': String(inst.amiLaunchIndex), 'account-id': inst.account,
  };
  if (inst.userData) metadata['user-data'] = Buffer.from(inst.userData, 'base64');
  if (inst.publicKey) metadata['openssh-key'] = `${inst.publicKey}\n`;
  await mkdir(ctx.paths.consoles, { recursive: true, mode: 0o700 });
  const attrs = await ensureAttributes(ctx, inst);
  const network = {
    vpcId: defaultVpc(inst).vpcId, ip: attrs.privateIp, prefixLength: vpcRange(ctx).prefixLength, gateway: vpcRange(ctx).router,
    mac: macAddress(attrs.networkInterfaceId), firewall: await firewallOf(ctx, attrs),
  };
  metadata['local-ipv4'] = attrs.privateIp;
  metadata.mac = network.mac;
  // As EC2's default (IP name) hostnames: ip-172-31-0-5, the first label of the private DNS name.
  const hostname = privateDnsName(inst.region, attrs.privateIp).split('.')[0];
  metadata.hostname = metadata['local-hostname'] = hostname;
  return {
    id: inst.id, hostname, vcpus: type.vcpus, memoryMiB: type.memoryMiB, metadata, consoleLog: ctx.paths.console(inst.id), network,
    volumes: vols.map((v) => ({ device: v.attachment!.device, path: ctx.paths.volume(v.id), root: v.attachment!.device === inst.rootDeviceName })),
  };
}

/**
 * Boots the instance as recorded now (volumes made), then marks it running,
 * unless a user's action moved it on meanwhile (`from`: the states a boot may
 * end; pending for a start, running for a reboot).
 */
export async function boot(ctx: Context, instanceId: string, from: InstanceState[] = ['pending']): Promise<void> {
  const missing = await ctx.runtime.check();
  if (missing.length) throw new HostUnavailable(`this host cannot run instances: ${missing.join(' ')}`);
  const spec = await instanceSpec(ctx, instanceId);
  for (const v of spec.volumes) await growFilesystem(v.path);
  await ctx.runtime.start(spec);
  await setState(ctx, instanceId, 'running', '', undefined, from);
}

/**
 * Moves the instance to `state` (and tells the listeners), only from the
 * states in `from` when given: a background step never undoes a change a
 * request made meanwhile. `reason` undefined keeps the transition reason.
 * Resolves with the record, or undefined when it was not in `from`.
 */
async function setState(
  ctx: Context, id: string, state: InstanceState, reason: string | undefined, stateReason?: InstanceRecord['stateReason'], from?: InstanceState[],
): Promise<InstanceRecord | undefined> {
  const inst = await ctx.store.transaction(async () => {
    const cur = await ctx.store.instances.get(id);
    if (!cur || (from && !from.includes(cur.state))) return undefined;
    // Once running or terminated, the first boot is over.
    return ctx.store.instances.update(id, ({ launching, ...i }) => ({
      ...i, state, stateTransitionReason: reason ?? i.stateTransitionReason, stateReason, ...(launching && state === 'pending' ? { launching } : {}),
      ...(state === 'terminated' ? { terminatedAt: nowIso() } : {}),
    }));
  });
  if (!inst) return undefined;
  for (const listener of ctx.instanceStateListeners) await listener(inst); // marketplace instance-hours: every move into and out of 'running' passes here
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

export interface StateChange { instanceId: string; previous: InstanceState; current: InstanceState }

type Transition = (ctx: Context, inst: InstanceRecord, opts: { force?: boolean }) => Promise<StateChange>;

/** Applies a lifecycle action to each instance: validates all first, so a bad id changes nothing. */
export async function changeState(ctx: Context, caller: Caller, ids: string[], action: 'stop' | 'start' | 'terminate' | 'reboot', opts: { force?: boolean } = {}) {
  if (!ids.length) throw new Invalid('MissingParameter', 'The request must contain the parameter InstanceId');
  if (action === 'stop' || action === 'terminate') await checkProtection(ctx, caller, ids, action); // disableApiStop, disableApiTermination
  const insts = await visibleInstances(ctx, caller, ids);
  const fn = TRANSITIONS[action];
  for (const inst of insts) checkTransition(inst, action);
  beforeChange(caller);
  if (action === 'start') await checkStartRoom(ctx, insts.filter((i) => i.state === 'stopped'));
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
      await setState(ctx, inst.id, 'stopped', undefined, { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' }, ['stopping']);
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
        await setState(ctx, inst.id, 'stopped', '', { code: 'Server.InternalError', message: `Server.InternalError: ${(err as Error).message}` }, ['pending']);
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
    // A reboot stops init and boots again over the same volumes, growing their filesystems first
    // (a volume grown while the host could not resize it online takes its size here).
    ctx.tasks.start(`reboot ${inst.id}`, () => ctx.locks.run(inst.id, async () => {
      const cur = await ctx.store.instances.get(inst.id);
      if (cur?.state !== 'running') return;
      await ctx.runtime.stop(inst.id);
      try {
        await boot(ctx, inst.id, ['running']); // the record stays running; a stop asked for meanwhile wins
      } catch (err) {
        ctx.log(`kiln: instance ${inst.id} failed to reboot: ${(err as Error).message}`);
        await setState(ctx, inst.id, 'stopped', '', { code: 'Server.InternalError', message: `Server.InternalError: ${(err as Error).message}` }, ['running']);
      }
    }));
    return { instanceId: inst.id, previous: inst.state, current: inst.state };
  },
};

async function finishTermination(ctx: Context, instanceId: string): Promise<void> {
  await ctx.runtime.stop(instanceId);
  await releaseVolumes(ctx, instanceId, false);
  await setState(ctx, instanceId, 'terminated', undefined,
    { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' }, ['shutting-down']);
}

const CONSOLE_TAIL = 64 * 1024;

/**
 * The most recent 64 KiB of what the instance printed. The runtime keeps the
 * console as a bounded ring (the log, and `.1` before it, see libexec/kiln-shim.py):
 * the tail spans both when the log began only just now.
 */
export async function consoleOutput(ctx: Context, caller: Caller, instanceId: string): Promise<Buffer> {
  await visibleInstances(ctx, caller, [instanceId]);
  const file = ctx.paths.console(instanceId);
  const last = await tail(file, CONSOLE_TAIL);
  return last.length < CONSOLE_TAIL ? Buffer.concat([await tail(`${file}.1`, CONSOLE_TAIL - last.length), last]) : last;
}

/** The last `max` bytes of `file` (empty when it does not exist). */
async function tail(file: string, max: number): Promise<Buffer> {
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size <= 0 || max <= 0) return Buffer.alloc(0);
  const start = Math.max(0, size - max);
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A shutdown from inside the instance (poweroff, halt, its init exiting), as
 * the runtime reports it: the instance ends stopped, or terminated when its
 * InstanceInitiatedShutdownBehavior says so, as on AWS. Ignored unless the
 * record says running and the runtime no longer runs it.
 */
export async function guestExited(ctx: Context, instanceId: string): Promise<void> {
  await ctx.locks.run(instanceId, async () => {
    const inst = await ctx.store.instances.get(instanceId);
    if (inst?.state !== 'running' || (await ctx.runtime.state(instanceId)) === 'running') return;
    const { shutdownBehavior } = await ensureAttributes(ctx, inst);
    const reason = { code: 'Client.InstanceInitiatedShutdown', message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' };
    const transition = `Instance initiated shutdown (${new Date().toISOString().slice(0, 19).replace('T', ' ')} GMT)`;
    // Each step only from the state the one before left: a StopInstances or TerminateInstances that
    // raced the exit has moved the record on, and its own task finishes the job.
    if (shutdownBehavior === 'terminate') {
      if (!await setState(ctx, instanceId, 'shutting-down', transition, undefined, ['running'])) return;
      await ctx.runtime.stop(instanceId);
      await releaseVolumes(ctx, instanceId, false);
      await setState(ctx, instanceId, 'terminated', transition, reason, ['shutting-down']);
    } else {
      if (!await setState(ctx, instanceId, 'stopping', transition, undefined, ['running'])) return;
      await ctx.runtime.stop(instanceId);
      await setState(ctx, instanceId, 'stopped', transition, reason, ['stopping']);
    }
  });
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
      // A boot cut short may have mounted its volumes before the container existed: those go first.
      await ctx.runtime.stop(inst.id).catch(() => undefined);
      await failLaunch(ctx, inst.id, new Error('the launch was interrupted by a server restart')).catch((e) => ctx.log(String(e)));
      continue;
    }
    if (inst.state === 'shutting-down') { await finishTermination(ctx, inst.id).catch((e) => ctx.log(String(e))); continue; }
    if (running.has(inst.id)) {
      if (inst.state === 'stopping') await ctx.runtime.stop(inst.id).then(() => setState(ctx, inst.id, 'stopped', ''));
      else if (inst.state !== 'running') await setState(ctx, inst.id, 'running', '');
      continue;
    }
    if (inst.state === 'stopped') continue;
    // A shutdown from inside while Kiln was down: the container is there, its init gone.
    if (inst.state === 'running' && (await ctx.runtime.state(inst.id).catch(() => 'absent')) === 'stopped') {
      await guestExited(ctx, inst.id).catch((e) => ctx.log(String(e)));
      continue;
    }
    await ctx.runtime.stop(inst.id).catch(() => undefined);
    await setState(ctx, inst.id, 'stopped', 'Kiln restarted while the instance was not running',
      { code: 'Server.InternalError', message: 'Server.InternalError: the instance was not running when Kiln restarted' });
  }
}
