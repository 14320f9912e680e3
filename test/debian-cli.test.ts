/**
 * The machine story with the stock AWS CLI v2 and OpenSSH against `kiln
 * serve` as a user starts it: Kiln's Debian 12 image (built on this host
 * with mmdebstrap, cached across runs), launched with a key pair and a
 * security group; ssh in as admin; sudo; install and enable a service;
 * CreateImage; two instances of the image serve it at boot on their private
 * IPs; IMDSv2 from inside; another account's instance cannot reach them;
 * reboot inside boots the same instance again; poweroff inside stops it; revoking the SSH rule closes port 22
 * at once. All traffic is between the host and the instances' namespaces.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { KilnProcess } from './harness.js';
import { aws, awsErrorCode, httpGet, spawnKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('aws-cli', 'instances', 'debian');

let dir: string;
let server: KilnProcess | undefined;
const nonce = randomBytes(6).toString('hex');
const B = { id: '222233334444', key: 'AKIADEBIANB000000001', secret: 'debian-b-secret' };

before(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'kiln-debian-'));
  // With the Debian image (spawnKiln leaves it out by default); the host's cache makes it quick after the first build.
  server = await spawnKiln(join(dir, 'data'), []);
});

after(async () => {
  if (!dir) return;
  if (server) {
    for (const keys of [undefined, [B.key, B.secret] as [string, string]]) {
      const ids = (await aws(server.endpoint, ['ec2', 'describe-instances', '--query', 'Reservations[].Instances[].InstanceId'], { keys }).catch(() => [])) as string[];
      if (ids.length) {
        await aws(server.endpoint, ['ec2', 'terminate-instances', '--instance-ids', ...ids], { keys });
        await aws(server.endpoint, ['ec2', 'wait', 'instance-terminated', '--instance-ids', ...ids], { keys });
      }
    }
  }
  await server?.stop();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const ec2 = (...args: string[]) => aws(server!.endpoint, ['ec2', ...args], { cwd: dir });
const ec2B = (...args: string[]) => aws(server!.endpoint, ['ec2', ...args], { cwd: dir, keys: [B.key, B.secret] });

/** OpenSSH as a user runs it; rejects on failure (its stderr in the error). */
async function ssh(key: string, ip: string, cmd: string, input?: string): Promise<string> {
  const child = execFileP('ssh', ['-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR', `admin@${ip}`, cmd], { timeout: 60_000 });
  if (input !== undefined) child.child.stdin!.end(input);
  return (await child).stdout;
}

async function keyPair(name: string, cli = ec2): Promise<string> {
  const { KeyMaterial } = await cli('create-key-pair', '--key-name', name);
  const file = join(dir, `${name}.pem`);
  await writeFile(file, KeyMaterial, { mode: 0o600 });
  return file;
}

async function launch(cli: typeof ec2, image: string, key: string, group: string, count = 1): Promise<Array<{ id: string; ip: string }>> {
  const run = await cli('run-instances', '--image-id', image, '--instance-type', 't3.micro', '--count', String(count),
    '--key-name', key, '--security-group-ids', group);
  const ids = run.Instances.map((i: { InstanceId: string }) => i.InstanceId) as string[];
  await cli('wait', 'instance-running', '--instance-ids', ...ids);
  const described = await cli('describe-instances', '--instance-ids', ...ids);
  return described.Reservations.flatMap((r: { Instances: unknown[] }) => r.Instances)
    .map((i: { InstanceId: string; PrivateIpAddress: string }) => ({ id: i.InstanceId, ip: i.PrivateIpAddress }));
}

/** GET http://ip:8080/; a failure is an Error that says what (a fetch timeout is a DOMException, which the test runner reports as {}). */
const web = async (ip: string) => {
  try {
    return await httpGet(`http://${ip}:8080/`, 3000);
  } catch (err) {
    throw new Error(`GET http://${ip}:8080/ failed: ${String(err)}`);
  }
};

const SERVICE = `[Unit]
Description=Hello web service (installed over ssh)
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --directory /srv/hello
Restart=always

[Install]
WantedBy=multi-user.target
`;

test('Debian 12: ssh in, install a service, capture, two instances serve it; IMDSv2; accounts apart; poweroff; revoke closes ssh (aws-cli)', { skip, timeout: 1_200_000 }, async () => {
  // The catalog's Debian image: pending while it builds (with its progress), then available.
  const image = await until('the Debian 12 image to be available', async () => {
    const { Images } = await ec2('describe-images', '--owners', 'amazon', '--filters', 'Name=name,Values=debian-12-*');
    const img = Images[0];
    assert.notEqual(img?.State, 'failed', img?.StateReason?.Message);
    return img?.State === 'available' && img;
  }, 900_000, 1000);
  assert.equal(image.ImageOwnerAlias, 'amazon');
  assert.equal(image.Public, true);

  const key = await keyPair('debian-story');
  const { GroupId: group } = await ec2('create-security-group', '--group-name', 'web-ssh', '--description', 'ssh and web from anywhere');
  await ec2('authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0');
  await ec2('authorize-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '8080', '--cidr', '0.0.0.0/0');

  const [builder] = await launch(ec2, image.ImageId, 'debian-story', group);
  assert.match(builder.ip, /^172\.31\./);
  assert.equal(await until('ssh to answer', () => ssh(key, builder.ip, 'sudo id -u'), 60_000, 500), '0\n');
  assert.equal((await until('systemd to finish booting', async () => {
    const state = await ssh(key, builder.ip, 'systemctl is-system-running').catch((e: { stdout?: string }) => e.stdout ?? '');
    return ['running\n', 'degraded\n'].includes(state) && state;
  }, 60_000, 500)), 'running\n', await ssh(key, builder.ip, 'systemctl --failed --no-legend').catch(() => ''));

  // The host key the console printed (as cloud-init does) is the one sshd presents.
  const { stdout: scanned } = await execFileP('sh', ['-c', `ssh-keyscan -t ed25519 ${builder.ip} 2>/dev/null | ssh-keygen -lf -`]);
  const fingerprint = scanned.split(' ')[1];
  assert.match(fingerprint, /^SHA256:/);
  // (the aws-cli decodes Output's base64 itself)
  const consoleText = async () => ((await ec2('get-console-output', '--instance-id', builder.id, '--latest')).Output ?? '') as string;
  await until('the host key fingerprints on the console', async () => (await consoleText()).includes('-----BEGIN SSH HOST KEY FINGERPRINTS-----'));
  assert.ok((await consoleText()).includes(fingerprint), 'the console shows the ed25519 fingerprint sshd presents');

  // Install the service from files, enable it, see it serve.
  await ssh(key, builder.ip, 'sudo tee /etc/systemd/system/hello-web.service >/dev/null', SERVICE);
  await ssh(key, builder.ip, `sudo mkdir -p /srv/hello && echo "hello ${nonce}" | sudo tee /srv/hello/index.html >/dev/null && sudo systemctl enable --now hello-web`);
  assert.equal(await until('the service to answer', () => web(builder.ip)), `hello ${nonce}\n`);

  // CreateImage as the aws-cli does by default: the instance is shut down cleanly and booted again.
  const { ImageId: baked } = await ec2('create-image', '--instance-id', builder.id, '--name', `hello-web-${nonce}`);
  await ec2('wait', 'image-available', '--image-ids', baked);
  await ec2('terminate-instances', '--instance-ids', builder.id);

  const copies = await launch(ec2, baked, 'debian-story', group, 2);
  assert.equal(copies.length, 2);
  for (const c of copies) assert.equal(await until(`${c.id} to serve at boot`, () => web(c.ip), 60_000, 500), `hello ${nonce}\n`);
  const [one, two] = copies;

  // IMDSv2 from inside: the token, then the instance's own id; instances of one VPC reach each other.
  const imds = 'T=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) && curl -sf -H "X-aws-ec2-metadata-token: $T" http://169.254.169.254/latest/meta-data/instance-id';
  assert.equal(await until('ssh to the copy', () => ssh(key, one.ip, imds), 60_000, 500), one.id);
  assert.equal(await ssh(key, one.ip, `curl -sf -m 3 http://${two.ip}:8080/`), `hello ${nonce}\n`);

  // Another account's instance, on its own VPC: it cannot reach this account's instances, nor they it.
  await execFileP(process.execPath, [resolve('bin/kiln.js'), 'accounts', 'create', '--id', B.id, '--access-key-id', B.key, '--secret-access-key', B.secret,
    '--endpoint', server!.endpoint, '--data', join(dir, 'data')]);
  const keyB = await keyPair('other-account', ec2B);
  const { GroupId: groupB } = await ec2B('create-security-group', '--group-name', 'ssh', '--description', 'ssh');
  await ec2B('authorize-security-group-ingress', '--group-id', groupB, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0');
  const [other] = await launch(ec2B, image.ImageId, 'other-account', groupB);
  assert.equal(await until('ssh to the other account\'s instance', () => ssh(keyB, other.ip, 'echo in'), 60_000, 500), 'in\n');
  await assert.rejects(ssh(keyB, other.ip, `curl -sf -m 3 http://${one.ip}:8080/`), 'another account cannot reach the web service');
  await assert.rejects(ssh(key, one.ip, `timeout 3 bash -c '</dev/tcp/${other.ip}/22'`), 'nor can this account reach the other one');

  // reboot inside: the same instance boots again over the same volume (a fresh /run), and stays running.
  await ssh(key, one.ip, 'sudo touch /run/booted-before /root/kept && sudo systemctl reboot').catch(() => undefined);
  assert.equal(await until('ssh after the reboot', () => ssh(key, one.ip, 'test ! -e /run/booted-before && sudo test -e /root/kept && sudo cat /var/lib/cloud/data/instance-id'),
    90_000, 500), `${one.id}\n`);
  assert.equal((await ec2('describe-instances', '--instance-ids', one.id)).Reservations[0].Instances[0].State.Name, 'running');

  // poweroff inside: the instance is stopped, as on EC2 (shutdown behaviour stop).
  await ssh(key, two.ip, 'sudo systemctl poweroff').catch(() => undefined);
  await ec2('wait', 'instance-stopped', '--instance-ids', two.id);
  const stopped = (await ec2('describe-instances', '--instance-ids', two.id)).Reservations[0].Instances[0];
  assert.equal(stopped.StateReason.Code, 'Client.InstanceInitiatedShutdown');

  // Revoking the SSH rule closes port 22 on the running instance at once; the web port stays open.
  await ec2('revoke-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0');
  await assert.rejects(ssh(key, one.ip, 'true'), 'ssh is refused once the rule is revoked');
  assert.equal(await until('the web port to stay open', () => web(one.ip), 30_000, 500), `hello ${nonce}\n`);
  assert.equal(await awsErrorCode(ec2('revoke-security-group-ingress', '--group-id', group, '--protocol', 'tcp', '--port', '22', '--cidr', '0.0.0.0/0')),
    'InvalidPermission.NotFound');
});
