/** Instance types Kiln offers: the CPU and memory each gets as container limits, as AWS sizes them. */
export interface InstanceTypeInfo { vcpus: number; memoryMiB: number; burstable: boolean }

const GiB = 1024;

export const INSTANCE_TYPES: Record<string, InstanceTypeInfo> = {
  'm1.small': { vcpus: 1, memoryMiB: 1.7 * GiB, burstable: false },
  't2.nano': { vcpus: 1, memoryMiB: 0.5 * GiB, burstable: true },
  't2.micro': { vcpus: 1, memoryMiB: 1 * GiB, burstable: true },
  't2.small': { vcpus: 1, memoryMiB: 2 * GiB, burstable: true },
  't2.medium': { vcpus: 2, memoryMiB: 4 * GiB, burstable: true },
  't2.large': { vcpus: 2, memoryMiB: 8 * GiB, burstable: true },
  't2.xlarge': { vcpus: 4, memoryMiB: 16 * GiB, burstable: true },
  't3.nano': { vcpus: 2, memoryMiB: 0.5 * GiB, burstable: true },
  't3.micro': { vcpus: 2, memoryMiB: 1 * GiB, burstable: true },
  't3.small': { vcpus: 2, memoryMiB: 2 * GiB, burstable: true },
  't3.medium': { vcpus: 2, memoryMiB: 4 * GiB, burstable: true },
  't3.large': { vcpus: 2, memoryMiB: 8 * GiB, burstable: true },
  't3.xlarge': { vcpus: 4, memoryMiB: 16 * GiB, burstable: true },
  'm5.large': { vcpus: 2, memoryMiB: 8 * GiB, burstable: false },
  'm5.xlarge': { vcpus: 4, memoryMiB: 16 * GiB, burstable: false },
  'm5.2xlarge': { vcpus: 8, memoryMiB: 32 * GiB, burstable: false },
};

/** AWS's default when RunInstances names no type. */
export const DEFAULT_INSTANCE_TYPE = 'm1.small';

/** The architectures an instance type runs: x86_64, and 32-bit images too on the Xen families up to 4 GiB (m1, t2), as on AWS. */
export function architecturesOf(name: string): Array<'i386' | 'x86_64'> {
  const xen = ['m1', 't2'].includes(name.split('.')[0]!);
  return xen && (INSTANCE_TYPES[name]?.memoryMiB ?? Infinity) <= 4 * GiB ? ['i386', 'x86_64'] : ['x86_64'];
}

/** Whether the type is built on Nitro (t3, m5 ...) rather than Xen (m1, t2). */
export function isNitro(name: string): boolean {
  return !['m1', 't2'].includes(name.split('.')[0]!);
}
