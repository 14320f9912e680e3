/**
 * The VPC range setting, for a host whose own networks use AWS's
 * 172.31.0.0/16: every default VPC, its subnets, the instances' addresses,
 * the router (and so the metadata service) follow it. A range that is not a
 * private /16 stops the server at start, with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AuthorizeSecurityGroupIngressCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand,
  DescribeVpcsCommand, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { Kiln } from './harness.js';
import { httpGet, inInstance, startKiln, until } from './harness.js';
import { skipUnless } from './skips.js';

const skip = await skipUnless('instances');
let kiln: Kiln;

before(async () => { if (!skip) kiln = await startKiln({ vpcCidr: '10.213.0.0/16' }); });
after(async () => { await kiln?.close(); });

test('--vpc-cidr: VPCs, subnets, addresses and the metadata service in the range given', { skip, timeout: 120_000 }, async () => {
  const ec2 = kiln.client();
  assert.equal((await ec2.send(new DescribeVpcsCommand({}))).Vpcs![0]!.CidrBlock, '10.213.0.0/16');
  const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets!.map((s) => s.CidrBlock).sort();
  assert.deepEqual(subnets.slice(0, 2), ['10.213.0.0/20', '10.213.16.0/20']);

  const { SecurityGroups: [dflt] = [] } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['default'] }));
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: dflt!.GroupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const web = Buffer.from('#!/bin/sh\nmkdir -p /srv/www && echo in-range > /srv/www/index.html\nbusybox httpd -p 80 -h /srv/www\n').toString('base64');
  const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, UserData: web }));
  const id = Instances[0]!.InstanceId!;
  const inst = await until('running', async () => {
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    return i.State?.Name === 'running' && i;
  });
  assert.equal(inst.PrivateIpAddress, '10.213.0.4');
  assert.equal(inst.PrivateDnsName, 'ip-10-213-0-4.ec2.internal');
  assert.match(await inInstance(kiln, id, 'ip route show default'), /^default via 10\.213\.0\.1 dev eth0/);
  assert.equal(await until('the web server', async () => httpGet('http://10.213.0.4/'), 30_000, 250), 'in-range\n');
  const md = await until('the metadata service', async () =>
    (await inInstance(kiln, id, "printf 'GET /latest/meta-data/local-ipv4 HTTP/1.0\\r\\n\\r\\n' | nc -w 2 169.254.169.254 80 | tail -n 1")).trim(), 30_000, 250);
  assert.equal(md, '10.213.0.4');
});

test('a VPC range that is not a private /16 stops the start with the reason', { skip }, async () => {
  for (const vpcCidr of ['8.8.0.0/16', '10.0.0.0/8', '172.31.0.0/20', 'nonsense']) {
    await assert.rejects(startKiln({ vpcCidr }), /private \/16/);
  }
});
