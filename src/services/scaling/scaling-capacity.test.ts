/**
 * An Auto Scaling launch the host has no room for (a recording runtime that
 * says the host has 4 GiB, a template of 16 GiB r5.large): the activity ends
 * Failed with EC2's InsufficientInstanceCapacity reason, and no instance is
 * left behind.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as asg from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { startKiln, until } from '../../../test/harness.js';
import type { Kiln } from '../../../test/harness.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';

let kiln: Kiln;

before(async () => {
  const rt = new RecordingRuntime();
  rt.hostMemoryMiB = 4096;
  kiln = await startKiln({ runtime: rt, regions: ['us-east-1'] });
});
after(async () => { await kiln?.close(); });

test('a group whose type the host cannot hold: the launch activity fails with the capacity reason, nothing runs', async () => {
  const ec2 = kiln.client();
  const scaling = new asg.AutoScalingClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const imageId = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'big', LaunchTemplateData: { ImageId: imageId, InstanceType: 'r5.large' } }));
  await scaling.send(new asg.CreateAutoScalingGroupCommand({
    AutoScalingGroupName: 'big', LaunchTemplate: { LaunchTemplateName: 'big', Version: '$Latest' }, MinSize: 1, MaxSize: 1, DesiredCapacity: 1,
    AvailabilityZones: ['us-east-1a'],
  }));
  const failed = await until('a failed launch activity', async () => {
    const acts = (await scaling.send(new asg.DescribeScalingActivitiesCommand({ AutoScalingGroupName: 'big' }))).Activities ?? [];
    return acts.find((a) => a.StatusCode === 'Failed');
  }, 20_000, 100);
  assert.match(failed.StatusMessage ?? '', /sufficient r5\.large capacity/);
  const { Reservations = [] } = await ec2.send(new DescribeInstancesCommand({}));
  assert.deepEqual(Reservations.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId), []);
  await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'big', ForceDelete: true }));
});
