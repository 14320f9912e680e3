/** The rules RegisterImage, CreateImage and RunInstances share for block device mappings. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyOverrides, newMapping, validateMappings } from './block-mappings.js';
import type { BlockDeviceMapping, SnapshotRecord } from '../../model/records.js';

const snap = (id: string, volumeSize: number, encrypted = false) => ({ id, volumeSize, encrypted }) as SnapshotRecord;
const SNAPS = new Map([['snap-root', snap('snap-root', 2)], ['snap-data', snap('snap-data', 4, true)]]);
const IMAGE: BlockDeviceMapping[] = [
  { deviceName: '/dev/xvda', ebs: { snapshotId: 'snap-root', volumeSize: 2, deleteOnTermination: true, volumeType: 'gp3', encrypted: false } },
  { deviceName: '/dev/sdb', ebs: { volumeSize: 5, deleteOnTermination: true, volumeType: 'gp2', encrypted: false } },
  { deviceName: '/dev/sdc', virtualName: 'ephemeral0' },
];

function codeOf(fn: () => unknown): string {
  try { fn(); return 'none'; } catch (err) { return (err as { code: string }).code; }
}

describe('validateMappings', () => {
  test('device names, duplicates, one kind per device, types and sizes', () => {
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf', ebs: { volumeSize: 1 } }])), 'none');
    assert.equal(codeOf(() => validateMappings([{ ebs: { volumeSize: 1 } }])), 'MissingParameter');
    assert.equal(codeOf(() => validateMappings([{ deviceName: 'sdf', ebs: { volumeSize: 1 } }])), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf', noDevice: true }, { deviceName: '/dev/sdf', noDevice: true }])), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf', noDevice: true, ebs: { volumeSize: 1 } }])), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf' }])), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf', ebs: { volumeType: 'gp9' } }])), 'InvalidParameterValue');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/sdf', ebs: { volumeSize: 0 } }])), 'InvalidBlockDeviceMapping');
  });

  test('with a root device name, the root must come from a snapshot', () => {
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/xvda', ebs: { volumeSize: 8 } }], '/dev/xvda')), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => validateMappings([{ deviceName: '/dev/xvda', ebs: { snapshotId: 'snap-root' } }], '/dev/xvda')), 'none');
  });
});

describe('newMapping', () => {
  test('a snapshot gives its size and encryption; without one a size is needed; defaults as EC2', () => {
    assert.deepEqual(newMapping({ deviceName: '/dev/sdf', ebs: { snapshotId: 'snap-data' } }, SNAPS).ebs,
      { snapshotId: 'snap-data', volumeSize: 4, deleteOnTermination: true, volumeType: 'gp2', encrypted: true });
    assert.equal(codeOf(() => newMapping({ deviceName: '/dev/sdf', ebs: {} }, SNAPS)), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => newMapping({ deviceName: '/dev/sdf', ebs: { snapshotId: 'snap-data', volumeSize: 3 } }, SNAPS)), 'InvalidBlockDeviceMapping');
  });
});

describe('applyOverrides', () => {
  test('only the fields given change; a volume grows', () => {
    const out = applyOverrides(IMAGE, [{ deviceName: '/dev/xvda', ebs: { volumeSize: 10, deleteOnTermination: false } }], SNAPS, '/dev/xvda');
    assert.deepEqual(out[0].ebs, { snapshotId: 'snap-root', volumeSize: 10, deleteOnTermination: false, volumeType: 'gp3', encrypted: false });
    assert.deepEqual(out.slice(1), IMAGE.slice(1));
  });

  test('never smaller than the image says, and never the root suppressed', () => {
    assert.equal(codeOf(() => applyOverrides(IMAGE, [{ deviceName: '/dev/xvda', ebs: { volumeSize: 1 } }], SNAPS, '/dev/xvda')), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => applyOverrides(IMAGE, [{ deviceName: '/dev/sdb', ebs: { volumeSize: 4 } }], SNAPS, '/dev/xvda')), 'InvalidBlockDeviceMapping');
    assert.equal(codeOf(() => applyOverrides(IMAGE, [{ deviceName: '/dev/xvda', noDevice: true }], SNAPS, '/dev/xvda')), 'InvalidBlockDeviceMapping');
  });

  test('NoDevice suppresses, a new device is added after the image\'s, an Ebs on an instance-store device replaces it', () => {
    const out = applyOverrides(IMAGE, [
      { deviceName: '/dev/sdb', noDevice: true },
      { deviceName: '/dev/sdc', ebs: { volumeSize: 1 } },
      { deviceName: '/dev/sdh', ebs: { snapshotId: 'snap-data', encrypted: false } },
    ], SNAPS, '/dev/xvda');
    assert.deepEqual(out.map((m) => [m.deviceName, m.noDevice ?? false, m.ebs?.snapshotId, m.ebs?.volumeSize]), [
      ['/dev/xvda', false, 'snap-root', 2], ['/dev/sdb', true, undefined, undefined], ['/dev/sdc', false, undefined, 1], ['/dev/sdh', false, 'snap-data', 4],
    ]);
    assert.equal(out[3].ebs!.encrypted, true, 'an encrypted snapshot never gives an unencrypted volume');
  });
});

describe('IOPS and throughput', () => {
  test('kept where the type takes them, refused where it does not, checked against size and each other', () => {
    const ebs = (e: object) => newMapping({ deviceName: '/dev/sdf', ebs: { volumeSize: 10, ...e } }, SNAPS).ebs;
    assert.deepEqual([ebs({ volumeType: 'gp3', iops: 4000, throughput: 250 })?.iops, ebs({ volumeType: 'gp3', iops: 4000, throughput: 250 })?.throughput], [4000, 250]);
    assert.equal(ebs({ volumeType: 'io1', iops: 500 })?.iops, 500);
    assert.equal(codeOf(() => ebs({ volumeType: 'io1' })), 'MissingParameter');
    assert.equal(codeOf(() => ebs({ volumeType: 'gp2', iops: 3000 })), 'InvalidParameterCombination');
    assert.equal(codeOf(() => ebs({ volumeType: 'gp3', iops: 6000 })), 'InvalidParameterValue', 'gp3 allows 500 IOPS per GiB');
    assert.equal(codeOf(() => ebs({ volumeType: 'gp3', throughput: 1000 })), 'InvalidParameterValue', 'at most 0.25 MiB/s per IOPS');
  });

  test('an override of the type starts from that type\'s defaults; one of the same type keeps what it does not give', () => {
    const gp3: BlockDeviceMapping[] = [{ deviceName: '/dev/xvda', ebs: { snapshotId: 'snap-root', volumeSize: 8, deleteOnTermination: true, volumeType: 'gp3', encrypted: false, iops: 4000, throughput: 500 } }];
    const same = applyOverrides(gp3, [{ deviceName: '/dev/xvda', ebs: { iops: 3500 } }], SNAPS, '/dev/xvda')[0]!.ebs!;
    assert.deepEqual([same.iops, same.throughput], [3500, 500]);
    const gp2 = applyOverrides(gp3, [{ deviceName: '/dev/xvda', ebs: { volumeType: 'gp2' } }], SNAPS, '/dev/xvda')[0]!.ebs!;
    assert.deepEqual([gp2.volumeType, gp2.iops, gp2.throughput], ['gp2', undefined, undefined]);
  });
});
