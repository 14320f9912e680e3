/**
 * The image lifecycle through the services: RegisterImage from snapshots,
 * CopyImage between regions (pending until its snapshot data is copied),
 * ancestry, deprecation, disable/enable, deregistration protection,
 * deregistration with the image's snapshots, quotas, block public access and
 * Allowed AMIs. Errors are checked by the AWS code the API edge gives them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { toApiError } from '../../api/errors.js';
import type { App } from '../../server/app.js';
import { createApp } from '../../server/app.js';
import { tempDirs } from '../../../test/temp.js';
import type { Caller } from '../core/context.js';
import { copyImage, imageAncestry, registerImage } from './image-copy.js';
import type { RegisterRequest } from './image-copy.js';
import { checkImageQuota, checkPublicImageQuota, MAX_IMAGES_PER_REGION } from '../core/quotas.js';
import {
  deregisterImage, disableDeprecation, disableImage, disableProtection, enableDeprecation,
  enableImage, enableProtection, isProtected, protectionLabel,
} from './image-lifecycle.js';
import {
  allowedImagesPolicy, checkPublicSharing, getAllowedImages, getBlockPublicAccess, isImageAllowed, isPublicSharingBlocked,
  launchAudit, replaceImageCriteria, setAllowedImagesState, setBlockPublicAccess,
} from './image-settings.js';
import { launchableImage, visibleImages } from './images.js';
import { runInstances as run } from '../instances/launch.js';
import type { ImageRecord } from '../../model/records.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { imagesUsingSnapshot, snapshotFromMap } from '../snapshots/snapshots.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';

/** RunInstances' records (the service answers with their details). */
const runInstances = async (...a: Parameters<typeof run>) => (await run(...a)).map((d) => d.inst);


const me: Caller = { account: '000000000000', region: 'us-east-1' };
const meWest: Caller = { ...me, region: 'eu-west-1' };
const other: Caller = { account: '222200000004', region: 'us-east-1' };
let app: App;
let catalog: ImageRecord;
let names = 0;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return toApiError(err).code; }
}

/** A completed snapshot owned by `owner`, holding the catalog image's root filesystem. */
async function ownSnapshot(owner: Caller = me, encrypted = false): Promise<string> {
  const map = (await app.ctx.store.blockMaps.get(catalog.blockDeviceMappings[0].ebs!.snapshotId!))!;
  const snap = await snapshotFromMap(app.ctx, owner, { volumeId: 'vol-ffffffff', volumeSize: 1, description: 'test' }, map);
  if (encrypted) await app.ctx.store.snapshots.update(snap.id, (s) => ({ ...s, encrypted: true }));
  return snap.id;
}

const reg = (snapshotId: string, extra: Partial<RegisterRequest> = {}): RegisterRequest => ({
  name: `reg-${++names}`, rootDeviceName: '/dev/xvda', blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { snapshotId } }], ...extra,
});

const settle = () => app.ctx.tasks.idle();

after(async () => { await app.close(); });

// Registered after the hook that stops the server, so its directories are removed only once nothing runs in them.
const newDir = tempDirs('kiln-lifecycle-');

before(async () => {
  app = await createApp({ dataDir: await newDir(), regions: ['us-east-1', 'eu-west-1'], runtime: new RecordingRuntime(), log: () => undefined });
  await app.ready;
  catalog = (await visibleImages(app.ctx, me)).find((i) => i.account === CATALOG_ACCOUNT)!;
});

describe('RegisterImage', () => {
  test('registers an available image from a snapshot, with AWS defaults', async () => {
    const snap = await ownSnapshot();
    const img = await registerImage(app.ctx, me, reg(snap, { description: 'from a snapshot', tags: [{ key: 'k', value: 'v' }] }));
    assert.equal(img.state, 'available');
    assert.equal(img.architecture, 'x86_64');
    assert.equal(img.enaSupport, false);
    assert.deepEqual(img.blockDeviceMappings, [{
      deviceName: '/dev/xvda', ebs: { snapshotId: snap, volumeSize: 1, deleteOnTermination: true, volumeType: 'gp2', encrypted: false },
    }]);
    assert.deepEqual(img.tags, [{ key: 'k', value: 'v' }]);
    assert.equal((await launchableImage(app.ctx, me, img.id)).id, img.id);
  });

  test('keeps what was asked: architecture, boot mode, ENA, IMDS, sizes and extra volumes', async () => {
    const snap = await ownSnapshot();
    const img = await registerImage(app.ctx, me, reg(snap, {
      architecture: 'arm64', bootMode: 'uefi', enaSupport: true, imdsSupport: 'v2.0',
      blockDeviceMappings: [
        { deviceName: '/dev/xvda', ebs: { snapshotId: snap, volumeSize: 4, volumeType: 'gp3', deleteOnTermination: false } },
        { deviceName: '/dev/sdf', ebs: { volumeSize: 2 } },
        { deviceName: '/dev/sdg', noDevice: true },
      ],
    }));
    assert.deepEqual([img.architecture, img.bootMode, img.enaSupport, img.imdsSupport], ['arm64', 'uefi', true, 'v2.0']);
    assert.equal(img.blockDeviceMappings[0].ebs!.volumeSize, 4);
    assert.equal(img.blockDeviceMappings[1].ebs!.snapshotId, undefined);
    assert.equal(img.blockDeviceMappings[2].noDevice, true);
  });

  test('refuses what AWS refuses', async () => {
    const snap = await ownSnapshot();
    const theirs = await ownSnapshot(other);
    const cases: Array<[string, RegisterRequest]> = [
      ['InvalidBlockDeviceMapping', reg(snap, { rootDeviceName: '/dev/sda1' })],
      ['InvalidBlockDeviceMapping', reg(snap, { blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { volumeSize: 8 } }] })],
      ['InvalidBlockDeviceMapping', reg(snap, { blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { snapshotId: snap, volumeSize: 0 } }] })],
      ['InvalidBlockDeviceMapping', reg(snap, {
        blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { snapshotId: snap } }, { deviceName: '/dev/xvda', ebs: { volumeSize: 1 } }],
      })],
      ['InvalidSnapshot.NotFound', reg(theirs)],
      ['InvalidSnapshot.NotFound', reg('snap-0123456789abcdef0')],
      ['InvalidSnapshotID.Malformed', reg('snap-nope')],
      ['InvalidParameterValue', reg(snap, { architecture: 'sparc' })],
      ['InvalidParameterValue', reg(snap, { bootMode: 'bios' })],
      ['InvalidParameterValue', reg(snap, { imdsSupport: 'v1.0' })],
      ['MissingParameter', reg(snap, { rootDeviceName: undefined })],
      ['MissingParameter', reg(snap, { name: undefined })],
      ['InvalidAMIName.Malformed', reg(snap, { name: 'x' })],
      ['UnsupportedOperation', reg(snap, { imageLocation: 'bucket/manifest.xml' })],
    ];
    for (const [code, req] of cases) assert.equal(await codeOf(registerImage(app.ctx, me, req)), code, JSON.stringify(req));
    const first = await registerImage(app.ctx, me, reg(snap));
    assert.equal(await codeOf(registerImage(app.ctx, me, reg(snap, { name: first.name }))), 'InvalidAMIName.Duplicate');
  });

  test('a snapshot still pending cannot be registered', async () => {
    const snap = await ownSnapshot();
    await app.ctx.store.snapshots.update(snap, (s) => ({ ...s, state: 'pending' }));
    assert.equal(await codeOf(registerImage(app.ctx, me, reg(snap))), 'IncorrectState');
  });
});

describe('CopyImage', () => {
  test('copies a public image into another region: pending, then available with its own snapshots over the same blocks', async () => {
    const copy = await copyImage(app.ctx, meWest, { sourceRegion: 'us-east-1', sourceImageId: catalog.id, name: 'copied-minimal' });
    assert.equal(copy.state, 'pending');
    assert.deepEqual([copy.account, copy.region, copy.sourceImageId, copy.sourceImageRegion], [me.account, 'eu-west-1', catalog.id, 'us-east-1']);
    await settle();
    const done = (await app.ctx.store.images.get(copy.id))!;
    assert.equal(done.state, 'available');
    const snapId = done.blockDeviceMappings[0].ebs!.snapshotId!;
    const snap = (await app.ctx.store.snapshots.get(snapId))!;
    assert.deepEqual([snap.account, snap.region, snap.state, snap.sourceSnapshotId], [me.account, 'eu-west-1', 'completed', catalog.blockDeviceMappings[0].ebs!.snapshotId]);
    assert.match(snap.description, new RegExp(`Copied for DestinationAmi ${copy.id} from SourceAmi ${catalog.id}`));
    assert.deepEqual(await app.ctx.store.blockMaps.get(snapId), await app.ctx.store.blockMaps.get(snap.sourceSnapshotId!));
    assert.equal(done.isPublic, false, 'launch permissions are not copied');
    assert.equal((await launchableImage(app.ctx, meWest, copy.id)).id, copy.id);
  });

  test('tags only with CopyImageTags; product codes kept; Name and Description as given', async () => {
    const src = await registerImage(app.ctx, me, reg(await ownSnapshot(), { tags: [{ key: 'team', value: 'a' }], description: 'src' }));
    await app.ctx.store.images.update(src.id, (r) => ({ ...r, productCodes: [{ code: 'abc123', type: 'marketplace' }] }));
    const plain = await copyImage(app.ctx, meWest, { sourceRegion: 'us-east-1', sourceImageId: src.id, name: `plain-${++names}` });
    const tagged = await copyImage(app.ctx, meWest, {
      sourceRegion: 'us-east-1', sourceImageId: src.id, name: `tagged-${++names}`, description: 'mine', copyImageTags: true,
      imageTags: [{ key: 'extra', value: '1' }], snapshotTags: [{ key: 's', value: '2' }],
    });
    await settle();
    assert.deepEqual(plain.tags, []);
    assert.equal(plain.description, 'src');
    assert.deepEqual(tagged.tags, [{ key: 'team', value: 'a' }, { key: 'extra', value: '1' }]);
    assert.equal(tagged.description, 'mine');
    assert.deepEqual(tagged.productCodes, [{ code: 'abc123', type: 'marketplace' }]);
    const snap = (await app.ctx.store.snapshots.get(tagged.blockDeviceMappings[0].ebs!.snapshotId!))!;
    assert.deepEqual(snap.tags, [{ key: 's', value: '2' }]);
  });

  test('ClientToken: same request, same image; different request, IdempotentParameterMismatch', async () => {
    const req = { sourceRegion: 'us-east-1', sourceImageId: catalog.id, name: `idem-${++names}`, clientToken: 'tok-1' };
    const a = await copyImage(app.ctx, meWest, req);
    const b = await copyImage(app.ctx, meWest, req);
    assert.equal(a.id, b.id);
    assert.equal(await codeOf(copyImage(app.ctx, meWest, { ...req, description: 'other' })), 'IdempotentParameterMismatch');
    await settle();
  });

  test('an encrypted source never gives an unencrypted copy; Encrypted=true encrypts', async () => {
    const enc = await registerImage(app.ctx, me, reg(await ownSnapshot(me, true)));
    assert.equal(enc.blockDeviceMappings[0].ebs!.encrypted, true);
    const c1 = await copyImage(app.ctx, me, { sourceRegion: 'us-east-1', sourceImageId: enc.id, name: `enc-${++names}`, encrypted: false });
    const c2 = await copyImage(app.ctx, me, { sourceRegion: 'us-east-1', sourceImageId: catalog.id, name: `enc-${++names}`, encrypted: true });
    await settle();
    for (const c of [c1, c2]) {
      assert.equal(c.blockDeviceMappings[0].ebs!.encrypted, true);
      assert.equal((await app.ctx.store.snapshots.get(c.blockDeviceMappings[0].ebs!.snapshotId!))!.encrypted, true);
    }
  });

  test('the caller must be able to launch the source; regions must exist', async () => {
    const theirs = await registerImage(app.ctx, other, reg(await ownSnapshot(other)));
    const base = { sourceRegion: 'us-east-1', name: `bad-${++names}` };
    assert.equal(await codeOf(copyImage(app.ctx, meWest, { ...base, sourceImageId: theirs.id })), 'InvalidAMIID.NotFound');
    assert.equal(await codeOf(copyImage(app.ctx, meWest, { ...base, sourceImageId: 'ami-nope' })), 'InvalidAMIID.Malformed');
    assert.equal(await codeOf(copyImage(app.ctx, meWest, { ...base, sourceRegion: 'mars-1', sourceImageId: catalog.id })), 'InvalidRegion');
    assert.equal(await codeOf(copyImage(app.ctx, meWest, { ...base, sourceImageId: catalog.id, kmsKeyId: 'k' })), 'InvalidParameterDependency');
  });

  test('a copy whose source data vanishes fails with a reason', async () => {
    const src = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    await app.ctx.store.blockMaps.delete(src.blockDeviceMappings[0].ebs!.snapshotId!);
    const copy = await copyImage(app.ctx, me, { sourceRegion: 'us-east-1', sourceImageId: src.id, name: `lost-${++names}` });
    await settle();
    const failed = (await app.ctx.store.images.get(copy.id))!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.stateReason?.code, 'Client.SnapshotError');
    assert.equal((await app.ctx.store.snapshots.get(failed.blockDeviceMappings[0].ebs!.snapshotId!))!.state, 'error');
  });

  test('a copy the full disk cuts short fails with a reason that names no host path, its snapshot in error', async () => {
    const src = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    const maps = app.ctx.store.blockMaps;
    const put = maps.put;
    maps.put = async () => { throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }); };
    try {
      const copy = await copyImage(app.ctx, me, { sourceRegion: 'us-east-1', sourceImageId: src.id, name: `full-${++names}` });
      await settle();
      const failed = (await app.ctx.store.images.get(copy.id))!;
      assert.deepEqual([failed.state, failed.stateReason?.code], ['failed', 'Server.InternalError']);
      assert.doesNotMatch(failed.stateReason!.message, /\//);
      assert.equal((await app.ctx.store.snapshots.get(failed.blockDeviceMappings[0].ebs!.snapshotId!))!.state, 'error');
    } finally {
      maps.put = put;
    }
  });

  test('GetImageAncestry walks back through copies to the root', async () => {
    const c1 = await copyImage(app.ctx, meWest, { sourceRegion: 'us-east-1', sourceImageId: catalog.id, name: `anc-${++names}` });
    await settle();
    const c2 = await copyImage(app.ctx, me, { sourceRegion: 'eu-west-1', sourceImageId: c1.id, name: `anc-${++names}` });
    await settle();
    const chain = await imageAncestry(app.ctx, me, c2.id);
    assert.deepEqual(chain.map((e) => [e.imageId, e.sourceImageId, e.sourceImageRegion]), [
      [c2.id, c1.id, 'eu-west-1'], [c1.id, catalog.id, 'us-east-1'], [catalog.id, undefined, undefined],
    ]);
    assert.equal(chain[2].imageOwnerAlias, 'amazon');
  });
});

describe('retirement', () => {
  test('deprecation: rounded to the minute, must be in the future; disabling clears it', async () => {
    const img = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    const at = new Date(Date.now() + 3_600_000 + 31_000);
    const time = await enableDeprecation(app.ctx, me, img.id, at);
    assert.equal(time, new Date(Math.round(at.getTime() / 60_000) * 60_000).toISOString());
    assert.equal((await app.ctx.store.images.get(img.id))!.deprecationTime, time);
    assert.equal(await codeOf(enableDeprecation(app.ctx, me, img.id, new Date(Date.now() - 60_000))), 'InvalidParameterValue');
    assert.equal(await codeOf(enableDeprecation(app.ctx, me, img.id, new Date(Date.now() + 11 * 365 * 86_400_000))), 'InvalidParameterValue');
    await disableDeprecation(app.ctx, me, img.id);
    assert.equal((await app.ctx.store.images.get(img.id))!.deprecationTime, undefined);
  });

  test('disable removes every launch permission; enable does not restore them', async () => {
    const img = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    await app.ctx.store.images.update(img.id, (r) => ({
      ...r, isPublic: true, launchPermission: { userIds: ['111122223333'], organizationArns: [], organizationalUnitArns: [] },
    }));
    await disableImage(app.ctx, me, img.id);
    let rec = (await app.ctx.store.images.get(img.id))!;
    assert.deepEqual([rec.state, rec.isPublic, rec.launchPermission?.userIds], ['disabled', false, []]);
    assert.ok(rec.disabledAt);
    assert.equal(await codeOf(launchableImage(app.ctx, me, img.id)), 'InvalidAMIID.Unavailable');
    await disableImage(app.ctx, me, img.id);
    await enableImage(app.ctx, me, img.id);
    rec = (await app.ctx.store.images.get(img.id))!;
    assert.deepEqual([rec.state, rec.isPublic, rec.launchPermission?.userIds], ['available', false, []]);
  });

  test('only the owner retires an image', async () => {
    for (const op of [disableImage, enableImage, disableDeprecation]) {
      assert.equal(await codeOf(op(app.ctx, me, catalog.id)), 'AuthFailure');
    }
    assert.equal(await codeOf(deregisterImage(app.ctx, me, catalog.id)), 'AuthFailure');
    assert.equal(await codeOf(disableImage(app.ctx, me, 'ami-0123456789abcdef0')), 'InvalidAMIID.NotFound');
  });

  test('deregistration protection blocks DeregisterImage; with cooldown it holds 24 hours after disabling', async () => {
    const img = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    assert.equal(await enableProtection(app.ctx, me, img.id, false), 'enabled-without-cooldown');
    assert.equal(await codeOf(deregisterImage(app.ctx, me, img.id)), 'OperationNotPermitted');
    assert.equal(await disableProtection(app.ctx, me, img.id), 'disabled');
    assert.equal(protectionLabel((await app.ctx.store.images.get(img.id))!), 'disabled');

    assert.equal(await enableProtection(app.ctx, me, img.id, true), 'enabled-with-cooldown');
    await disableProtection(app.ctx, me, img.id);
    const rec = (await app.ctx.store.images.get(img.id))!;
    assert.ok(isProtected(rec));
    assert.match(protectionLabel(rec), /^disabled after \d{4}-/);
    assert.ok(Date.parse(rec.deregistrationProtectionUntil!) - Date.now() > 23 * 3_600_000);
    assert.equal(await codeOf(deregisterImage(app.ctx, me, img.id)), 'OperationNotPermitted');
    await app.ctx.store.images.update(img.id, (r) => ({ ...r, deregistrationProtectionUntil: new Date(Date.now() - 1000).toISOString() }));
    await deregisterImage(app.ctx, me, img.id);
  });

  test('a deregistered image answers InvalidAMIID.Unavailable for a while', async () => {
    const img = await registerImage(app.ctx, me, reg(await ownSnapshot()));
    assert.equal(await deregisterImage(app.ctx, me, img.id), undefined);
    assert.equal(await codeOf(launchableImage(app.ctx, me, img.id)), 'InvalidAMIID.Unavailable');
    assert.equal(await codeOf(deregisterImage(app.ctx, me, img.id)), 'InvalidAMIID.Unavailable');
    assert.equal(await codeOf(enableProtection(app.ctx, me, img.id, false)), 'InvalidAMIID.Unavailable');
    const again = await registerImage(app.ctx, me, reg(await ownSnapshot(), { name: img.name }));
    assert.notEqual(again.id, img.id, 'the name is free again');
  });

  test('DeleteAssociatedSnapshots deletes what no other image uses, skips the rest', async () => {
    const shared = await ownSnapshot();
    const own = await ownSnapshot();
    const a = await registerImage(app.ctx, me, reg(shared, {
      blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { snapshotId: shared } }, { deviceName: '/dev/sdf', ebs: { snapshotId: own } }],
    }));
    const b = await registerImage(app.ctx, me, reg(shared));
    assert.deepEqual((await imagesUsingSnapshot(app.ctx, shared)).map((i) => i.id).sort(), [a.id, b.id].sort());
    const res = await deregisterImage(app.ctx, me, a.id, { deleteSnapshots: true });
    assert.deepEqual(res, [{ snapshotId: shared, returnCode: 'skipped' }, { snapshotId: own, returnCode: 'success' }]);
    assert.equal(await app.ctx.store.snapshots.get(own), undefined);
    assert.ok(await app.ctx.store.snapshots.get(shared));
    assert.deepEqual(await deregisterImage(app.ctx, me, b.id, { deleteSnapshots: true }), [{ snapshotId: shared, returnCode: 'success' }]);
    assert.deepEqual(await imagesUsingSnapshot(app.ctx, shared), []);
  });
});

describe('quotas', () => {
  test('images per region and public images per region', async () => {
    await checkImageQuota(app.ctx, me);
    assert.equal(await codeOf(checkImageQuota(app.ctx, me, MAX_IMAGES_PER_REGION)), 'ResourceLimitExceeded');
    const pub: Caller = { account: '333300000000', region: 'us-east-1' };
    for (let i = 0; i < 5; i++) {
      await checkPublicImageQuota(app.ctx, pub);
      const img = await registerImage(app.ctx, pub, reg(await ownSnapshot(pub)));
      await app.ctx.store.images.update(img.id, (r) => ({ ...r, isPublic: true }));
    }
    assert.equal(await codeOf(checkPublicImageQuota(app.ctx, pub)), 'ResourceLimitExceeded');
    await checkPublicImageQuota(app.ctx, { ...pub, region: 'eu-west-1' });
  });
});

describe('account settings', () => {
  test('block public access: per account and region, unblocked until enabled', async () => {
    const who: Caller = { account: '444400000000', region: 'us-east-1' };
    assert.equal(await getBlockPublicAccess(app.ctx, who), 'unblocked');
    await setBlockPublicAccess(app.ctx, who, 'block-new-sharing');
    assert.equal(await isPublicSharingBlocked(app.ctx, who), true);
    assert.equal(await isPublicSharingBlocked(app.ctx, { ...who, region: 'eu-west-1' }), false);
    assert.equal(await isPublicSharingBlocked(app.ctx, me), false);
    assert.equal(await codeOf(checkPublicSharing(app.ctx, who, catalog)), 'OperationNotPermitted');
    assert.equal(await codeOf(setBlockPublicAccess(app.ctx, who, 'maybe')), 'InvalidParameterValue');
    await setBlockPublicAccess(app.ctx, who, 'unblocked');
    await checkPublicSharing(app.ctx, who, catalog);
  });

  test('Allowed AMIs: criteria match by provider, name, product code and age; own images always allowed', async () => {
    const who: Caller = { account: '555500000000', region: 'us-east-1' };
    const mine = await registerImage(app.ctx, who, reg(await ownSnapshot(who)));
    const theirs = await registerImage(app.ctx, other, reg(await ownSnapshot(other), { name: 'golden-web-1' }));
    assert.equal(await isImageAllowed(app.ctx, who, catalog), undefined, 'no imageAllowed while disabled');
    await setAllowedImagesState(app.ctx, who, 'audit-mode');
    assert.equal(await isImageAllowed(app.ctx, who, catalog), false, 'no criteria: only own images');
    assert.equal(await isImageAllowed(app.ctx, who, mine), true);
    await replaceImageCriteria(app.ctx, who, [{ imageProviders: ['amazon'] }, { imageNames: ['golden-*'], imageProviders: [other.account] }]);
    const policy = await allowedImagesPolicy(app.ctx, who);
    assert.deepEqual([policy.allows(catalog), policy.allows(theirs), policy.allows(mine)], [true, true, true]);
    await replaceImageCriteria(app.ctx, who, [{ imageNames: ['golden-?eb-*'], maximumDaysSinceCreated: 1 }, { marketplaceProductCodes: ['zzz'] }]);
    assert.deepEqual([await isImageAllowed(app.ctx, who, catalog), await isImageAllowed(app.ctx, who, theirs)], [false, true]);
    const old = { ...theirs, creationDate: new Date(Date.now() - 2 * 86_400_000).toISOString() };
    assert.equal((await allowedImagesPolicy(app.ctx, who)).allows(old), false);
    await replaceImageCriteria(app.ctx, who, [{ maximumDaysSinceDeprecated: 1 }]);
    const deprecatedLongAgo = { ...theirs, deprecationTime: new Date(Date.now() - 3 * 86_400_000).toISOString() };
    assert.deepEqual([(await allowedImagesPolicy(app.ctx, who)).allows(theirs), (await allowedImagesPolicy(app.ctx, who)).allows(deprecatedLongAgo)], [true, false]);
    assert.deepEqual((await getAllowedImages(app.ctx, who)).imageCriteria, [{ maximumDaysSinceDeprecated: 1 }]);
  });

  test('Allowed AMIs criteria are validated', async () => {
    const bad = [
      [{ imageProviders: ['none', 'amazon'] }], [{ imageProviders: ['someone'] }], [{}], [{ imageNames: ['a'.repeat(129)] }],
      [{ imageNames: ['a?'] }], [{ marketplaceProductCodes: ['bad-code!'] }], [{ maximumDaysSinceCreated: -1 }],
      Array.from({ length: 11 }, () => ({ imageProviders: ['amazon'] })),
    ];
    for (const c of bad) assert.equal(await codeOf(replaceImageCriteria(app.ctx, me, c)), 'InvalidParameterValue', JSON.stringify(c));
    assert.equal(await codeOf(setAllowedImagesState(app.ctx, me, 'on')), 'InvalidParameterValue');
  });

  test('RunInstances: refused outside the criteria when enabled, let through and recorded in audit mode', async () => {
    const who: Caller = { account: '666600000000', region: 'us-east-1' };
    const launch = () => runInstances(app.ctx, who, { imageId: catalog.id, minCount: 1, maxCount: 1 });
    await replaceImageCriteria(app.ctx, who, [{ imageProviders: ['none'] }]);
    await setAllowedImagesState(app.ctx, who, 'enabled');
    assert.equal(await codeOf(launch()), 'InvalidAMIID.NotFound');
    await setAllowedImagesState(app.ctx, who, 'audit-mode');
    const [inst] = await launch();
    assert.equal(inst.imageId, catalog.id);
    assert.deepEqual((await launchAudit(app.ctx, who)).map((a) => a.imageId), [catalog.id]);
    await replaceImageCriteria(app.ctx, who, [{ imageProviders: ['amazon'] }]);
    await setAllowedImagesState(app.ctx, who, 'enabled');
    await launch();
    await settle();
  });
});
