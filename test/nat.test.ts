/**
 * NAT to the outside, without leaving the machine: the "outside" is a network
 * namespace this test makes (198.18.0.0/30, the benchmarking range) beyond
 * the host. An instance's connection out to it leaves masqueraded as the
 * host, and the outside cannot open a connection to the instance, even where
 * its security group would let the traffic in (as behind a NAT gateway);
 * and the instance gets the host's resolvers.
 * Kiln turns the host's IPv4 forwarding on for it (the test turns it back off
 * when it was off before).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Instance } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { httpGet, inInstance, startKiln, until } from './harness.js';
import { resolverLines } from '../src/runtime/net/host-network.js';
import { tableName } from '../src/runtime/net/host-tables.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('instances');
const NS = 'kiln-nat-test-out';
const HOST_END = 'kntest0';
const [HOST_ADDR, OUTSIDE_ADDR] = ['198.18.0.1', '198.18.0.2'];
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

let kiln: Kiln;
let forwardingBefore = '';
let outsideServer: ChildProcess | undefined;
const ip = (...args: string[]) => execFileP('ip', args);

before(async () => {
  if (skip) return;
  forwardingBefore = (await readFile(IP_FORWARD, 'utf8')).trim();
  // The outside: a namespace behind a veth, with a TCP service that answers with the address it sees.
  await ip('netns', 'add', NS);
  await ip('link', 'add', HOST_END, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS);
  await ip('addr', 'add', `${HOST_ADDR}/30`, 'dev', HOST_END);
  await ip('link', 'set', HOST_END, 'up');
  await ip('-n', NS, 'addr', 'add', `${OUTSIDE_ADDR}/30`, 'dev', 'eth0');
  await ip('-n', NS, 'link', 'set', 'eth0', 'up');
  await ip('-n', NS, 'link', 'set', 'lo', 'up');
  // As a router of the outside would: it knows the way to the VPC range, through the host.
  await ip('-n', NS, 'route', 'add', '172.31.0.0/16', 'via', HOST_ADDR);
  outsideServer = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e',
    "require('net').createServer((s) => s.end(s.remoteAddress.replace('::ffff:', '') + '\\n')).listen(8080, () => console.log('up'))"],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((res) => outsideServer!.stdout!.once('data', res));
  kiln = await startKiln({ nat: true });
});

after(async () => {
  await kiln?.close();
  outsideServer?.kill();
  await ip('link', 'delete', HOST_END).catch(() => undefined);
  await ip('netns', 'delete', NS).catch(() => undefined);
  if (forwardingBefore === '0') {
    await writeFile(IP_FORWARD, '0\n');
    await rm('/run/kiln/ip-forward-enabled-by-kiln', { force: true });
  }
});

const WEB = Buffer.from('#!/bin/sh\nmkdir -p /srv/www && echo inside > /srv/www/index.html\nbusybox httpd -p 80 -h /srv/www\n').toString('base64');

test('NAT: an instance reaches the outside as the host, with the host\'s resolvers; the outside cannot reach in', { skip, timeout: 120_000 }, async () => {
  const ec2 = kiln.client();
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const { SecurityGroups: [dflt] = [] } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: dflt!.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: WEB }));
  const id = Instances[0]!.InstanceId!;
  const inst = await until<Instance>('the instance to run', async () => {
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    assert.notEqual(i.State?.Name, 'terminated', i.StateReason?.Message);
    return i.State?.Name === 'running' && i;
  });
  assert.equal((await readFile(IP_FORWARD, 'utf8')).trim(), '1', 'Kiln turned forwarding on for NAT');
  const table = (await execFileP('nft', ['list', 'table', 'inet', tableName(kiln.app.ctx.paths.runtime)])).stdout;
  assert.match(table, /masquerade/);

  // Out: the outside sees the host's address, not the instance's private one.
  const seen = await until('the outside to answer the instance', async () =>
    (await inInstance(kiln, id, `nc -w 2 ${OUTSIDE_ADDR} 8080 </dev/null || true`)).trim(), 30_000, 250);
  assert.equal(seen, HOST_ADDR);

  // DNS: the host's resolvers (never a loopback one), as the instance's /etc/resolv.conf. No name is looked up here.
  const resolvers = resolverLines(await readFile('/etc/resolv.conf', 'utf8'));
  const inside = await inInstance(kiln, id, 'cat /etc/resolv.conf');
  for (const line of resolvers) assert.ok(inside.includes(line), `${line} in the instance's resolv.conf:\n${inside}`);

  // In: the host reaches the web server (its group allows everyone), the outside does not.
  assert.equal(await until('the web server', async () => httpGet(`http://${inst.PrivateIpAddress}/`), 30_000, 250), 'inside\n');
  const { stdout: fromOutside } = await execFileP('ip', ['netns', 'exec', NS, 'sh', '-c',
    `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 ${inst.PrivateIpAddress} 80 || echo unreachable`]);
  assert.equal(fromOutside.trim(), 'unreachable');
});
