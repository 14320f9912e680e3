/**
 * Every instance is on its account's default VPC, a real network on the
 * host: the host reaches an instance at its PrivateIpAddress, instances of one
 * account reach each other, another account's instance cannot reach them, and
 * termination takes the instance's namespace and host route away. Security
 * groups are enforced, live: the default group lets only its members in, a
 * rule opens a port to the host and revoking it closes the port again, and a
 * rule naming another group admits exactly that group's members. All traffic
 * stays between the host and the namespaces Kiln made. Needs root, runc,
 * iproute2 and nftables; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand, CreateKeyPairCommand, CreateSecurityGroupCommand, CreateTagsCommand, DeleteSecurityGroupCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, ModifyInstanceMetadataOptionsCommand, RevokeSecurityGroupIngressCommand,
  RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { bridgeName, netnsName } from '../src/runtime/net/host-network.js';
import { createAccount } from '../src/services/accounts/accounts.js';
import type { Kiln } from './harness.js';
import { httpGet, inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('instances');
const B = { id: '555566667777', accessKeyId: 'AKIANETB', secretAccessKey: 'net-b-secret' };

let kiln: Kiln;
let a: EC2Client;
let b: EC2Client;
let image: string;

const WEB = (name: string) => Buffer.from(`#!/bin/sh
mkdir -p /srv/www && echo "hello from ${name}" > /srv/www/index.html
busybox httpd -p 80 -h /srv/www
`).toString('base64');

before(async () => {
  if (skip) return;
  kiln = await startKiln(process.env.KILN_TEST_LOG ? { log: (m) => console.error(m) } : {});
  await createAccount(kiln.app.ctx, B);
  a = kiln.client();
  b = kiln.client('us-east-1', B);
  image = (await a.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
});
after(async () => { await kiln?.close(); });

async function launch(client: EC2Client, userData?: string, SecurityGroupIds?: string[], KeyName?: string): Promise<Instance> {
  if (KeyName) await client.send(new CreateKeyPairCommand({ KeyName }));
  const { Instances = [] } = await client.send(new RunInstancesCommand({
    ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: userData, SecurityGroupIds, KeyName,
  }));
  const id = Instances[0]!.InstanceId!;
  return until(`${id} to run`, async () => {
    const { Reservations = [] } = await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const inst = Reservations[0]!.Instances![0]!;
    assert.notEqual(inst.State?.Name, 'terminated', inst.StateReason?.Message);
    return inst.State?.Name === 'running' && inst;
  });
}

/** The body the host gets for GET http://ip/, or "unreachable" (a dropped connection times out). */
async function fromHost(ip: string): Promise<string> {
  try {
    return (await httpGet(`http://${ip}/`)).trim();
  } catch {
    return 'unreachable';
  }
}

/** The body `from` gets for GET http://ip/ (busybox nc: busybox-static's wget crashes resolving), or "unreachable". */
const fetchFrom = (from: string, ip: string) =>
  inInstance(kiln, from, `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} 80 2>/dev/null | tail -n 1 | grep . || echo unreachable`)
    .then((s) => s.trim());

test('the host and the account\'s own instances reach an instance at its private address; another account\'s do not', { skip, timeout: 120_000 }, async () => {
  const web = await launch(a, WEB('web-1'));
  const peer = await launch(a);
  const stranger = await launch(b);
  const ip = web.PrivateIpAddress!;
  assert.match(ip, /^172\.31\.\d+\.\d+$/);
  assert.equal(new Set([web, peer, stranger].map((i) => i.PrivateIpAddress)).size, 3, 'addresses are unique on the host');
  // The instance sees the address DescribeInstances shows.
  assert.match(await inInstance(kiln, web.InstanceId!, 'ip -4 -o addr show dev eth0'), new RegExp(`inet ${ip.replace(/\./g, '\\.')}/16`));

  // The default group admits only its own members: the account's other instance, not the host.
  assert.equal(await until('the web server to answer its peer', async () => {
    const got = await fetchFrom(peer.InstanceId!, ip);
    return got !== 'unreachable' && got;
  }, 30_000, 250), 'hello from web-1');
  assert.equal(await fromHost(ip), 'unreachable');
  // A rule opens port 80 to everyone, at once; revoking it closes the port again.
  const { SecurityGroups: [dflt] = [] } = await a.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  const open80 = { GroupId: dflt!.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] };
  await a.send(new AuthorizeSecurityGroupIngressCommand(open80));
  assert.equal(await fromHost(ip), 'hello from web-1', 'open to the host once authorized');
  const rules = (await a.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [dflt!.GroupId!] }] }))).SecurityGroupRules!;
  assert.ok(rules.some((r) => !r.IsEgress && r.FromPort === 80 && r.CidrIpv4 === '0.0.0.0/0'));
  await a.send(new RevokeSecurityGroupIngressCommand(open80));
  assert.equal(await fromHost(ip), 'unreachable', 'closed again once revoked');
  assert.equal(await fetchFrom(peer.InstanceId!, ip), 'hello from web-1', 'members still reach it');
  assert.notEqual(await fetchFrom(stranger.InstanceId!, ip), 'hello from web-1');

  await a.send(new TerminateInstancesCommand({ InstanceIds: [web.InstanceId!, peer.InstanceId!] }));
  await b.send(new TerminateInstancesCommand({ InstanceIds: [stranger.InstanceId!] }));
  await until('the instances to terminate', async () => {
    const { Reservations = [] } = await a.send(new DescribeInstancesCommand({ InstanceIds: [web.InstanceId!, peer.InstanceId!] }));
    return Reservations.flatMap((r) => r.Instances!).every((i) => i.State?.Name === 'terminated');
  });
  await kiln.app.ctx.tasks.idle();
  const namespaces = (await execFileP('ip', ['netns', 'list'])).stdout;
  assert.ok(!namespaces.includes(netnsName(web.InstanceId!)), namespaces);
  assert.ok(!(await execFileP('ip', ['-4', 'route', 'show', 'table', 'all'])).stdout.includes(`${ip} dev ${bridgeName(web.VpcId!, kiln.app.ctx.paths.runtime)}`), 'the host route went with the instance');
});

test('a rule naming a group admits exactly its members; groups in use or the default one cannot be deleted', { skip, timeout: 120_000 }, async () => {
  const group = async (name: string) => (await a.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name }))).GroupId!;
  const [servers, clients] = [await group('servers'), await group('clients')];
  await a.send(new CreateTagsCommand({ Resources: [servers], Tags: [{ Key: 'role', Value: 'web' }] }));
  const tagged = await a.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:role', Values: ['web'] }] }));
  assert.deepEqual(tagged.SecurityGroups?.map((g) => g.GroupId), [servers]);
  await a.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: servers, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: clients }] }],
  }));
  const server = await launch(a, WEB('server'), [servers]);
  const client = await launch(a, undefined, [clients]);
  const outsider = await launch(a);
  const ip = server.PrivateIpAddress!;
  assert.deepEqual(server.SecurityGroups?.map((g) => g.GroupName), ['servers']);
  assert.equal(await until('the server to answer its client', async () => {
    const got = await fetchFrom(client.InstanceId!, ip);
    return got !== 'unreachable' && got;
  }, 30_000, 250), 'hello from server');
  assert.equal(await fetchFrom(outsider.InstanceId!, ip), 'unreachable', 'a member of the default group only');
  assert.equal(await fromHost(ip), 'unreachable');

  const code = (p: Promise<unknown>) => p.then(() => 'none', (e: { name: string }) => e.name);
  assert.equal(await code(a.send(new DeleteSecurityGroupCommand({ GroupId: servers }))), 'DependencyViolation');
  assert.equal(await code(a.send(new DeleteSecurityGroupCommand({ GroupName: 'default' }))), 'CannotDelete');
  assert.equal(await code(a.send(new CreateSecurityGroupCommand({ GroupName: 'servers', Description: 'again' }))), 'InvalidGroup.Duplicate');
  assert.equal(await code(a.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: servers, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: clients }] }],
  }))), 'InvalidPermission.Duplicate');
  const ids = [server, client, outsider].map((i) => i.InstanceId!);
  await a.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  await until('the instances to terminate', async () => {
    const { Reservations = [] } = await a.send(new DescribeInstancesCommand({ InstanceIds: ids }));
    return Reservations.flatMap((r) => r.Instances!).every((i) => i.State?.Name === 'terminated');
  });
  await a.send(new RevokeSecurityGroupIngressCommand({ GroupId: servers, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: clients }] }] }));
  await a.send(new DeleteSecurityGroupCommand({ GroupId: servers }));
  await a.send(new DeleteSecurityGroupCommand({ GroupId: clients }));
});

/** One HTTP/1.0 request to the metadata service from inside `id` (busybox nc), as status and body. */
async function imds(id: string, method: string, path: string, headers: string[] = []): Promise<{ status: number; body: string }> {
  const req = [`${method} ${path} HTTP/1.0`, ...headers, '', ''].join('\\r\\n');
  const out = await inInstance(kiln, id, `printf '${req}' | nc -w 2 169.254.169.254 80 2>/dev/null || true`);
  const [head = '', body = ''] = out.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.\d (\d+)/.exec(head)?.[1] ?? 0), body };
}

test('instance metadata at 169.254.169.254: IMDSv1 and v2 tokens, the tree, HttpTokens required, HttpEndpoint disabled', { skip, timeout: 120_000 }, async () => {
  const inst = await launch(a);
  const id = inst.InstanceId!;
  const first = await until('the metadata service to answer', async () => {
    const r = await imds(id, 'GET', '/latest/meta-data/instance-id');
    return r.status && r;
  }, 30_000, 250);
  assert.deepEqual(first, { status: 200, body: id });
  assert.equal((await imds(id, 'GET', '/latest/meta-data/local-ipv4')).body, inst.PrivateIpAddress);
  assert.match((await imds(id, 'GET', '/latest/meta-data/')).body, /^ami-id$/m);
  assert.match((await imds(id, 'GET', '/latest/meta-data/')).body, /^placement\/$/m);
  assert.equal((await imds(id, 'GET', '/2009-04-04/meta-data/placement/availability-zone')).body, inst.Placement?.AvailabilityZone);
  assert.equal((await imds(id, 'GET', '/latest/user-data')).status, 404);
  const doc = JSON.parse((await imds(id, 'GET', '/latest/dynamic/instance-identity/document')).body);
  assert.deepEqual([doc.instanceId, doc.accountId, doc.privateIp, doc.region], [id, '000000000000', inst.PrivateIpAddress, 'us-east-1']);

  const token = await imds(id, 'PUT', '/latest/api/token', ['X-aws-ec2-metadata-token-ttl-seconds: 60']);
  assert.equal(token.status, 200);
  const withToken = [`X-aws-ec2-metadata-token: ${token.body}`];
  assert.deepEqual(await imds(id, 'GET', '/latest/meta-data/instance-id', withToken), { status: 200, body: id });
  assert.equal((await imds(id, 'GET', '/latest/meta-data/instance-id', ['X-aws-ec2-metadata-token: forged'])).status, 401);
  assert.equal((await imds(id, 'PUT', '/latest/api/token', ['X-aws-ec2-metadata-token-ttl-seconds: 0'])).status, 400);
  assert.equal((await imds(id, 'PUT', '/latest/api/token', ['X-aws-ec2-metadata-token-ttl-seconds: 60', 'X-Forwarded-For: 1.2.3.4'])).status, 403);
  // public-keys/ lists "0=name" with no trailing '/', as EC2 (cloud-init's crawler depends on it).
  const keyed = await launch(a, undefined, undefined, 'imds-key');
  assert.equal((await until('metadata of the keyed instance', async () => {
    const r = await imds(keyed.InstanceId!, 'GET', '/latest/meta-data/public-keys/');
    return r.status ? r : undefined;
  }, 30_000, 250)).body, '0=imds-key');
  assert.match((await imds(keyed.InstanceId!, 'GET', '/latest/meta-data/public-keys/0/openssh-key')).body, /^ssh-/);

  // The AWS SDK's own IMDS client (IMDSv2: token first), run in the instance's network namespace.
  const sdk = `import { MetadataService } from '@aws-sdk/ec2-metadata-service';
    const ms = new MetadataService({ endpoint: 'http://169.254.169.254', retries: 0 });
    console.log(JSON.stringify([await ms.request('/latest/meta-data/instance-id', {}), await ms.request('/latest/meta-data/placement/region', {})]));`;
  const { stdout } = await execFileP('ip', ['netns', 'exec', netnsName(id), process.execPath, '--input-type=module', '-e', sdk], { cwd: process.cwd() });
  assert.deepEqual(JSON.parse(stdout), [id, 'us-east-1']);

  await a.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpTokens: 'required' }));
  assert.equal((await imds(id, 'GET', '/latest/meta-data/instance-id')).status, 401);
  assert.equal((await imds(id, 'GET', '/latest/meta-data/instance-id', withToken)).status, 200);
  await a.send(new ModifyInstanceMetadataOptionsCommand({ InstanceId: id, HttpEndpoint: 'disabled' }));
  assert.equal((await imds(id, 'GET', '/latest/meta-data/instance-id', withToken)).status, 0, 'nothing answers at 169.254.169.254');
  await a.send(new TerminateInstancesCommand({ InstanceIds: [id, keyed.InstanceId!] }));
});
