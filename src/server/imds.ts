/**
 * The instance metadata service, as instances reach it at
 * http://169.254.169.254/ (their namespace translates that to this listener,
 * runtime/net/firewall.ts). The caller is known by its source address: this
 * listener's address is its server's own, and the server's host table lets
 * only its own bridges reach it (runtime/net/host-tables.ts); the server gives
 * each address once among its instances (and none the host routes elsewhere);
 * and the host end of each veth passes only the instance's own address. IMDSv1 and IMDSv2 as AWS documents them:
 * PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1-21600)
 * gives a token good for that instance only; a GET with a token must carry a
 * valid one; an instance whose HttpTokens is `required` (or whose image says
 * ImdsSupport v2.0) gets 401 without one; a PUT with X-Forwarded-For is
 * refused. The tree: `latest` and dated versions, meta-data/, user-data,
 * dynamic/instance-identity/document.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Context } from '../services/core/context.js';
import type { InstanceDetails } from '../services/instances/instances.js';
import { instanceAtAddress } from '../services/instances/metadata.js';
import { defaultVpc, macAddress, privateDnsName } from '../services/network/network.js';

type Tree = { [name: string]: string | Tree | undefined };

const VERSIONS = ['1.0', '2007-01-19', '2008-02-01', '2009-04-04', '2011-01-01', '2012-01-12', '2016-09-02', '2018-09-24', '2021-07-15', 'latest'];
const MAX_TTL = 21600;

/** The metadata tree of one instance. */
export function metadataTree(d: InstanceDetails): Tree {
  const { inst, attrs } = d;
  const mac = macAddress(attrs.networkInterfaceId);
  const hostname = privateDnsName(inst.region, attrs.privateIp);
  const groups = attrs.securityGroupIds.map((id) => d.groupNames[id] ?? id);
  const devices: Tree = {};
  for (const v of d.volumes) devices[v.attachment!.device === inst.rootDeviceName ? 'root' : `ebs${Object.keys(devices).length}`] = v.attachment!.device;
  if (devices.root) devices.ami = devices.root;
  const identity = {
    accountId: inst.account, architecture: inst.architecture, availabilityZone: inst.availabilityZone, imageId: inst.imageId,
    instanceId: inst.id, instanceType: inst.instanceType, pendingTime: inst.launchTime, privateIp: attrs.privateIp,
    region: inst.region, version: '2017-09-30', billingProducts: null, devpayProductCodes: null, kernelId: null, ramdiskId: null,
    marketplaceProductCodes: inst.productCodes?.filter((p) => p.type === 'marketplace').map((p) => p.code) ?? null,
  };
  const metaData: Tree = {
    'ami-id': inst.imageId, 'ami-launch-index': String(inst.amiLaunchIndex), 'ami-manifest-path': '(unknown)',
    'block-device-mapping': devices, hostname, 'instance-action': 'none', 'instance-id': inst.id, 'instance-life-cycle': 'on-demand',
    'instance-type': inst.instanceType, 'local-hostname': hostname, 'local-ipv4': attrs.privateIp, mac,
    network: { interfaces: { macs: { [mac]: {
      'device-number': '0', 'interface-id': attrs.networkInterfaceId, 'local-hostname': hostname, 'local-ipv4s': attrs.privateIp, mac,
      'owner-id': inst.account, 'security-group-ids': attrs.securityGroupIds.join('\n'), 'security-groups': groups.join('\n'),
      'subnet-id': attrs.subnetId, 'vpc-id': defaultVpc(inst).vpcId,
    } } } },
    placement: { 'availability-zone': inst.availabilityZone, region: inst.region },
    'reservation-id': inst.reservationId, 'security-groups': groups.join('\n'),
    'public-keys': inst.keyName && inst.publicKey ? { [`0=${inst.keyName}`]: { 'openssh-key': `${inst.publicKey}\n` } } : undefined,
    services: { domain: 'amazonaws.com', partition: 'aws' },
    tags: attrs.metadataOptions.instanceMetadataTags === 'enabled'
      ? { instance: Object.fromEntries(inst.tags.map((t) => [t.key, t.value])) } : undefined,
  };
  return {
    'meta-data': metaData,
    'user-data': inst.userData ? Buffer.from(inst.userData, 'base64').toString('latin1') : undefined,
    dynamic: { 'instance-identity': { document: JSON.stringify(identity, null, 2) } },
  };
}

/** A directory lists its entries, subtrees with a trailing '/'; public-keys lists "0=name" as EC2 does. */
function listing(t: Tree): string {
  // "0=name" has no trailing '/' although 0/ is a directory (cloud-init's crawler relies on that).
  return Object.entries(t).filter(([, v]) => v !== undefined).map(([k, v]) => (typeof v === 'string' || k.includes('=') ? k : `${k}/`)).join('\n');
}

/** The value at `path` under the tree, as EC2 names it (public-keys/0/openssh-key reaches "0=name"). */
function lookup(tree: Tree, parts: string[]): string | Tree | undefined {
  let node: string | Tree | undefined = tree;
  for (const part of parts) {
    if (node === undefined || typeof node === 'string') return undefined;
    const t: Tree = node;
    node = t[part] ?? Object.entries(t).find(([k]) => k.startsWith(`${part}=`))?.[1];
  }
  return node;
}

interface Token { instanceId: string; expires: number }

export interface Imds { server: Server; port: number; close(): Promise<void> }

/** Serves the metadata of the instance at each caller's address. `identify` maps an address to it (tests give their own). */
export function imdsHandler(ctx: Context, identify = (ip: string) => instanceAtAddress(ctx, ip)) {
  const tokens = new Map<string, Token>();
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, body = '', type = 'text/plain') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), server: 'EC2ws' });
      res.end(body);
    };
    try {
      const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
      const d = await identify(ip);
      if (!d || d.attrs.metadataOptions.httpEndpoint !== 'enabled') return send(404, 'Not Found');
      // Repeated slashes are one, as EC2's service takes them (the SDK's IMDS client sends //latest/...).
      const url = new URL((req.url ?? '/').replace(/\/{2,}/g, '/'), 'http://169.254.169.254');
      const now = Date.now();
      for (const [t, v] of tokens) if (v.expires <= now) tokens.delete(t);
      if (url.pathname === '/latest/api/token') {
        if (req.method !== 'PUT') return send(405, 'Method Not Allowed');
        if (req.headers['x-forwarded-for'] !== undefined) return send(403, 'Forbidden');
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) return send(400, 'Bad Request');
        const token = randomBytes(42).toString('base64url');
        tokens.set(token, { instanceId: d.inst.id, expires: now + ttl * 1000 });
        res.setHeader('x-aws-ec2-metadata-token-ttl-seconds', String(ttl));
        return send(200, token);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method Not Allowed');
      const given = req.headers['x-aws-ec2-metadata-token'];
      const valid = typeof given === 'string' && tokens.get(given)?.instanceId === d.inst.id;
      if (given !== undefined && !valid) return send(401, 'Unauthorized');
      if (!valid && d.attrs.metadataOptions.httpTokens === 'required') return send(401, 'Unauthorized');
      const parts = url.pathname.split('/').filter(Boolean);
      if (!parts.length) return send(200, VERSIONS.join('\n'));
      if (!VERSIONS.includes(parts[0]!)) return send(404, 'Not Found');
      const node = lookup(metadataTree(d), parts.slice(1));
      if (node === undefined) return send(404, 'Not Found');
      if (typeof node === 'string') return send(200, node, parts.at(-1) === 'document' ? 'application/json' : 'text/plain');
      return send(200, listing(node));
    } catch (err) {
      ctx.log(`kiln: metadata service: ${(err as Error).message}`);
      return send(500, 'Internal Server Error');
    }
  };
}

/** Listens on `address` (a host address only instances reach) at an ephemeral port. */
export async function startImds(ctx: Context, address: string): Promise<Imds> {
  const handle = imdsHandler(ctx);
  const server = createServer((req, res) => { void handle(req, res); });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, address, resolve); });
  const port = (server.address() as { port: number }).port;
  return {
    server, port,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
