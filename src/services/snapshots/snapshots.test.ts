/**
 * Snapshots through @aws-sdk/client-ec2 against a real Kiln, seen by their
 * owner A and by accounts B (shared with by name) and C (only public):
 * CreateSnapshot and the snapshot-completed waiter, DescribeSnapshots
 * (OwnerIds, RestorableByUserIds, filters, pages), createVolumePermission
 * (all-or-nothing validation, add/remove/reset, what B and C can then do),
 * CopySnapshot across regions and accounts, DeleteSnapshot (in use by an
 * image), and tags (CreateTags/DeleteTags/DescribeTags) on volumes and snapshots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CopySnapshotCommand, CreateSnapshotCommand, CreateTagsCommand, CreateVolumeCommand, DeleteSnapshotCommand, DeleteTagsCommand,
  DeregisterImageCommand, DescribeSnapshotAttributeCommand, DescribeSnapshotsCommand, DescribeTagsCommand,
  ModifySnapshotAttributeCommand, RegisterImageCommand, ResetSnapshotAttributeCommand, waitUntilSnapshotCompleted,
  waitUntilVolumeAvailable,
} from '@aws-sdk/client-ec2';
import type { DescribeSnapshotsCommandInput, EC2Client, Filter } from '@aws-sdk/client-ec2';
import type { Kiln } from '../../../test/harness.js';
import { aws, startKiln } from '../../../test/harness.js';
import { createAccount } from '../accounts/accounts.js';

const WEST = 'us-west-2';
const B = { id: '333300000002', keys: { accessKeyId: 'AKIASNAPB', secretAccessKey: 'secret-snap-b' } };
const C = { id: '333300000003', keys: { accessKeyId: 'AKIASNAPC', secretAccessKey: 'secret-snap-c' } };

let kiln: Kiln;
let a: EC2Client;
let b: EC2Client;
let c: EC2Client;
let aWest: EC2Client;
let volume = '';
let snap = '';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return (err as { name: string }).name; }
}
const wait = { maxWaitTime: 60, minDelay: 1, maxDelay: 1 };
const completed = (client: EC2Client, id: string) => waitUntilSnapshotCompleted({ client, ...wait }, { SnapshotIds: [id] });

async function newSnapshot(client: EC2Client, volumeId: string, description = ''): Promise<string> {
  const s = await client.send(new CreateSnapshotCommand({ VolumeId: volumeId, Description: description }));
  await completed(client, s.SnapshotId!);
  return s.SnapshotId!;
}

async function listed(client: EC2Client, input: DescribeSnapshotsCommandInput = {}): Promise<string[]> {
  return (await client.send(new DescribeSnapshotsCommand(input))).Snapshots!.map((s) => s.SnapshotId!);
}

before(async () => {
  kiln = await startKiln({ regions: ['us-east-1', WEST] });
  await createAccount(kiln.app.ctx, { id: B.id, ...B.keys });
  await createAccount(kiln.app.ctx, { id: C.id, ...C.keys });
  a = kiln.client();
  b = kiln.client('us-east-1', B.keys);
  c = kiln.client('us-east-1', C.keys);
  aWest = kiln.client(WEST);
  const v = await a.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1 }));
  volume = v.VolumeId!;
  await waitUntilVolumeAvailable({ client: a, ...wait }, { VolumeIds: [volume] });
});

after(async () => kiln?.close());

describe('CreateSnapshot and DescribeSnapshots', () => {
  test('a snapshot of a volume: pending at once, completed in the background, tagged', async () => {
    const s = await a.send(new CreateSnapshotCommand({
      VolumeId: volume, Description: 'nightly backup', TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'kind', Value: 'nightly' }] }],
    }));
    assert.equal(s.State, 'pending');
    assert.equal(s.VolumeId, volume);
    assert.equal(s.VolumeSize, 1);
    assert.deepEqual(s.Tags, [{ Key: 'kind', Value: 'nightly' }]);
    await completed(a, s.SnapshotId!);
    snap = s.SnapshotId!;
    const [d] = (await a.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))).Snapshots!;
    assert.deepEqual([d.State, d.Progress, d.OwnerId, d.Description], ['completed', '100%', '000000000000', 'nightly backup']);
    assert.ok(await kiln.app.ctx.store.blockMaps.get(snap));
  });

  test('bad requests', async () => {
    assert.equal(await codeOf(a.send(new CreateSnapshotCommand({ VolumeId: 'vol-0123456789abcdef0' }))), 'InvalidVolume.NotFound');
    assert.equal(await codeOf(a.send(new CreateSnapshotCommand({ VolumeId: 'volume-1' }))), 'InvalidVolumeID.Malformed');
    assert.equal(await codeOf(b.send(new CreateSnapshotCommand({ VolumeId: volume }))), 'InvalidVolume.NotFound');
    assert.equal(await codeOf(a.send(new CreateSnapshotCommand({ VolumeId: volume, Description: 'x'.repeat(256) }))), 'InvalidParameterValue');
    assert.equal(await codeOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-nope'] }))), 'InvalidSnapshotID.Malformed');
    assert.equal(await codeOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: ['snap-0123456789abcdef0'] }))), 'InvalidSnapshot.NotFound');
    assert.equal(await codeOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap], MaxResults: 5 }))), 'InvalidParameterCombination');
  });

  test('owners, filters and pages', async () => {
    const more = [];
    for (let i = 0; i < 5; i++) more.push(await newSnapshot(a, volume, `extra ${i}`));
    const own = await listed(a, { OwnerIds: ['self'] });
    assert.deepEqual(own, [snap, ...more]);
    assert.deepEqual(await listed(a, { OwnerIds: ['000000000000'] }), own);
    assert.ok((await listed(a, { OwnerIds: ['amazon'] })).every((id) => !own.includes(id)));
    const f = async (...Filters: Filter[]) => listed(a, { OwnerIds: ['self'], Filters });
    assert.deepEqual(await f({ Name: 'description', Values: ['extra ?'] }), more);
    assert.deepEqual(await f({ Name: 'tag:kind', Values: ['nightly'] }), [snap]);
    assert.deepEqual(await f({ Name: 'volume-id', Values: [volume] }, { Name: 'status', Values: ['completed'] }), own);
    assert.deepEqual(await f({ Name: 'snapshot-id', Values: [more[1]!, more[3]!] }), [more[1], more[3]]);
    assert.deepEqual(await f({ Name: 'volume-size', Values: ['2'] }), []);
    assert.equal(await codeOf(f({ Name: 'size', Values: ['1'] })), 'InvalidParameterValue');
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await a.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 5, NextToken: token }));
      paged.push(...page.Snapshots!.map((s) => s.SnapshotId!));
      token = page.NextToken;
    } while (token);
    assert.deepEqual(paged, own);
  });
});

describe('createVolumePermission', () => {
  const perms = async (id = snap) =>
    (await a.send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' }))).CreateVolumePermissions;
  const modify = (add: object[], remove: object[] = []) =>
    a.send(new ModifySnapshotAttributeCommand({ SnapshotId: snap, CreateVolumePermission: { Add: add, Remove: remove } }));

  test('private at first: others neither see nor use it', async () => {
    assert.deepEqual(await perms(), []);
    assert.equal(await codeOf(b.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))), 'InvalidSnapshot.NotFound');
    assert.ok(!(await listed(b)).includes(snap));
    assert.equal(await codeOf(b.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: snap }))), 'InvalidSnapshot.NotFound');
  });

  test('a bad item changes nothing', async () => {
    assert.equal(await codeOf(modify([{ Group: 'all' }, { UserId: '12345' }])), 'InvalidAMIAttributeItemValue');
    assert.equal(await codeOf(modify([{ UserId: B.id }, { Group: 'everyone' }])), 'InvalidAMIAttributeItemValue');
    assert.equal(await codeOf(modify([{ UserId: B.id, Group: 'all' }])), 'InvalidParameterCombination');
    assert.deepEqual(await perms(), []);
    assert.equal(await codeOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'kernel' as never }))), 'InvalidParameterValue');
    assert.equal(await codeOf(a.send(new ModifySnapshotAttributeCommand({ SnapshotId: 'snap-0123456789abcdef0', CreateVolumePermission: { Add: [{ UserId: B.id }] } }))), 'InvalidSnapshot.NotFound');
  });

  test('shared with B by name: B sees it, restores it and copies it; C does not', async () => {
    await modify([{ UserId: B.id }]);
    assert.deepEqual(await perms(), [{ UserId: B.id }]);
    assert.ok((await listed(b)).includes(snap));
    assert.deepEqual(await listed(b, { RestorableByUserIds: ['self'], OwnerIds: ['000000000000'] }), [snap]);
    assert.deepEqual(await listed(a, { RestorableByUserIds: [B.id] }), [snap]);
    assert.deepEqual(await listed(b, { RestorableByUserIds: ['all'] }).then((l) => l.filter((id) => id === snap)), []);
    const v = await b.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', SnapshotId: snap }));
    await waitUntilVolumeAvailable({ client: b, ...wait }, { VolumeIds: [v.VolumeId!] });
    const copy = await b.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap }));
    await completed(b, copy.SnapshotId!);
    const [owned] = (await b.send(new DescribeSnapshotsCommand({ SnapshotIds: [copy.SnapshotId!] }))).Snapshots!;
    assert.equal(owned.OwnerId, B.id);
    // Only the owner reads or changes the permission, deletes or tags the snapshot.
    assert.equal(await codeOf(b.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission' }))), 'UnauthorizedOperation');
    assert.equal(await codeOf(b.send(new DeleteSnapshotCommand({ SnapshotId: snap }))), 'UnauthorizedOperation');
    assert.equal(await codeOf(b.send(new CreateTagsCommand({ Resources: [snap], Tags: [{ Key: 'x', Value: 'y' }] }))), 'InvalidSnapshot.NotFound');
    assert.equal(await codeOf(c.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))), 'InvalidSnapshot.NotFound');
  });

  test('public (group all): everyone sees it; removed through the aws-cli legacy form; reset makes it private', async () => {
    await modify([{ Group: 'all' }]);
    assert.deepEqual(await perms(), [{ Group: 'all' }, { UserId: B.id }]);
    assert.ok((await listed(c)).includes(snap));
    assert.deepEqual(await listed(c, { RestorableByUserIds: ['all'] }), [snap]);
    assert.deepEqual(await listed(c, { RestorableByUserIds: ['self'] }), []);
    await aws(kiln.endpoint, ['ec2', 'modify-snapshot-attribute', '--snapshot-id', snap, '--attribute', 'createVolumePermission',
      '--operation-type', 'remove', '--user-ids', B.id]);
    assert.deepEqual(await perms(), [{ Group: 'all' }]);
    const out = await aws(kiln.endpoint, ['ec2', 'describe-snapshot-attribute', '--snapshot-id', snap, '--attribute', 'createVolumePermission']);
    assert.deepEqual(out.CreateVolumePermissions, [{ Group: 'all' }]);
    await a.send(new ResetSnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission' }));
    assert.deepEqual(await perms(), []);
    assert.equal(await codeOf(c.send(new DescribeSnapshotsCommand({ SnapshotIds: [snap] }))), 'InvalidSnapshot.NotFound');
  });
});

describe('CopySnapshot', () => {
  test('into another region: the caller\'s, the same blocks, a default description', async () => {
    const r = await aWest.send(new CopySnapshotCommand({
      SourceRegion: 'us-east-1', SourceSnapshotId: snap, TagSpecifications: [{ ResourceType: 'snapshot', Tags: [{ Key: 'copy', Value: 'yes' }] }],
    }));
    assert.deepEqual(r.Tags, [{ Key: 'copy', Value: 'yes' }]);
    await completed(aWest, r.SnapshotId!);
    const [s] = (await aWest.send(new DescribeSnapshotsCommand({ SnapshotIds: [r.SnapshotId!] }))).Snapshots!;
    assert.equal(s.Description, `[Copied ${snap} from us-east-1]`);
    assert.equal(s.VolumeId, 'vol-ffffffff');
    assert.deepEqual(await kiln.app.ctx.store.blockMaps.get(r.SnapshotId!), await kiln.app.ctx.store.blockMaps.get(snap));
    assert.equal(await codeOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [r.SnapshotId!] }))), 'InvalidSnapshot.NotFound');
  });

  test('encryption is kept, and an encrypted snapshot cannot be made public', async () => {
    const enc = await newSnapshot(a, volume, 'to encrypt');
    await kiln.app.ctx.store.snapshots.update(enc, (s) => ({ ...s, encrypted: true }));
    const r = await aWest.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: enc, Description: 'enc copy' }));
    await completed(aWest, r.SnapshotId!);
    const [s] = (await aWest.send(new DescribeSnapshotsCommand({ SnapshotIds: [r.SnapshotId!] }))).Snapshots!;
    assert.deepEqual([s.Encrypted, s.Description], [true, 'enc copy']);
    assert.equal(await codeOf(aWest.send(new ModifySnapshotAttributeCommand({ SnapshotId: r.SnapshotId, CreateVolumePermission: { Add: [{ Group: 'all' }] } }))), 'InvalidParameterValue');
  });

  test('bad requests', async () => {
    const copy = (input: object) => aWest.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap, ...input }));
    assert.equal(await codeOf(copy({ SourceSnapshotId: 'snap-0123456789abcdef0' })), 'InvalidSnapshot.NotFound');
    assert.equal(await codeOf(copy({ SourceSnapshotId: 'snapshot' })), 'InvalidSnapshotID.Malformed');
    assert.equal(await codeOf(copy({ SourceRegion: 'mars-east-1' })), 'InvalidParameterValue');
    assert.equal(await codeOf(copy({ KmsKeyId: 'alias/x' })), 'InvalidParameterDependency');
    assert.equal(await codeOf(c.send(new CopySnapshotCommand({ SourceRegion: 'us-east-1', SourceSnapshotId: snap }))), 'InvalidSnapshot.NotFound');
  });
});

describe('DeleteSnapshot', () => {
  test('refused while a registered image uses it; then gone', async () => {
    const used = await newSnapshot(a, volume, 'root of an image');
    const img = await a.send(new RegisterImageCommand({
      Name: 'snap-in-use', RootDeviceName: '/dev/xvda', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: used } }],
    }));
    assert.equal(await codeOf(a.send(new DeleteSnapshotCommand({ SnapshotId: used }))), 'InvalidSnapshot.InUse');
    await a.send(new DeregisterImageCommand({ ImageId: img.ImageId }));
    await a.send(new DeleteSnapshotCommand({ SnapshotId: used }));
    assert.equal(await codeOf(a.send(new DescribeSnapshotsCommand({ SnapshotIds: [used] }))), 'InvalidSnapshot.NotFound');
    assert.equal(await kiln.app.ctx.store.blockMaps.get(used), undefined);
    assert.equal(await codeOf(a.send(new DeleteSnapshotCommand({ SnapshotId: used }))), 'InvalidSnapshot.NotFound');
    // Blocks it shared with other snapshots are still there.
    const map = (await kiln.app.ctx.store.blockMaps.get(snap))!;
    for (const [, hash] of map.blocks) assert.ok(await kiln.app.ctx.blocks.has(hash));
    // The prune the delete asked for ran in the background: nothing unreferenced is left, nothing referenced is missing.
    await kiln.app.ctx.pruner.idle();
    const plan = await kiln.app.ctx.pruner.plan();
    assert.deepEqual([plan.unreferenced, plan.missing], [[], []]);
  });
});

describe('tags on volumes and snapshots', () => {
  test('CreateTags, DescribeTags (filters, pages), DeleteTags', async () => {
    await a.send(new CreateTagsCommand({ Resources: [volume, snap], Tags: [{ Key: 'env', Value: 'prod' }, { Key: 'owner', Value: 'ops' }] }));
    const rows = async (...Filters: Filter[]) =>
      (await a.send(new DescribeTagsCommand({ Filters }))).Tags!.map((t) => `${t.ResourceType}:${t.ResourceId}:${t.Key}=${t.Value}`);
    assert.deepEqual(await rows({ Name: 'resource-id', Values: [volume] }), [`volume:${volume}:env=prod`, `volume:${volume}:owner=ops`]);
    assert.deepEqual(await rows({ Name: 'resource-type', Values: ['snapshot'] }, { Name: 'key', Values: ['env'] }), [`snapshot:${snap}:env=prod`]);
    assert.deepEqual(await rows({ Name: 'value', Values: ['pr*'] }), [`snapshot:${snap}:env=prod`, `volume:${volume}:env=prod`]);
    assert.deepEqual((await rows({ Name: 'tag:kind', Values: ['nightly'] })).sort(),
      [`snapshot:${snap}:env=prod`, `snapshot:${snap}:kind=nightly`, `snapshot:${snap}:owner=ops`]);
    assert.equal(await codeOf(a.send(new DescribeTagsCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] }))), 'InvalidParameterValue');
    const all = await rows();
    const paged: string[] = [];
    let token: string | undefined;
    do {
      const page = await a.send(new DescribeTagsCommand({ MaxResults: 5, NextToken: token }));
      paged.push(...page.Tags!.map((t) => `${t.ResourceType}:${t.ResourceId}:${t.Key}=${t.Value}`));
      token = page.NextToken;
    } while (token);
    assert.deepEqual(paged, all);
    assert.ok(!(await b.send(new DescribeTagsCommand({}))).Tags!.some((t) => t.ResourceId === snap), 'B sees A\'s tags');

    await a.send(new DeleteTagsCommand({ Resources: [volume, snap], Tags: [{ Key: 'env' }] }));
    assert.deepEqual(await rows({ Name: 'key', Values: ['env'] }), []);
    const cli = await aws(kiln.endpoint, ['ec2', 'describe-tags', '--filters', `Name=resource-id,Values=${volume}`]);
    assert.deepEqual(cli.Tags, [{ Key: 'owner', ResourceId: volume, ResourceType: 'volume', Value: 'ops' }]);
  });
});
