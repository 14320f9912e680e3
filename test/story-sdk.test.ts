/**
 * The end-to-end story through @aws-sdk/client-ec2 with only endpoint, region
 * and credentials set: launch from the catalog image, change the instance,
 * capture it, launch the capture and find the change there, stop/start keeps
 * data, terminate deletes the root volume, deregister.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  CreateImageCommand, DeregisterImageCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand,
  GetConsoleOutputCommand, RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand,
  waitUntilImageAvailable, waitUntilInstanceRunning, waitUntilInstanceStopped, waitUntilInstanceTerminated,
} from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances');

let kiln: Kiln;
let ec2: EC2Client;
const nonce = randomBytes(6).toString('hex');
const waiter = () => ({ client: ec2, maxWaitTime: 120, minDelay: 1, maxDelay: 2 });

before(async () => { if (!skip) { kiln = await startKiln(); ec2 = kiln.client('us-east-1'); } });
after(async () => { await kiln?.close(); });

async function consoleOf(id: string): Promise<string> {
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }));
  return Buffer.from(out.Output ?? '', 'base64').toString('utf8');
}

async function launch(imageId: string, script: string): Promise<string> {
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: imageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, UserData: Buffer.from(script).toString('base64'),
  }));
  assert.equal(r.Instances?.[0].State?.Name, 'pending');
  const id = r.Instances![0].InstanceId!;
  await waitUntilInstanceRunning(waiter(), { InstanceIds: [id] });
  return id;
}

const SETUP = `#!/bin/sh
mkdir -p /srv/www
echo "hello ${nonce}" > /srv/www/index.html
cat > /etc/rc.local <<'RC'
#!/bin/sh
n=$(( $(cat /var/boot-count 2>/dev/null || echo 0) + 1 ))
echo $n > /var/boot-count
echo "boot-count $n"
RC
chmod +x /etc/rc.local
echo "setup-done ${nonce} on $(hostname)"
`;

test('launch, change, capture, launch the capture, stop/start, terminate, deregister (SDK)', { skip, timeout: 300_000 }, async () => {
  const { Images } = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
  const base = Images!.find((i) => i.Name?.startsWith('kiln-minimal-'));
  assert.ok(base, 'the catalog has the minimal image');
  assert.equal(base.ImageOwnerAlias, 'amazon');
  assert.equal(base.Public, true);

  const first = await launch(base.ImageId!, SETUP);
  await until('user data to run', async () => new RegExp(`setup-done ${nonce} on ip-172-31-\\d+-\\d+\n`).test(await consoleOf(first)));

  const { ImageId: webV1 } = await ec2.send(new CreateImageCommand({ InstanceId: first, Name: `web-v1-${nonce}` }));
  assert.match(webV1!, /^ami-[0-9a-f]{17}$/);
  const pending = await ec2.send(new DescribeImagesCommand({ ImageIds: [webV1!] }));
  assert.ok(['pending', 'available'].includes(pending.Images![0].State!));
  await waitUntilImageAvailable(waiter(), { ImageIds: [webV1!] });
  const img = (await ec2.send(new DescribeImagesCommand({ ImageIds: [webV1!] }))).Images![0];
  assert.equal(img.SourceInstanceId, first);
  assert.equal(img.OwnerId, '000000000000');
  const snapId = img.BlockDeviceMappings![0].Ebs!.SnapshotId!;
  const snaps = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapId] }));
  assert.equal(snaps.Snapshots![0].Description, `Created by CreateImage(${first}) for ${webV1}`);
  assert.equal(snaps.Snapshots![0].State, 'completed');
  // The default CreateImage reboots the instance: it is running again with its data.
  await waitUntilInstanceRunning(waiter(), { InstanceIds: [first] });

  const second = await launch(webV1!, '#!/bin/sh\necho "second sees: $(cat /srv/www/index.html)"\n');
  const out = await until('second user data', async () => {
    const c = await consoleOf(second);
    return c.includes('second sees:') && c;
  });
  assert.ok(out.includes(`second sees: hello ${nonce}`), out);
  assert.ok(!out.includes('setup-done'), 'the first instance\'s user data does not run again in the second');
  assert.ok(out.includes('boot-count 2'), 'rc.local written on the first instance runs on the second, and counted the first boot');

  await ec2.send(new StopInstancesCommand({ InstanceIds: [second] }));
  await waitUntilInstanceStopped(waiter(), { InstanceIds: [second] });
  await ec2.send(new StartInstancesCommand({ InstanceIds: [second] }));
  await waitUntilInstanceRunning(waiter(), { InstanceIds: [second] });
  await until('boot after start', async () => (await consoleOf(second)).includes('boot-count 3'));

  const desc = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [second] }));
  const rootVol = desc.Reservations![0].Instances![0].BlockDeviceMappings![0].Ebs!.VolumeId!;
  assert.ok(existsSync(kiln.app.ctx.paths.volume(rootVol)));
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first, second] }));
  await waitUntilInstanceTerminated(waiter(), { InstanceIds: [first, second] });
  assert.ok(!existsSync(kiln.app.ctx.paths.volume(rootVol)), 'DeleteOnTermination removed the root volume');

  await ec2.send(new DeregisterImageCommand({ ImageId: webV1! }));
  const left = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  assert.ok(!left.Images!.some((i) => i.ImageId === webV1));
  const stillSnap = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
  assert.ok(stillSnap.Snapshots!.some((s) => s.SnapshotId === snapId), 'deregistering keeps the snapshots, as on AWS');
});
