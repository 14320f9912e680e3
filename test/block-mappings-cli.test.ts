/**
 * Block device mappings with the real aws-cli and real instances: RunInstances
 * grows the root volume, keeps it past termination and adds an empty data
 * volume; CreateImage of that instance changes a mapping's DeleteOnTermination
 * and adds another empty volume; an instance of that image finds the data
 * volume's file and the new empty volume mounted; modify-volume grows its root
 * while it runs (the filesystem follows online where the host allows, else at
 * the next boot). Bad overrides are refused
 * with EC2's codes and launch nothing. Needs root and runc; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kiln } from './harness.js';
import { aws, awsErrorCode, inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('aws-cli', 'instances');

/** Waits for the devices' mounts, as a user-data script must for volumes it did not attach itself. */
const waitFor = (...dirs: string[]) => dirs.map((d) => `i=0
while ! grep -q ' ${d} ' /proc/mounts; do sleep 0.2; i=$((i+1)); [ $i -gt 600 ] && exit 1; done`).join('\n');

const WRITER = `#!/bin/sh
${waitFor('/mnt/sdf')}
echo "kept on the data volume" > /mnt/sdf/data.txt
sync
echo "mappings: root of $(df -k / | awk 'NR==2{print $2}') KiB"
`;

const READER = `#!/bin/sh
${waitFor('/mnt/sdf', '/mnt/sdg')}
echo "mappings: found '$(cat /mnt/sdf/data.txt)'; sdg holds $(ls /mnt/sdg | grep -vc lost+found) files"
`;

let kiln: Kiln;
const cli = (args: string[]) => aws(kiln.endpoint, ['ec2', ...args]);
const consoleOf = async (id: string): Promise<string> => (await cli(['get-console-output', '--instance-id', id]))?.Output ?? '';

interface Mapping { DeviceName: string; NoDevice?: string; Ebs?: { SnapshotId?: string; VolumeSize?: number; DeleteOnTermination?: boolean; VolumeId?: string; VolumeType?: string; Iops?: number; Throughput?: number } }

function launchArgs(ami: string, mappings: Mapping[] | undefined, userData?: string): string[] {
  return ['run-instances', '--image-id', ami, '--instance-type', 't3.micro',
    ...(userData ? ['--user-data', `file://${userData}`] : []),
    ...(mappings ? ['--block-device-mappings', JSON.stringify(mappings)] : [])];
}

async function launch(ami: string, mappings: Mapping[] | undefined, script: string): Promise<string> {
  const file = join(kiln.dataDir, `ud-${Date.now()}.sh`);
  await writeFile(file, script);
  const id = (await cli(launchArgs(ami, mappings, file))).Instances[0].InstanceId as string;
  await cli(['wait', 'instance-running', '--instance-ids', id]);
  return id;
}

const volumesOf = async (id: string) => (await cli(['describe-volumes', '--filters', `Name=attachment.instance-id,Values=${id}`])).Volumes as
  Array<{ VolumeId: string; Size: number; VolumeType: string; Iops?: number; Throughput?: number; Attachments: Array<{ Device: string; DeleteOnTermination: boolean }> }>;

describe('block device mappings at launch and at capture (aws-cli, real instances)', { skip }, () => {
  let base = '';
  let first = '';
  let firstRoot = '';
  let image = '';
  let second = '';

  before(async () => {
    kiln = await startKiln();
    base = (await cli(['describe-images', '--owners', 'amazon'])).Images[0].ImageId;
  });

  after(async () => kiln?.close());

  test('run-instances grows the root, keeps it past termination, adds an empty volume', async () => {
    first = await launch(base, [
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 2, DeleteOnTermination: false, VolumeType: 'gp3', Throughput: 250 } },
      { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 1 } },
    ], WRITER);
    const vols = await volumesOf(first);
    const byDevice = Object.fromEntries(vols.map((v) => [v.Attachments[0].Device, v]));
    assert.deepEqual([byDevice['/dev/xvda'].Size, byDevice['/dev/xvda'].Attachments[0].DeleteOnTermination], [2, false]);
    assert.deepEqual([byDevice['/dev/xvda'].VolumeType, byDevice['/dev/xvda'].Iops, byDevice['/dev/xvda'].Throughput], ['gp3', 3000, 250]);
    assert.deepEqual([byDevice['/dev/sdf'].Size, byDevice['/dev/sdf'].Attachments[0].DeleteOnTermination], [1, true]);
    firstRoot = byDevice['/dev/xvda'].VolumeId;
    const line = await until('the first instance to write its data volume', async () => /mappings: root of (\d+) KiB/.exec(await consoleOf(first)) ?? undefined);
    assert.ok(Number(line[1]) > 1.5 * 1024 * 1024, `the root filesystem was grown to 2 GiB, not ${line[1]} KiB`);
  });

  test('create-image changes DeleteOnTermination of a volume and adds an empty one', async () => {
    image = (await cli(['create-image', '--instance-id', first, '--name', 'with-data', '--block-device-mappings', JSON.stringify([
      { DeviceName: '/dev/sdf', Ebs: { DeleteOnTermination: false } },
      { DeviceName: '/dev/sdg', Ebs: { VolumeSize: 1 } },
    ])])).ImageId;
    await cli(['wait', 'image-available', '--image-ids', image]);
    const mappings: Mapping[] = (await cli(['describe-images', '--image-ids', image])).Images[0].BlockDeviceMappings;
    assert.deepEqual(mappings.map((m) => [m.DeviceName, !!m.Ebs?.SnapshotId, m.Ebs?.VolumeSize, m.Ebs?.DeleteOnTermination]), [
      ['/dev/xvda', true, 2, false], ['/dev/sdf', true, 1, false], ['/dev/sdg', false, 1, true],
    ]);
    assert.deepEqual([mappings[0]!.Ebs?.Iops, mappings[0]!.Ebs?.Throughput], [3000, 250], 'the image keeps the root volume\'s throughput');
  });

  test('an instance of that image has the data volume\'s file and the new empty volume', async () => {
    second = await launch(image, undefined, READER);
    assert.deepEqual((await volumesOf(second)).map((v) => v.Attachments[0].Device).sort(), ['/dev/sdf', '/dev/sdg', '/dev/xvda']);
    await until('the second instance to read its volumes', async () =>
      (await consoleOf(second)).includes("mappings: found 'kept on the data volume'; sdg holds 0 files"));
  });

  test('modify-volume grows a root volume in use and a detached one, and changes its type', async () => {
    const rootOf = async (id: string) => (await volumesOf(id)).find((v) => v.Attachments[0].Device === '/dev/xvda')!.VolumeId;
    const root = await rootOf(second);
    const m = (await cli(['modify-volume', '--volume-id', root, '--size', '3'])).VolumeModification;
    assert.deepEqual([m.ModificationState, m.OriginalSize, m.TargetSize], ['modifying', 2, 3]);
    const done = await until('the modification to end', async () => {
      const [mod] = (await cli(['describe-volumes-modifications', '--volume-ids', root])).VolumesModifications;
      return mod.ModificationState !== 'modifying' && mod;
    });
    assert.deepEqual([done.ModificationState, done.Progress], ['completed', 100]);
    assert.equal((await cli(['describe-volumes', '--volume-ids', root])).Volumes[0].Size, 3);
    // The filesystem grows at once where the host allows online resizing (CAP_SYS_RESOURCE); else StatusMessage
    // says so, and it grows at the next boot, a reboot included.
    const rootKiB = async () => Number((await inInstance(kiln, second, "df -k / | awk 'NR==2{print $2}'")).trim());
    const grownNow = (await rootKiB()) > 2.5 * 1024 * 1024;
    assert.equal(done.StatusMessage === undefined, grownNow, `StatusMessage: ${done.StatusMessage}`);
    await cli(['reboot-instances', '--instance-ids', second]);
    await until('the root filesystem to be 3 GiB after the reboot', async () => (await rootKiB()) > 2.5 * 1024 * 1024);
    assert.equal((await cli(['describe-instances', '--instance-ids', second])).Reservations[0].Instances[0].State.Name, 'running');

    const spare = (await cli(['create-volume', '--availability-zone', 'us-east-1a', '--size', '1'])).VolumeId;
    await cli(['wait', 'volume-available', '--volume-ids', spare]);
    await cli(['modify-volume', '--volume-id', spare, '--size', '8', '--volume-type', 'gp3', '--iops', '4000']);
    await until('the detached volume to grow', async () => (await cli(['describe-volumes', '--volume-ids', spare])).Volumes[0].Size === 8);
    const v = (await cli(['describe-volumes', '--volume-ids', spare])).Volumes[0];
    assert.deepEqual([v.VolumeType, v.Iops, v.Throughput], ['gp3', 4000, 125]);
    assert.equal(await awsErrorCode(cli(['modify-volume', '--volume-id', spare, '--size', '1'])), 'InvalidParameterValue');
    assert.equal(await awsErrorCode(cli(['describe-volumes-modifications', '--volume-ids', 'vol-0123456789abcdef0'])), 'InvalidVolume.NotFound');
    await cli(['delete-volume', '--volume-id', spare]);
  });

  test('bad overrides answer EC2\'s codes and launch nothing', async () => {
    const before = (await cli(['describe-instances'])).Reservations.length;
    const code = (mappings: Mapping[]) => awsErrorCode(cli(launchArgs(image, mappings)));
    assert.equal(await code([{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 1 } }]), 'InvalidBlockDeviceMapping');
    assert.equal(await code([{ DeviceName: '/dev/xvda', NoDevice: '' }]), 'InvalidBlockDeviceMapping');
    assert.equal(await code([{ DeviceName: '/dev/sdh', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }]), 'InvalidSnapshot.NotFound');
    assert.equal(await code([{ DeviceName: '/dev/sdh', Ebs: { DeleteOnTermination: true } }]), 'InvalidBlockDeviceMapping');
    assert.equal(await code([{ DeviceName: '/dev/sdh' }]), 'InvalidBlockDeviceMapping');
    assert.equal((await cli(['describe-instances'])).Reservations.length, before);
  });

  test('terminating keeps only the volumes not marked DeleteOnTermination', async () => {
    await cli(['terminate-instances', '--instance-ids', first, second]);
    await cli(['wait', 'instance-terminated', '--instance-ids', first, second]);
    const left = (await cli(['describe-volumes'])).Volumes as Array<{ VolumeId: string; State: string; Size: number }>;
    const kept = left.filter((v) => v.State === 'available');
    assert.ok(kept.some((v) => v.VolumeId === firstRoot), 'the first root volume is kept');
    assert.equal(kept.length, 3, 'the first root, and the second instance\'s root and data volume');
    for (const v of kept) await cli(['delete-volume', '--volume-id', v.VolumeId]);
  });
});
