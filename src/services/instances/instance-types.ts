/**
 * The instance types Kiln offers, with AWS's published figures (vCPUs and
 * memory in whole MiB, as DescribeInstanceTypes answers), the per-family facts
 * (Nitro or Xen, current generation, threads per core, network, processor,
 * architecture), and the launch limits that go with them. Each fact is said
 * here once: launch checks, the runtime's CPU and memory limits and
 * DescribeInstanceTypes all read this table.
 */
import type { ImageRecord } from '../../model/records.js';
import { Invalid } from '../core/errors.js';

export interface InstanceTypeInfo { vcpus: number; memoryMiB: number; burstable: boolean }

/** Facts AWS publishes per family. */
export interface Family {
  nitro: boolean;
  current: boolean;
  threads: number;
  network: string;
  architecture: 'x86_64' | 'arm64';
  manufacturer: 'Intel' | 'AMD' | 'AWS';
  clockGhz: number;
}

export const FAMILIES: Record<string, Family> = {
  m1: { nitro: false, current: false, threads: 1, network: 'Low', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 2.5 },
  t2: { nitro: false, current: true, threads: 1, network: 'Low to Moderate', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 2.5 },
  t3: { nitro: true, current: true, threads: 2, network: 'Up to 5 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 2.5 },
  t3a: { nitro: true, current: true, threads: 2, network: 'Up to 5 Gigabit', architecture: 'x86_64', manufacturer: 'AMD', clockGhz: 2.2 },
  t4g: { nitro: true, current: true, threads: 1, network: 'Up to 5 Gigabit', architecture: 'arm64', manufacturer: 'AWS', clockGhz: 2.5 },
  m5: { nitro: true, current: true, threads: 2, network: 'Up to 10 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.1 },
  m6i: { nitro: true, current: true, threads: 2, network: 'Up to 12.5 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.5 },
  m6g: { nitro: true, current: true, threads: 1, network: 'Up to 10 Gigabit', architecture: 'arm64', manufacturer: 'AWS', clockGhz: 2.5 },
  c5: { nitro: true, current: true, threads: 2, network: 'Up to 10 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.4 },
  c6i: { nitro: true, current: true, threads: 2, network: 'Up to 12.5 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.5 },
  r5: { nitro: true, current: true, threads: 2, network: 'Up to 10 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.1 },
  r6i: { nitro: true, current: true, threads: 2, network: 'Up to 12.5 Gigabit', architecture: 'x86_64', manufacturer: 'Intel', clockGhz: 3.5 },
};

/** size -> [vCPUs, MiB] of the families that share AWS's usual shape. */
type Sizes = Record<string, [number, number]>;
const BURSTABLE: Sizes = { nano: [2, 512], micro: [2, 1024], small: [2, 2048], medium: [2, 4096], large: [2, 8192], xlarge: [4, 16384], '2xlarge': [8, 32768] };
const GENERAL: Sizes = { large: [2, 8192], xlarge: [4, 16384], '2xlarge': [8, 32768], '4xlarge': [16, 65536] };
const COMPUTE: Sizes = { large: [2, 4096], xlarge: [4, 8192], '2xlarge': [8, 16384], '4xlarge': [16, 32768] };
const MEMORY: Sizes = { large: [2, 16384], xlarge: [4, 32768], '2xlarge': [8, 65536], '4xlarge': [16, 131072] };

function family(name: string, sizes: Sizes, burstable: boolean): Record<string, InstanceTypeInfo> {
  return Object.fromEntries(Object.entries(sizes).map(([size, [vcpus, memoryMiB]]) => [`${name}.${size}`, { vcpus, memoryMiB, burstable }]));
}

export const INSTANCE_TYPES: Record<string, InstanceTypeInfo> = {
  'm1.small': { vcpus: 1, memoryMiB: 1740, burstable: false },
  ...family('t2', { nano: [1, 512], micro: [1, 1024], small: [1, 2048], medium: [2, 4096], large: [2, 8192], xlarge: [4, 16384], '2xlarge': [8, 32768] }, true),
  ...family('t3', BURSTABLE, true),
  ...family('t3a', BURSTABLE, true),
  ...family('t4g', BURSTABLE, true),
  ...family('m5', GENERAL, false),
  ...family('m6i', GENERAL, false),
  ...family('m6g', { medium: [1, 4096], ...GENERAL }, false),
  ...family('c5', COMPUTE, false),
  ...family('c6i', COMPUTE, false),
  ...family('r5', MEMORY, false),
  ...family('r6i', MEMORY, false),
};

/** AWS's default when RunInstances names no type. */
export const DEFAULT_INSTANCE_TYPE = 'm1.small';

/** Live (not terminated) instances an account may have per region: AWS's default On-Demand limit for new accounts, in instances. */
export const MAX_LIVE_INSTANCES = 20;

/** User data, decoded, is at most 16 KiB. */
export const MAX_USER_DATA_BYTES = 16 * 1024;

export const userDataTooLong = (base64: string | Buffer): boolean =>
  (typeof base64 === 'string' ? Buffer.from(base64, 'base64') : base64).length > MAX_USER_DATA_BYTES;

export const familyOf = (name: string): Family => FAMILIES[name.split('.')[0]!]!;

/** The architectures an instance type runs: arm64 for Graviton, x86_64 else, and 32-bit too on the Xen families up to 4 GiB (m1, t2), as on AWS. */
export function architecturesOf(name: string): Array<'i386' | 'x86_64' | 'arm64'> {
  const f = familyOf(name);
  if (f.architecture === 'arm64') return ['arm64'];
  return !f.nitro && (INSTANCE_TYPES[name]?.memoryMiB ?? Infinity) <= 4096 ? ['i386', 'x86_64'] : ['x86_64'];
}

/** Whether the type is built on Nitro (t3, m5 ...) rather than Xen (m1, t2). */
export const isNitro = (name: string): boolean => familyOf(name).nitro;

/** Cores and threads as AWS sizes them (a 1-vCPU type has one core of one thread). */
export function cpuTopology(name: string): { cores: number; threads: number } {
  const vcpus = INSTANCE_TYPES[name]?.vcpus ?? 1;
  const threads = vcpus > 1 ? familyOf(name).threads : 1;
  return { cores: vcpus / threads, threads };
}

/** Throws InvalidParameterValue unless Kiln offers the type. */
export function knownInstanceType(name: string): InstanceTypeInfo {
  const t = INSTANCE_TYPES[name];
  if (!t) {
    throw new Invalid('InvalidParameterValue',
      `Invalid value '${name}' for InstanceType. Kiln offers ${Object.keys(FAMILIES).join(', ')} types in their usual sizes; 'aws ec2 describe-instance-types' lists them.`);
  }
  return t;
}

/** Throws unless `image` can run on `name`: the type exists, its architecture matches, and Nitro types get ENA images only. */
export function checkInstanceType(name: string, image: ImageRecord): void {
  knownInstanceType(name);
  const archs: string[] = architecturesOf(name);
  if (!archs.includes(image.architecture)) {
    throw new Invalid('InvalidParameterValue', `The architecture '${archs.at(-1)}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again. You can use 'describe-instance-types' or 'describe-images' to discover the architecture of the instance type or AMI.`);
  }
  if (isNitro(name) && !image.enaSupport) {
    throw new Invalid('InvalidParameterCombination', `Enhanced networking with the Elastic Network Adapter (ENA) is required for the '${name}' instance type. Ensure that you are using an AMI that is enabled for ENA.`);
  }
}
