import { randomBytes } from 'node:crypto';
import type { ResourceKind } from './errors.js';

export const ID_PREFIXES = { image: 'ami', snapshot: 'snap', volume: 'vol', instance: 'i', 'key-pair': 'key', 'security-group': 'sg', 'security-group-rule': 'sgr', reservation: 'r', 'launch-template': 'lt' } as const;

/** A new id in AWS's long format: prefix, dash, 17 lower-case hex digits. */
export function newId(kind: keyof typeof ID_PREFIXES): string {
  return `${ID_PREFIXES[kind]}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** AWS accepts both the old 8-digit and the long 17-digit forms. */
export function isValidId(kind: ResourceKind, id: string): boolean {
  return new RegExp(`^${ID_PREFIXES[kind]}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(id);
}

/** ISO-8601 with milliseconds, as EC2 writes creationDate and friends. */
/**
 * Now as ISO 8601 with milliseconds. With 'seconds', the milliseconds are
 * zero, as AWS gives an image's CreationDate, an instance's LaunchTime and an
 * attachment's AttachTime (snapshot and volume times keep them).
 */
export function nowIso(precision: 'ms' | 'seconds' = 'ms'): string {
  const now = new Date();
  if (precision === 'seconds') now.setUTCMilliseconds(0);
  return now.toISOString();
}
