/**
 * catalog: Kiln's own images (owner alias amazon), built on the host and
 * registered through the services in every region. Imports model/, services/
 * and blocks/ (docs/architecture.md).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockMap } from '../blocks/blocks.js';
import { snapshotFile } from '../blocks/volume-io.js';
import type { Context } from '../services/core/context.js';
import { insertImage } from '../services/images/images.js';
import { CATALOG_ACCOUNT } from '../model/records.js';
import { snapshotFromMap } from '../services/snapshots/snapshots.js';
import { buildMinimalRootfs, makeExt4Volume } from './minimal-rootfs.js';

export const MINIMAL_PREFIX = 'kiln-minimal-';
const ROOT_DEVICE = '/dev/xvda';
const ROOT_GIB = 1;

export function hostArchitecture(): string {
  return process.arch === 'arm64' ? 'arm64' : 'x86_64';
}

/**
 * Makes sure every served region has Kiln's minimal image (owner alias
 * 'amazon', public): a busybox userland plus Kiln's guest init, built from the
 * host's busybox-static the first time and shared by content in every region.
 */
export async function ensureMinimalImage(ctx: Context): Promise<void> {
  const existing = (await ctx.store.images.list({ account: CATALOG_ACCOUNT }))
    .filter((i) => i.name.startsWith(MINIMAL_PREFIX) && i.state === 'available');
  const missing = ctx.regions.filter((r) => !existing.some((i) => i.region === r));
  if (!missing.length) return;
  let name: string, map: BlockMap | undefined;
  if (existing.length) {
    name = existing[0].name;
    map = await ctx.store.blockMaps.get(existing[0].blockDeviceMappings[0].ebs!.snapshotId!);
  } else {
    name = `${MINIMAL_PREFIX}${hostArchitecture()}-${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`;
  }
  // The blocks written for the map are held from any prune until the snapshots that reference them are stored.
  await ctx.pruner.hold(async () => {
    const rootMap = map ?? await buildMinimalMap(ctx);
    for (const region of missing) {
      const owner = { account: CATALOG_ACCOUNT, region };
      // Each region's image with its snapshot, together.
      await ctx.store.transaction(async () => {
        const snap = await snapshotFromMap(ctx, owner, {
          volumeId: 'vol-ffffffff', volumeSize: ROOT_GIB, description: `Kiln minimal image root volume (${name})`, ownerAlias: 'amazon',
        }, rootMap);
        await insertImage(ctx, owner, {
          name, description: 'Kiln minimal Linux image: busybox userland with a cloud-init style first-boot runner',
          architecture: hostArchitecture(), rootDeviceName: ROOT_DEVICE, state: 'available', isPublic: true, ownerAlias: 'amazon',
          blockDeviceMappings: [{ deviceName: ROOT_DEVICE, ebs: { snapshotId: snap.id, volumeSize: ROOT_GIB, deleteOnTermination: true, volumeType: 'gp3', encrypted: false } }],
        });
      });
    }
  });
  ctx.log(`kiln: catalog image ${name} registered in ${missing.join(', ')}`);
}

async function buildMinimalMap(ctx: Context): Promise<BlockMap> {
  await mkdir(ctx.paths.tmp, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(ctx.paths.tmp, 'catalog-'));
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    await buildMinimalRootfs(rootfs);
    const file = join(work, 'root.img');
    await makeExt4Volume(rootfs, file, ROOT_GIB);
    const { sizeBytes, blocks } = await snapshotFile(file, ctx.blocks);
    return { sizeBytes, blocks };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
