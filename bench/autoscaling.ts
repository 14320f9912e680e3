/**
 * Auto Scaling figures: a group going from 0 to 10 InService instances beside
 * ten sequential single RunInstances-to-running launches of the same image (the
 * group launches in parallel, so the ratio should be well under 1x), and the
 * time for the group to replace an instance powered off from inside, beside
 * one RunInstances-to-running. `node --import tsx bench/autoscaling.ts` runs it alone.
 */
import * as asg from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { CreateLaunchTemplateCommand, DescribeImagesCommand, DescribeInstancesCommand, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import type { Kiln } from '../test/harness.js';
import { inInstance, startKiln, until } from '../test/harness.js';
import { median, row, timed } from './common.js';

const stateOf = async (ec2: EC2Client, ids: string[]) =>
  (await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }))).Reservations!.flatMap((r) => r.Instances!).map((i) => i.State!.Name);

export async function autoscalingBench(kiln: Kiln, ec2: EC2Client, imageId: string): Promise<void> {
  const scaling = new asg.AutoScalingClient({ endpoint: kiln.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const singles: string[] = [];
  const launches: number[] = [];
  const sequentialMs = await timed(async () => {
    for (let i = 0; i < 10; i++) {
      launches.push(await timed(async () => {
        const id = (await ec2.send(new RunInstancesCommand({ ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }))).Instances![0]!.InstanceId!;
        singles.push(id);
        await until('running', async () => (await stateOf(ec2, [id]))[0] === 'running', 120_000, 20);
      }));
    }
  });
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: singles }));
  await until('the single launches terminated', async () => (await stateOf(ec2, singles)).every((s) => s === 'terminated'), 120_000, 100);

  await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'bench-asg', LaunchTemplateData: { ImageId: imageId, InstanceType: 't3.micro' } }));
  const members = async () => (await scaling.send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['bench'] }))).AutoScalingGroups![0]!.Instances!;
  const tenInService = async () => { const m = await members(); return m.length === 10 && m.every((i) => i.LifecycleState === 'InService') && m; };
  const groupMs = await timed(async () => {
    await scaling.send(new asg.CreateAutoScalingGroupCommand({
      AutoScalingGroupName: 'bench', LaunchTemplate: { LaunchTemplateName: 'bench-asg' }, MinSize: 0, MaxSize: 10, DesiredCapacity: 10,
      AvailabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
    }));
    await until('10 InService', tenInService, 300_000, 20);
  });
  row('ASG 0 -> 10 InService', groupMs, '10 sequential RunInstances', sequentialMs);

  const victim = (await members())[0]!.InstanceId!;
  const replaceMs = await timed(async () => {
    await inInstance(kiln, victim, 'poweroff').catch(() => undefined);
    await until('the replacement InService', async () => { const m = await tenInService(); return m && !m.some((i) => i.InstanceId === victim); }, 300_000, 20);
  });
  row('ASG replaces a powered-off instance', replaceMs, 'one RunInstances (median)', median(launches));

  await scaling.send(new asg.DeleteAutoScalingGroupCommand({ AutoScalingGroupName: 'bench', ForceDelete: true }));
  await until('the group gone', async () => !(await scaling.send(new asg.DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: ['bench'] }))).AutoScalingGroups!.length, 300_000, 100);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const kiln = await startKiln({ pool: process.env.KILN_POOL === 'copy' ? 'copy' : 'auto' });
  try {
    const ec2 = kiln.client();
    const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['kiln-minimal-*'] }] }))).Images![0]!;
    await autoscalingBench(kiln, ec2, base.ImageId!);
  } finally {
    await kiln.close();
  }
}
