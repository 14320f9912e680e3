/**
 * services/core: what every service domain shares: the request context
 * (Context, Caller, Paths), domain errors, ids, client tokens, quotas, KMS key
 * reporting and the background-task runner. Imports only lib/, model/,
 * store/, blocks/ and runtime/ interfaces (docs/architecture.md).
 */
import { join } from 'node:path';
import type { BlockStore } from '../../blocks/blocks.js';
import type { Pruner } from '../../blocks/prune.js';
import type { VolumePool } from '../../blocks/pool.js';
import type { RuntimeDriver } from '../../runtime/runtime.js';
import type { InstanceRecord } from '../../model/records.js';
import type { Store } from '../../store/store.js';
import { KeyedMutex, Tasks } from './concurrency.js';

/** Where Kiln keeps files under its data directory. */
export class Paths {
  constructor(readonly dataDir: string) {}
  get db() { return join(this.dataDir, 'kiln.db'); }
  get blocks() { return join(this.dataDir, 'blocks'); }
  get volumes() { return join(this.dataDir, 'volumes'); }
  get runtime() { return join(this.dataDir, 'runtime'); }
  get consoles() { return join(this.dataDir, 'console'); }
  get tmp() { return join(this.dataDir, 'tmp'); }
  get catalog() { return join(this.dataDir, 'catalog'); }
  /** The XFS pool file a loop-mounted volume pool lives in (blocks/pool.ts). */
  get poolFile() { return join(this.dataDir, 'volumes.xfs'); }
  /** The host's master key (mode 0600), which wraps the data keys of encrypted snapshots (blocks/crypt/keyring.ts). */
  get masterKey() { return join(this.dataDir, 'master.key'); }
  volume(id: string) { return join(this.volumes, `${id}.img`); }
  console(instanceId: string) { return join(this.consoles, `${instanceId}.log`); }
}

/** Everything a service needs, passed explicitly (no globals). */
export interface Context {
  store: Store;
  blocks: BlockStore;
  /** Garbage collection of blocks: snapshot builds hold it, deletes request it. */
  pruner: Pruner;
  /** Where volume files live, and how a volume is made from a snapshot (a reflink clone of its base, or a full restore). */
  pool: VolumePool;
  runtime: RuntimeDriver;
  paths: Paths;
  /** Regions this server serves; the first is the default. */
  regions: string[];
  tasks: Tasks;
  /** Per-resource serialisation of lifecycle work. */
  locks: KeyedMutex;
  /** Where instances' 169.254.169.254 is served on the host, once the metadata listener runs (server/imds.ts). */
  metadataEndpoint?: { address: string; port: number };
  /** The range of every default VPC on this host, a private /16 (absent: AWS's 172.31.0.0/16; services/network/network.ts). */
  vpcCidr?: string;
  /** How far launches and volumes may overcommit the host (services/core/capacity.ts has the defaults). */
  capacity?: CapacityPolicy;
  /** Told of every instance state change, after it is stored (marketplace metering listens). */
  instanceStateListeners: Array<(inst: InstanceRecord) => Promise<void>>;
  log(msg: string): void;
}

/**
 * How much of the host the instances and volumes may claim. Memory: one
 * instance's type at most `instanceMemoryRatio` x the host's memory, and the
 * instances the host holds (pending to shutting-down) at most
 * `memoryOvercommit` x it. Volumes: their provisioned sizes together at most
 * `volumeOvercommit` x the pool's size, and no one volume (or growth) beyond
 * the pool's free space.
 */
export interface CapacityPolicy {
  instanceMemoryRatio?: number;
  memoryOvercommit?: number;
  volumeOvercommit?: number;
}

/** The caller of an API request: the account the access key belongs to, and the region signed for. */
export interface Caller {
  account: string;
  region: string;
  /** The account's organization (o-...) and OU (ou-...), for organization and OU launch permissions. */
  org?: string;
  ou?: string;
  /** A DryRun request: it checks everything and changes nothing (see beforeChange in errors.ts). */
  dryRun?: boolean;
}

export function availabilityZones(region: string): string[] {
  return ['a', 'b', 'c'].map((s) => `${region}${s}`);
}
