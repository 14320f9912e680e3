/**
 * The `kiln` command.
 *   kiln serve [--host 127.0.0.1] [--port 4747] [--data ./.kiln] [--cache /var/cache/kiln] [--no-debian]
 *   kiln doctor
 *   kiln accounts ...      (cli/accounts.ts)
 *   kiln marketplace ...   (cli/marketplace.ts)
 *   kiln storage | gc | fsck (cli/storage.ts)
 *   kiln image import|export (cli/image.ts)
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { accountsCommand } from './accounts.js';
import { doctor } from './doctor.js';
import { imageCommand } from './image.js';
import { marketplaceCommand } from './marketplace.js';
import { serve } from './serve.js';
import { storageCommand } from './storage.js';
import { DEFAULT_CACHE_DIR } from '../server/app.js';
import { parseRateLimit } from '../server/rate-limit.js';

const USAGE = `usage:
  kiln serve [--host HOST] [--port PORT] [--data DIR]   start the server (env KILN_HOST, KILN_PORT, KILN_DATA_DIR)
      [--cache DIR] [--no-debian]                      host cache of built images (env KILN_CACHE_DIR, default
                                                       /var/cache/kiln); no Debian 12 catalog image (only the minimal
                                                       one). KILN_DEBIAN_MIRROR: a mirror URL or apt sources file
      [--no-nat]                                       instances do not reach beyond the host (env KILN_NAT=off)
      [--vpc-cidr 172.31.0.0/16]                       every default VPC's range, a private /16 (env KILN_VPC_CIDR)
      [--pool auto|copy]                               auto: volumes are reflink clones of per-snapshot bases (on
                                                       XFS/btrfs, or an XFS pool file Kiln makes); copy: restored
                                                       in full (env KILN_POOL)
      [--pool-size GiB]                                the XFS pool file's size (sparse; default 90% of the free
                                                       space); a larger size grows it (env KILN_POOL_SIZE)
      [--key-file FILE]                                the key sealing the secret access keys in kiln.db (made
                                                       0600 if absent; default DIR/kiln.key; env KILN_KEY_FILE)
      [--public-url URL]...                            another URL clients reach the server at (a proxy's); only
                                                       these, loopback names and the bind address are answered
                                                       (env KILN_PUBLIC_URL, comma-separated)
      [--allow-default-keys]                           keep account 000000000000's test/test key when --host is
                                                       not loopback (otherwise it is replaced by a random one)
      [--rate-limit N|off]                             per-account request rates: N times EC2's (default 50; env
                                                       KILN_RATE_LIMIT); throttled calls get RequestLimitExceeded
  kiln doctor [--data DIR]                             say what this host lacks to run instances, and which volume
                                                       pool kiln serve would use over DIR
  kiln accounts create|list|show|rotate-key|delete-key accounts and access keys (admin API; kiln accounts help)
  kiln marketplace publish|products|subscribe|unsubscribe|subscriptions|usage
                                                       marketplace products (admin API; kiln marketplace help)
  kiln storage | kiln gc [--dry-run] | kiln fsck       block store use, garbage collection, checking (admin API;
                                                       kiln storage --help)
  kiln image import DISK --name NAME | export AMI FILE  a raw or qcow2 disk to an AMI and back, through the EBS
                                                       direct APIs (AWS credentials; kiln image help)`;

function poolMode(mode: string): 'auto' | 'copy' {
  if (mode !== 'auto' && mode !== 'copy') throw new Error(`--pool must be auto or copy, not '${mode}'`);
  return mode;
}

function poolSize(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/G(iB)?$/i, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`--pool-size must be a whole number of GiB, not '${v}'`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: {
        host: { type: 'string' }, port: { type: 'string' }, data: { type: 'string' }, cache: { type: 'string' }, 'no-debian': { type: 'boolean' }, 'no-nat': { type: 'boolean' }, 'vpc-cidr': { type: 'string' }, pool: { type: 'string' }, 'pool-size': { type: 'string' },
        'key-file': { type: 'string' },
        'public-url': { type: 'string', multiple: true }, 'allow-default-keys': { type: 'boolean' },
        'rate-limit': { type: 'string' },
      } });
      const port = Number(values.port ?? process.env.KILN_PORT ?? 4747);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        console.error(`kiln: invalid port '${values.port ?? process.env.KILN_PORT}'`);
        return 2;
      }
      await serve({
        host: values.host ?? process.env.KILN_HOST ?? '127.0.0.1', port,
        dataDir: resolve(values.data ?? process.env.KILN_DATA_DIR ?? '.kiln'),
        nat: !values['no-nat'] && process.env.KILN_NAT !== 'off',
        vpcCidr: values['vpc-cidr'] ?? process.env.KILN_VPC_CIDR,
        pool: poolMode(values.pool ?? process.env.KILN_POOL ?? 'auto'),
        poolSizeGiB: poolSize(values['pool-size'] ?? process.env.KILN_POOL_SIZE),
        keyFile: (values['key-file'] ?? process.env.KILN_KEY_FILE) && resolve(values['key-file'] ?? process.env.KILN_KEY_FILE!),
        publicUrls: values['public-url'] ?? process.env.KILN_PUBLIC_URL?.split(',').filter(Boolean),
        allowDefaultKeys: !!values['allow-default-keys'],
        rateLimit: parseRateLimit(values['rate-limit'] ?? process.env.KILN_RATE_LIMIT),
        debian: values['no-debian'] ? false : {
          cacheDir: resolve(values.cache ?? process.env.KILN_CACHE_DIR ?? DEFAULT_CACHE_DIR),
          ...(process.env.KILN_DEBIAN_MIRROR ? { mirror: process.env.KILN_DEBIAN_MIRROR } : {}),
        },
      });
      return 0;
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { data: { type: 'string' } } });
      return doctor(resolve(values.data ?? process.env.KILN_DATA_DIR ?? '.kiln'));
    }
    case 'accounts':
      return accountsCommand(rest);
    case 'marketplace':
      return marketplaceCommand(rest);
    case 'storage': case 'gc': case 'fsck':
      return storageCommand(command, rest);
    case 'image':
      return imageCommand(rest);
    case undefined: case 'help': case '--help': case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`kiln: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code; }, (err: unknown) => {
  console.error(`kiln: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
