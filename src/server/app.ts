/**
 * Assembles a Kiln server from its parts (store, block store, runtime) over a
 * data directory, and starts the background work (catalog, reconciliation).
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BlockStore } from '../blocks/blocks.js';
import { PackBlockStore } from '../blocks/pack/pack-store.js';
import { removeTempFiles } from '../blocks/volume-io.js';
import { ensureMinimalImage } from '../catalog/catalog.js';
export type { DebianImageOptions } from '../catalog/debian.js';
import type { DebianImageOptions } from '../catalog/debian.js';
import { ensureDebianImage } from '../catalog/debian.js';
import { RuncDriver } from '../runtime/runc/runc-driver.js';
import type { RuntimeDriver } from '../runtime/runtime.js';
import { failInterruptedCaptures } from '../services/instances/capture.js';
import { closeUploads, withUploadBlocks } from '../services/snapshots/direct-state.js';
import { KeyedMutex, Tasks } from '../services/core/concurrency.js';
import type { Context } from '../services/core/context.js';
import { Paths } from '../services/core/context.js';
import { guestExited, reconcileInstances } from '../services/instances/instances.js';
import { DEFAULT_ACCOUNT } from '../model/records.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { meterInstance } from '../services/marketplace/marketplace.js';
import { Pruner } from '../blocks/prune.js';
import type { PoolOptions } from '../blocks/pool.js';
import { VolumePool } from '../blocks/pool.js';
import type { CapacityOptions } from './capacity-options.js';
import { capacityFromEnv } from './capacity-options.js';
import { enforce } from '../services/network/security-groups.js';
import { HostNetwork } from '../runtime/net/host-network.js';
import { vpcRange } from '../services/network/network.js';
import type { Reconciler } from '../services/scaling/reconciler.js';
import { startScaling } from '../services/scaling/reconciler.js';
import { kickScaling } from '../services/scaling/wake.js';
import { secureDataDir, tightenDataDir } from './data-dir.js';
import type { Imds } from './imds.js';
import { startImds } from './imds.js';

export const DEFAULT_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-central-1', 'eu-north-1',
  'ap-southeast-1', 'ap-southeast-2', 'ap-northeast-1', 'ap-south-1', 'ca-central-1', 'sa-east-1',
];

export interface AppOptions {
  dataDir: string;
  regions?: string[];
  log?: (msg: string) => void;
  /** Replaces the runc driver (tests of the API without a host runtime). */
  runtime?: RuntimeDriver;
  blocks?: BlockStore;
  /** The Debian 12 catalog image, built in the background once ready; absent or false: none (`kiln serve` asks for it). */
  debian?: DebianImageOptions | false;
  /** Instances reach the outside through NAT (masquerade) on the host; off unless asked (`kiln serve` asks). */
  nat?: boolean;
  /** The range of every default VPC, a private /16 (default AWS's 172.31.0.0/16). */
  vpcCidr?: string;
  /** The volume pool: 'auto' clones volumes from per-snapshot bases where it can (`kiln serve`'s default), 'copy' restores them in full. */
  pool?: PoolOptions['mode'];
  /** The XFS pool file's size in GiB (made sparse; a larger size grows it at start). Default: 90% of the free space. */
  poolSizeGiB?: number;
  /** The key that seals the secret access keys in kiln.db (made if absent); default <data dir>/kiln.key. */
  keyFile?: string;
  /** How far instances and volumes may claim the host (memory and pool overcommit, processes per vCPU); default: kilnCapacity() of the environment. */
  capacity?: CapacityOptions;
}

/** Where built root filesystems are cached, for every data directory on the host. */
export const DEFAULT_CACHE_DIR = '/var/cache/kiln';

export interface App {
  ctx: Context;
  /** Resolves when the catalog image is registered and instances are reconciled. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const paths = new Paths(opts.dataDir);
  await secureDataDir(paths);
  const log = opts.log ?? ((m: string) => console.error(m));
  const store = new SqliteStore(paths.db, { keyFile: opts.keyFile });
  const blocks = opts.blocks ?? await PackBlockStore.open(paths.blocks, { masterKeyFile: paths.masterKey });
  // Before anything reads a volume: a loop pool is mounted where the volumes live.
  const pool = await VolumePool.open(paths.volumes, { mode: opts.pool ?? 'copy', poolFile: paths.poolFile, sizeGiB: opts.poolSizeGiB });
  if (opts.pool === 'auto') log(`kiln: volume pool: ${pool.mode} (${pool.reason})`);
  const capacity = opts.capacity ?? capacityFromEnv();
  const ctx: Context = {
    store, paths, log, blocks, pool,
    // Blocks of EBS direct API uploads in progress are live too: no map references them until CompleteSnapshot.
    pruner: new Pruner(blocks, () => store.blockMaps.liveHashes(), log, async () => withUploadBlocks(ctx, new Set())),
    runtime: opts.runtime ?? new RuncDriver({ stateDir: paths.runtime, nat: opts.nat, pids: capacity.pids }),
    regions: opts.regions ?? DEFAULT_REGIONS,
    tasks: new Tasks(log),
    locks: new KeyedMutex(),
    instanceStateListeners: [],
    vpcCidr: opts.vpcCidr,
    capacity,
  };
  // A bad range stops the start here, with the reason.
  try { vpcRange(ctx); } catch (err) { await store.close(); throw new Error(`kiln: ${(err as Error).message}`); }
  // Marketplace instance-hours follow each instance into and out of 'running'.
  ctx.instanceStateListeners.push((inst) => meterInstance(ctx, inst));
  // Security groups that reference a group follow its members as they come and go.
  ctx.instanceStateListeners.push(async (inst) => {
    if (['running', 'stopped', 'terminated'].includes(inst.state)) ctx.tasks.start(`firewalls ${inst.account}`, () => enforce(ctx, inst));
  });
  // Auto Scaling groups hear of their instances' changes at once (a stop, a shutdown from inside).
  ctx.instanceStateListeners.push(async () => kickScaling(ctx));
  await ensureDefaultAccount(ctx);
  let scaling: Reconciler | undefined;
  let unwatch: (() => void) | undefined;
  let imds: Imds | undefined;
  const stopping = new AbortController();
  const debian = opts.debian ?? false;
  const ready = (async () => {
    // Temporary files a crash left behind (restores and copies beside volumes; captures and
    // catalog builds in the scratch directory, all of it Kiln's own); nothing is writing them yet.
    await removeTempFiles(paths.volumes);
    await removeTempFiles(join(paths.volumes, '.bases'));
    if (pool.stagingDir) await rm(pool.stagingDir, { recursive: true, force: true });
    await rm(paths.tmp, { recursive: true, force: true });
    const tightened = await tightenDataDir(paths);
    if (tightened.changed) log(`kiln: ${tightened.changed} of ${tightened.entries} files and directories in ${paths.dataDir} were open to other users: now 0600/0700`);
    await failInterruptedCaptures(ctx);
    await reconcileInstances(ctx);
    imds = await startMetadataService(ctx, !!opts.nat);
    // From now on a shutdown from inside an instance is seen as it happens.
    unwatch = ctx.runtime.watchExits?.((id) => ctx.tasks.start(`guest exit ${id}`, () => guestExited(ctx, id)));
    scaling = startScaling(ctx);
    await ensureMinimalImage(ctx).catch((err: Error) =>
      log(`kiln: could not build the minimal catalog image (${err.message}); run 'kiln doctor'`));
    // Blocks a crash left unreferenced (mid-delete, mid-prune) go now, in the background.
    ctx.pruner.request();
    if (debian) {
      await ensureDebianImage(ctx, debian, stopping.signal).catch((err: Error) =>
        log(`kiln: could not start the Debian 12 image build (${err.message}); run 'kiln doctor'`));
    }
  })();
  return {
    ctx, ready,
    close: async () => {
      stopping.abort();
      await ready.catch(() => undefined);
      unwatch?.();
      closeUploads(ctx);
      await scaling?.stop();
      await imds?.close();
      await ctx.tasks.idle();
      await ctx.pruner.idle();
      await store.close();
      await blocks.close();
    },
  };
}

async function ensureDefaultAccount(ctx: Context): Promise<void> {
  if (await ctx.store.accounts.get(DEFAULT_ACCOUNT)) return;
  await ctx.store.accounts.put({
    id: DEFAULT_ACCOUNT, keys: [{ accessKeyId: 'test', secretAccessKey: 'test', createdAt: new Date().toISOString() }],
  });
}

/**
 * The metadata listener on the server's own metadata address, and every running
 * instance's 169.254.169.254 pointed at it (its port is new at each start).
 * Without it (no root, no ip) instances have no metadata service; the rest works.
 */
async function startMetadataService(ctx: Context, nat: boolean): Promise<Imds | undefined> {
  try {
    // The server's own address (from its runtime directory, as its bridges and tables): only its guests reach it.
    const net = new HostNetwork({ nat, scope: resolve(ctx.paths.runtime) });
    const address = await net.ensureMetadataAddress();
    const listener = await startImds(ctx, address);
    // Closing with no instance left, the server takes its tables, bridges and metadata device with it.
    const imds = { ...listener, close: async () => { await listener.close(); await net.releaseIfIdle().catch(() => undefined); } };
    ctx.metadataEndpoint = { address, port: imds.port };
    const owners = new Map((await ctx.store.instances.list()).filter((i) => i.state === 'running').map((i) => [`${i.account}/${i.region}`, i]));
    for (const inst of owners.values()) await enforce(ctx, inst);
    return imds;
  } catch (err) {
    ctx.log(`kiln: no instance metadata service on this host (${(err as Error).message})`);
    return undefined;
  }
}

/** The volume pool `kiln serve` would use over `dataDir` (for `kiln doctor`). */
export function predictPool(dataDir: string): Promise<{ mode: string; reason: string }> {
  const paths = new Paths(dataDir);
  return VolumePool.predict(paths.volumes, paths.poolFile);
}
