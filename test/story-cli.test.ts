/**
 * The end-to-end story with the stock AWS CLI v2 against `kiln serve` started
 * as a user starts it (the package's bin), including a server restart that
 * finds the running instance again.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { KilnProcess } from './harness.js';
import { aws, spawnKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('aws-cli', 'instances');

let dir: string;
let server: KilnProcess | undefined;
const nonce = randomBytes(6).toString('hex');

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-cli-'));
  server = await spawnKiln(join(dir, 'data'));
});

after(async () => {
  if (!dir) return;
  const endpoint = server?.endpoint;
  if (endpoint) {
    const ids = (await aws(endpoint, ['ec2', 'describe-instances', '--query', 'Reservations[].Instances[].InstanceId'])) as string[];
    if (ids.length) {
      await aws(endpoint, ['ec2', 'terminate-instances', '--instance-ids', ...ids]);
      await aws(endpoint, ['ec2', 'wait', 'instance-terminated', '--instance-ids', ...ids]);
    }
  }
  await server?.stop();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const ec2 = (...args: string[]) => aws(server!.endpoint, ['ec2', ...args], { cwd: dir });
const consoleOf = async (id: string) => ((await ec2('get-console-output', '--instance-id', id, '--latest'))?.Output ?? '') as string;

test('launch, change, capture, launch the capture, restart the server, stop/start, terminate (aws-cli)', { skip, timeout: 600_000 }, async () => {
  const images = await ec2('describe-images', '--owners', 'amazon');
  const base = images.Images.find((i: { Name: string }) => i.Name.startsWith('kiln-minimal-'));
  assert.ok(base, 'describe-images --owners amazon lists the minimal image');

  await writeFile(join(dir, 'setup.sh'), `#!/bin/sh\necho "built ${nonce}" > /root/build.txt\necho "setup ran on $(hostname)"\n`);
  const run = await ec2('run-instances', '--image-id', base.ImageId, '--instance-type', 't3.micro', '--user-data', 'file://setup.sh',
    '--tag-specifications', 'ResourceType=instance,Tags=[{Key=Name,Value=builder}]');
  const first = run.Instances[0].InstanceId as string;
  await ec2('wait', 'instance-running', '--instance-ids', first);
  await until('user data output on the console', async () => /setup ran on ip-172-31-\d+-\d+\n/.test(await consoleOf(first)));

  const { ImageId: webV1 } = await ec2('create-image', '--instance-id', first, '--name', `web-v1-${nonce}`, '--no-reboot',
    '--tag-specifications', 'ResourceType=image,Tags=[{Key=team,Value=web}]', 'ResourceType=snapshot,Tags=[{Key=team,Value=web}]');
  await ec2('wait', 'image-available', '--image-ids', webV1);
  const byTag = await ec2('describe-images', '--owners', 'self', '--filters', 'Name=tag:team,Values=web', 'Name=name,Values=web-v1-*');
  assert.deepEqual(byTag.Images.map((i: { ImageId: string }) => i.ImageId), [webV1]);
  const snaps = await ec2('describe-snapshots', '--owner-ids', 'self', '--filters', 'Name=tag:team,Values=web');
  assert.equal(snaps.Snapshots.length, 1);
  assert.equal(snaps.Snapshots[0].Description, `Created by CreateImage(${first}) for ${webV1}`);

  await writeFile(join(dir, 'check.sh'), '#!/bin/sh\necho "found: $(cat /root/build.txt)"\n');
  const run2 = await ec2('run-instances', '--image-id', webV1, '--instance-type', 't3.nano', '--user-data', 'file://check.sh');
  const second = run2.Instances[0].InstanceId as string;
  await ec2('wait', 'instance-running', '--instance-ids', second);
  await until('second instance reads the first one\'s file', async () => (await consoleOf(second)).includes(`found: built ${nonce}`));

  await server!.stop();
  server = await spawnKiln(join(dir, 'data'));
  const after = await ec2('describe-instances', '--instance-ids', second);
  assert.equal(after.Reservations[0].Instances[0].State.Name, 'running', 'a restarted server finds the running instance again');
  assert.ok((await consoleOf(second)).includes(`found: built ${nonce}`));

  await ec2('stop-instances', '--instance-ids', second);
  await ec2('wait', 'instance-stopped', '--instance-ids', second);
  await ec2('start-instances', '--instance-ids', second);
  await ec2('wait', 'instance-running', '--instance-ids', second);
  const status = await ec2('describe-instance-status', '--instance-ids', second);
  assert.equal(status.InstanceStatuses[0].InstanceState.Name, 'running');

  await ec2('terminate-instances', '--instance-ids', first, second);
  await ec2('wait', 'instance-terminated', '--instance-ids', first, second);
  await ec2('deregister-image', '--image-id', webV1);
  const gone = await ec2('describe-images', '--owners', 'self');
  assert.equal(gone.Images.length, 0);
});

test('errors come back with AWS codes through the CLI', { skip, timeout: 60_000 }, async () => {
  await assert.rejects(ec2('describe-images', '--image-ids', 'ami-00000000000000000'), /InvalidAMIID\.NotFound/);
  await assert.rejects(ec2('describe-images', '--image-ids', 'bad'), /InvalidAMIID\.Malformed/);
  await assert.rejects(ec2('describe-images', '--owners', 'self', '--dry-run'), /DryRunOperation/);
  await assert.rejects(aws(server!.endpoint, ['ec2', 'describe-images'], { keys: ['test', 'wrong'] }), /AuthFailure|SignatureDoesNotMatch/);
});
