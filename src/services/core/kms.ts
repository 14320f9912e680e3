/**
 * KMS key ids for encrypted volumes, snapshots and image mappings. Kiln keeps
 * no keys (its data is not encrypted at rest by KMS); it records the key a
 * request names and otherwise reports, as AWS does, the account's AWS managed
 * key for EBS (alias aws/ebs), a stable ARN per account and region.
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
