/**
 * What must be unique in the store beyond a record's id, by collection kind:
 * the unique key of a record, or undefined when it holds none (a deregistered
 * image gives its name up). Every Store implementation enforces these as unique
 * keys (SQLite: a unique index; PostgreSQL: the same), so two concurrent
 * requests cannot both take a name, whichever process serves them. Client
 * tokens need no entry: their id is account/region/token.
 */
import type { KeyPairRecord, SecurityGroupRecord } from '../model/extra-records.js';
import type { ImageRecord } from '../model/records.js';
import type { LaunchTemplateRecord } from '../model/template-records.js';

type UniqueKey<T> = (doc: T) => string | undefined;

export const UNIQUE_KEYS: Record<string, UniqueKey<never>> = {
  /** Image names, per account and region, while the image is registered. */
  image: (d: ImageRecord) => (d.state === 'deregistered' ? undefined : `${d.account}/${d.region}/${d.name}`),
  /** Key-pair names, per account and region. */
  'key-pair': (d: KeyPairRecord) => `${d.account}/${d.region}/${d.keyName}`,
  /** Security group names, per VPC. */
  'security-group': (d: SecurityGroupRecord) => `${d.account}/${d.region}/${d.vpcId}/${d.groupName}`,
  /** Launch template names, per account and region. */
  'launch-template': (d: LaunchTemplateRecord) => `${d.account}/${d.region}/${d.name}`,
};

export const uniqueKeyOf = <T>(kind: string, doc: T): string | undefined => (UNIQUE_KEYS[kind] as UniqueKey<T> | undefined)?.(doc);
