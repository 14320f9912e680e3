/**
 * KMS key ids for encrypted volumes, snapshots and image mappings. Kiln has
 * no KMS: it records the key a request names and otherwise reports, as AWS
 * does, the account's AWS managed key for EBS (alias aws/ebs), a stable ARN
 * per account and region. An encrypted snapshot's blocks are encrypted by the
 * block store under a data key it keeps for that KMS key (blockKeyName).
 */
import { createHash } from 'node:crypto';

/** The ARN AWS reports for an account's aws/ebs key in a region. */
export function defaultEbsKey(account: string, region: string): string {
  const h = createHash('sha256').update(`${account}/${region}/aws/ebs`).digest('hex');
  return `arn:aws:kms:${region}:${account}:key/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The key to report for a resource: none when unencrypted, the one named, else the owner's aws/ebs key. */
export function reportedKey(r: { encrypted: boolean; kmsKeyId?: string }, owner: { account: string; region: string }): string | undefined {
  return r.encrypted ? r.kmsKeyId ?? defaultEbsKey(owner.account, owner.region) : undefined;
}

/**
 * The name the block store keeps a data key under for a resource's KMS key
 * (blocks/crypt/keyring.ts), undefined when it is not encrypted: the owning
 * account and the key's ARN (a bare key id or alias is taken as the owner's
 * in the resource's region). Per account, because Kiln has no key policies:
 * naming another account's key ARN never shares that account's data key, so
 * blocks deduplicate only within one account's use of one key.
 */
export function blockKeyName(r: { encrypted: boolean; kmsKeyId?: string }, owner: { account: string; region: string }): string | undefined {
  const key = reportedKey(r, owner);
  if (key === undefined) return undefined;
  const arn = key.startsWith('arn:') ? key : `arn:aws:kms:${owner.region}:${owner.account}:${key.startsWith('alias/') ? key : `key/${key}`}`;
  return `${owner.account} ${arn}`;
}
