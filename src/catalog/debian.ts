/**
 * Kiln's Debian 12 catalog image (owner alias amazon, public, every region):
 * registered `pending` as the server becomes ready, built in the background
 * (debian-rootfs.ts: mmdebstrap, cached on the host), then `available`. Its
 * progress is the snapshots' Progress and the images' StateReason while it
 * builds; a failed build leaves the images `failed` with the reason, and the
 * next server start tries again (as does an aborted one: a server stopped
 * mid-build leaves them pending).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockMap } from '../blocks/blocks.js';
import { snapshotFile } from '../blocks/volume-io.js';
import type { Context } from '../services/core/context.js';
import { nowIso } from '../services/core/ids.js';
import { insertImage } from '../services/images/images.js';
import { CATALOG_ACCOUNT } from '../model/records.js';
import type { ImageRecord } from '../model/records.js';
import { createPendingSnapshot, snapshotFromMap } from '../services/snapshots/snapshots.js';
import { stagingDir } from '../services/volumes/volumes.js';
import { hostArchitecture } from './catalog.js';
import { debianRootfs } from './debian-rootfs.js';
import { makeExt4Volume } from './minimal-rootfs.js';

export const DEBIAN_PREFIX = 'debian-12-';
const ROOT_DEVICE = '/dev/xvda';
/** As Debian's own AMIs: 8 GiB (only the ~350 MiB written are stored). */
const ROOT_GIB = 8;
const DESCRIPTION = 'Debian 12 (bookworm), built on this host from the Debian archive with mmdebstrap: systemd, openssh-server, cloud-init, sudo; user admin';

export interface DebianImageOptions {
  /** Host cache of built root filesystems, shared by every data directory (default /var/cache/kiln). */
  cacheDir: string;
  /** A Debian mirror URL or apt sources file; default: the host's apt sources. */
  mirror?: string;
}

/** The Debian architecture name of the host's. */
const debianArch = () => (hostArchitecture() === 'arm64' ? 'arm64' : 'amd64');

/**
 * Makes sure every served region has the Debian image, or has it pending
 * with a build under way (started as a task; `signal` aborts it).
 */
export async function ensureDebianImage(ctx: Context, opts: DebianImageOptions, signal: AbortSignal): Promise<void> {
  const prefix = `${DEBIAN_PREFIX}${debianArch()}-`;
  const mine = (await ctx.store.images.list({ account: CATALOG_ACCOUNT }))
    .filter((i) => i.name.startsWith(prefix) && i.state !== 'deregistered');
  const available = mine.filter((i) => i.state === 'available');
  const missing = ctx.regions.filter((r) => !mine.some((i) => i.region === r));
  if (available.length) {
    // Built before: regions added since get it from the stored snapshot, nothing is rebuilt.
    const map = await ctx.store.blockMaps.get(available[0].blockDeviceMappings[0].ebs!.snapshotId!);
    if (map && !mine.some((i) => i.state !== 'available')) {
      if (missing.length) await registerAvailable(ctx, available[0].name, map, missing);
      return;
    }
  }
  // To build: the unfinished ones (pending from an aborted build, failed) and one per missing region.
  const name = mine[0]?.name ?? `${prefix}${nowIso().slice(0, 10).replace(/-/g, '')}`;
  const building = [...mine.filter((i) => i.state !== 'available' && i.name === name)];
  for (const region of missing) building.push(await registerPending(ctx, name, region));
  for (const img of building) await setProgress(ctx, img, 'waiting to start', 0);
  ctx.log(`kiln: building the Debian 12 image ${name} in the background (from the cache in ${opts.cacheDir} when it has one; else mmdebstrap downloads about 100 MB of packages from the Debian archive)`);
  ctx.tasks.start(`build ${name}`, () => build(ctx, opts, building, signal));
}

async function registerPending(ctx: Context, name: string, region: string): Promise<ImageRecord> {
  const owner = { account: CATALOG_ACCOUNT, region };
  return ctx.store.transaction(async () => {
    const snap = await createPendingSnapshot(ctx, owner, {
      volumeId: 'vol-ffffffff', volumeSize: ROOT_GIB, description: `Debian 12 root volume (${name})`, ownerAlias: 'amazon',
    });
    return insertImage(ctx, owner, {
      name, description: DESCRIPTION, architecture: hostArchitecture(), rootDeviceName: ROOT_DEVICE, state: 'pending',
      isPublic: true, ownerAlias: 'amazon', blockDeviceMappings: [rootMapping(snap.id)],
    });
  });
}

async function registerAvailable(ctx: Context, name: string, map: BlockMap, regions: string[]): Promise<void> {
  await ctx.pruner.hold(async () => {
    for (const region of regions) {
      const owner = { account: CATALOG_ACCOUNT, region };
      await ctx.store.transaction(async () => {
        const snap = await snapshotFromMap(ctx, owner, {
          volumeId: 'vol-ffffffff', volumeSize: ROOT_GIB, description: `Debian 12 root volume (${name})`, ownerAlias: 'amazon',
        }, map);
        await insertImage(ctx, owner, {
          name, description: DESCRIPTION, architecture: hostArchitecture(), rootDeviceName: ROOT_DEVICE, state: 'available',
          isPublic: true, ownerAlias: 'amazon', blockDeviceMappings: [rootMapping(snap.id)],
        });
      });
    }
  });
  ctx.log(`kiln: catalog image ${name} registered in ${regions.join(', ')}`);
}

const rootMapping = (snapshotId: string) => ({
  deviceName: ROOT_DEVICE, ebs: { snapshotId, volumeSize: ROOT_GIB, deleteOnTermination: true, volumeType: 'gp3', encrypted: false },
});

async function build(ctx: Context, opts: DebianImageOptions, images: ImageRecord[], signal: AbortSignal): Promise<void> {
  const started = Date.now();
  let last = -1;
  const phase = async (what: string, percent: number) => {
    if (percent === last) return;
    last = percent;
    ctx.log(`kiln: Debian 12 image: ${what} (${percent}%)`);
    for (const img of images) await setProgress(ctx, img, what, percent);
  };
  // In the pool where it clones: the built volume becomes the snapshots' base, so the first launch is a clone too.
  const work = await mkdtemp(join(await stagingDir(ctx), 'debian-'));
  try {
    const rootfs = await debianRootfs({
      cacheDir: opts.cacheDir, arch: debianArch(), mirror: opts.mirror, signal,
      onPhase: (what, percent) => void phase(what, percent).catch(() => undefined),
    });
    signal.throwIfAborted();
    await phase(rootfs.cached ? `making the root volume (root filesystem from the cache ${rootfs.path})` : 'making the root volume', 85);
    const file = join(work, 'root.img');
    await makeExt4Volume(rootfs.path, file, ROOT_GIB);
    signal.throwIfAborted();
    await phase('storing the root volume snapshot', 92);
    await ctx.pruner.hold(async () => {
      const { sizeBytes, blocks } = await snapshotFile(file, ctx.blocks);
      await ctx.store.transaction(async () => {
        for (const img of images) {
          const snapshotId = img.blockDeviceMappings[0].ebs!.snapshotId!;
          await ctx.pool.forget(snapshotId); // a base of an earlier build of this snapshot must not outlive its data
          await ctx.store.blockMaps.put(snapshotId, { sizeBytes, blocks });
          await ctx.store.snapshots.update(snapshotId, (s) => ({ ...s, state: 'completed', progress: '100%', completionTime: nowIso(), dataBytes: 0 }));
          await ctx.store.images.update(img.id, (i) => ({ ...i, state: 'available', stateReason: undefined }));
        }
      });
    });
    const [first, ...others] = images.map((i) => i.blockDeviceMappings[0].ebs!.snapshotId!);
    // Bases are an optimisation: failing to make them leaves the (available) images as they are.
    await (async () => { if (await ctx.pool.adopt(first, file)) for (const s of others) await ctx.pool.shareBase(first, s); })()
      .catch((err: Error) => ctx.log(`kiln: no base for the Debian image's snapshots: ${err.message}`));
    ctx.log(`kiln: catalog image ${images[0].name} available in ${images.map((i) => i.region).join(', ')} (built in ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } catch (err) {
    if (signal.aborted) {
      ctx.log('kiln: Debian 12 image build stopped with the server; the next start goes on with it');
      return;
    }
    const message = `Building the image failed: ${(err as Error).message}. Kiln tries again at its next start ('kiln doctor' checks the host).`;
    ctx.log(`kiln: ${message}`);
    for (const img of images) {
      await ctx.store.images.update(img.id, (i) => ({ ...i, state: 'failed', stateReason: { code: 'Server.InternalError', message } }));
      await ctx.store.snapshots.update(img.blockDeviceMappings[0].ebs!.snapshotId!, (s) => ({ ...s, state: 'error', stateMessage: message }));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function setProgress(ctx: Context, img: ImageRecord, what: string, percent: number): Promise<void> {
  const message = `Building on this host: ${what} (${percent}%)`;
  await ctx.store.images.update(img.id, (i) => ({ ...i, state: 'pending', stateReason: { code: 'pending', message } }));
  await ctx.store.snapshots.update(img.blockDeviceMappings[0].ebs!.snapshotId!, (s) => ({ ...s, state: 'pending', progress: `${percent}%`, stateMessage: undefined }));
}
