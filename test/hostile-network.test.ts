/**
 * Hostile guests and neighbours on one host's network (issue #17): two Kiln
 * servers on one host with the same VPC range (as every server's default,
 * 172.31.0.0/16, is; here a range of the test's own, so that servers of
 * other test runs on the host stay out of it), A with NAT and B without. A guest of B reads neither A's metadata nor its
 * user data and does not take A's instance's host route; B's tables leave
 * A's NAT alone; a guest that bypasses its own namespace's table (as one with
 * CAP_NET_RAW would wish to) gets no forged frame past its veth; and guests
 * reach nothing of the host itself but the metadata service.
 * Frames are sent and seen with a host-side python3 in the instances'
 * namespaces (test/raw-frames.ts). All traffic stays on the host.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo, Server } from 'node:net';
import { connect, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { EC2Client, Instance } from '@aws-sdk/client-ec2';
import {
  AuthorizeSecurityGroupIngressCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { bridgeName, netnsName } from '../src/runtime/net/host-network.js';
import { defaultVpc, vpcRange } from '../src/services/network/network.js';
import type { Kiln } from './harness.js';
import { httpGet, inInstance, startKiln, until } from './harness.js';
import { framesThrough, macIn } from './raw-frames.js';
import { skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const skip = await skipUnless('instances');
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const MARKER = `kiln-secret-${process.pid}`;
const RANGE = { vpcCidr: '10.231.0.0/16' };

let A: Kiln;
let B: Kiln;
let forwardingBefore = '';
let web: Instance; // A's, with user data holding MARKER and a web server open to the host
let stranger: Instance; // B's

async function launch(kiln: Kiln, client: EC2Client, userData?: string, PrivateIpAddress?: string): Promise<Instance> {
  const image = (await client.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const { Instances = [] } = await client.send(new RunInstancesCommand({
    ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: userData, PrivateIpAddress,
  }));
  const id = Instances[0]!.InstanceId!;
  return until(`${id} to run`, async () => {
    const inst = (await client.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    assert.notEqual(inst.State?.Name, 'terminated', inst.StateReason?.Message);
    return inst.State?.Name === 'running' && inst;
  });
}

/** What `id` gets for an HTTP/1.0 GET of http://<addr>:<port><path> (busybox nc), '' when nothing answers. */
const getFrom = (kiln: Kiln, id: string, addr: string, port: number, path: string) =>
  inInstance(kiln, id, `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${addr} ${port} 2>/dev/null || true`);

/** What a TCP connection to 127.0.0.1:port reads. */
const readAll = (port: number) => new Promise<string>((resolve, reject) => {
  let got = '';
  connect(port, '127.0.0.1').on('data', (d) => { got += d.toString(); }).on('end', () => resolve(got)).on('error', reject);
});

before(async () => {
  if (skip) return;
  forwardingBefore = (await readFile(IP_FORWARD, 'utf8')).trim();
  A = await startKiln({ nat: true, ...RANGE });
  B = await startKiln(RANGE);
  const a = A.client();
  const { SecurityGroups: [dflt] = [] } = await a.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  await a.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: dflt!.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  web = await launch(A, a, Buffer.from(`#!/bin/sh\n# ${MARKER}\nmkdir -p /srv/www && echo page-of-a > /srv/www/index.html\nbusybox httpd -p 80 -h /srv/www\n`).toString('base64'));
  assert.equal(await until('A\'s web server', async () => httpGet(`http://${web.PrivateIpAddress}/`), 30_000, 250), 'page-of-a\n');
  stranger = await launch(B, B.client());
});

after(async () => {
  await B?.close();
  await A?.close();
  if (forwardingBefore === '0') {
    await writeFile(IP_FORWARD, '0\n');
    await rm('/run/kiln/ip-forward-enabled-by-kiln', { force: true });
  }
});

test('a guest of another server on the host reads neither this server\'s metadata nor its user data, nor takes its route', { skip, timeout: 120_000 }, async () => {
  const md = A.app.ctx.metadataEndpoint!;
  const direct = await getFrom(B, stranger.InstanceId!, md.address, md.port, '/latest/user-data');
  assert.ok(!direct.includes(MARKER), 'A\'s user data, to a guest of B');
  assert.doesNotMatch(direct, /^HTTP\//, 'A\'s metadata listener does not answer a guest of B at all');
  const own = await getFrom(B, stranger.InstanceId!, '169.254.169.254', 80, '/latest/meta-data/instance-id');
  assert.match(own, new RegExp(`\r\n\r\n${stranger.InstanceId}$`), 'B\'s guest gets its own metadata');
  assert.equal(await httpGet(`http://${web.PrivateIpAddress}/`), 'page-of-a\n', 'the host still reaches A\'s instance at its address');
  // An address the host routes to another server's instance is not given out, asked for or not.
  assert.notEqual(stranger.PrivateIpAddress, web.PrivateIpAddress);
  const code = await B.client().send(new RunInstancesCommand({
    ImageId: (await B.client().send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!,
    InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, PrivateIpAddress: web.PrivateIpAddress,
  })).then(() => 'none', (e: { name: string }) => e.name);
  assert.equal(code, 'InvalidIPAddress.InUse');
  assert.equal(await httpGet(`http://${web.PrivateIpAddress}/`), 'page-of-a\n');
});

test('a server without NAT leaves the NAT of another server on the host in place', { skip }, async () => {
  const bridge = bridgeName(defaultVpc({ account: '000000000000', region: 'us-east-1' }).vpcId, A.app.ctx.paths.runtime);
  const { stdout } = await execFileP('nft', ['list', 'ruleset']);
  const tables = stdout.split(/^(?=table )/m).filter((t) => /^table inet kiln/.test(t) && t.includes(`"${bridge}"`));
  assert.ok(tables.length, `a table of A's bridge ${bridge}`);
  assert.ok(tables.some((t) => /masquerade/.test(t)), 'A\'s masquerade is still there');
});

test('a guest that bypasses its own namespace\'s table still sends no forged frame past its veth', { skip, timeout: 120_000 }, async () => {
  const attacker = await launch(A, A.client());
  const [tx, rx] = [netnsName(attacker.InstanceId!), netnsName(web.InstanceId!)];
  // What guest root cannot do today, and the host must not rely on: its own table gone.
  await execFileP('ip', ['netns', 'exec', tx, 'nft', 'delete', 'table', 'inet', 'kiln_sg']);
  const [own, peer] = [await macIn(tx), await macIn(rx)];
  const [ip, forged] = [attacker.PrivateIpAddress!, '10.231.200.200'];
  const seen = await framesThrough(tx, rx, peer, web.PrivateIpAddress!, [
    { tag: 'ok', srcMac: own, srcIp: ip, kind: 'ip' },
    { tag: 'okarp', srcMac: own, srcIp: ip, kind: 'arp' },
    { tag: 'ipforge', srcMac: own, srcIp: forged, kind: 'ip' },
    { tag: 'macforge', srcMac: '0e:de:ad:be:ef:01', srcIp: ip, kind: 'ip' },
    { tag: 'arpforge', srcMac: own, srcIp: vpcRange(A.app.ctx).router, kind: 'arp' },
    { tag: 'ip6', srcMac: own, srcIp: ip, kind: 'ip6' },
  ]);
  assert.deepEqual(seen, ['ok', 'okarp'], 'only the frames with the guest\'s own MAC and address, IPv4 or ARP, arrive');
});

test('a guest reaches no host service but the metadata service, neither by the router address nor the host\'s own', { skip, timeout: 120_000 }, async () => {
  const guest = await launch(A, A.client());
  const server: Server = createServer((s) => s.end('host-secret\n'));
  await new Promise<void>((res) => server.listen(0, '0.0.0.0', res));
  try {
    const port = (server.address() as AddressInfo).port;
    const links = JSON.parse((await execFileP('ip', ['-4', '-j', 'addr', 'show'])).stdout) as Array<{ ifname: string; addr_info: Array<{ local: string }> }>;
    const hostOwn = links.filter((l) => !/^(lo|kb-|km-|kv|kiln-)/.test(l.ifname)).flatMap((l) => l.addr_info.map((a) => a.local));
    const targets = [vpcRange(A.app.ctx).router, ...hostOwn];
    assert.equal(await readAll(port), 'host-secret\n', 'the service answers the host itself');
    for (const addr of targets) {
      const got = await inInstance(A, guest.InstanceId!, `nc -w 2 ${addr} ${port} </dev/null 2>/dev/null || true`);
      assert.ok(!got.includes('host-secret'), `a host service listening on 0.0.0.0, through ${addr}`);
    }
    const md = await until('the metadata service', async () => {
      const got = await getFrom(A, guest.InstanceId!, '169.254.169.254', 80, '/latest/meta-data/instance-id');
      return got.includes('\r\n\r\n') && got;
    }, 30_000, 250);
    assert.match(md, new RegExp(`\r\n\r\n${guest.InstanceId}$`), 'the metadata service still answers');
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
  }
});
