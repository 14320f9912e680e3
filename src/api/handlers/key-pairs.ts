/** CreateKeyPair, ImportKeyPair, DescribeKeyPairs and DeleteKeyPair over services/key-pairs.ts. */
import type {
  CreateKeyPairRequest, DeleteKeyPairRequest, DeleteKeyPairResult, DescribeKeyPairsRequest, DescribeKeyPairsResult,
  ImportKeyPairRequest, ImportKeyPairResult, KeyPair, KeyPairInfo,
} from '@aws-sdk/client-ec2';
import { createKeyPair, deleteKeyPair, describeKeyPairs, importKeyPair } from '../../services/keys/key-pairs.js';
import type { FilterFields } from '../filters.js';
import { applyFilters } from '../filters.js';
import type { Handler } from '../handler.js';
import { tagsFromSpecs, toSdkTags } from '../tags.js';
import type { KeyPairRecord } from '../../model/extra-records.js';

const FILTERS: FilterFields<KeyPairRecord> = {
  'key-pair-id': (k) => k.id,
  'key-name': (k) => k.keyName,
  'fingerprint': (k) => k.fingerprint,
  'key-type': (k) => k.keyType,
};

function toSdkKeyPair(k: KeyPairRecord, includePublicKey = false): KeyPairInfo {
  return {
    KeyPairId: k.id, KeyName: k.keyName, KeyFingerprint: k.fingerprint, KeyType: k.keyType, Tags: toSdkTags(k.tags),
    CreateTime: new Date(k.createTime), PublicKey: includePublicKey ? k.publicKey : undefined,
  };
}

export const create: Handler<CreateKeyPairRequest, KeyPair> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['key-pair']);
  const { keyPair: k, keyMaterial } = await createKeyPair(ctx, caller, {
    keyName: input.KeyName, keyType: input.KeyType, keyFormat: input.KeyFormat, tags: tags['key-pair'],
  });
  return { KeyPairId: k.id, KeyName: k.keyName, KeyFingerprint: k.fingerprint, KeyMaterial: keyMaterial, Tags: toSdkTags(k.tags) };
};

export const importKey: Handler<ImportKeyPairRequest, ImportKeyPairResult> = async (ctx, caller, input) => {
  const tags = tagsFromSpecs(input.TagSpecifications, ['key-pair']);
  const k = await importKeyPair(ctx, caller, { keyName: input.KeyName, material: input.PublicKeyMaterial, tags: tags['key-pair'] });
  return { KeyPairId: k.id, KeyName: k.keyName, KeyFingerprint: k.fingerprint, Tags: toSdkTags(k.tags) };
};

export const describe: Handler<DescribeKeyPairsRequest, DescribeKeyPairsResult> = async (ctx, caller, input) => {
  const found = await describeKeyPairs(ctx, caller, input.KeyNames, input.KeyPairIds);
  const keys = applyFilters(found, input.Filters, FILTERS, (k) => k.tags);
  return { KeyPairs: keys.map((k) => toSdkKeyPair(k, input.IncludePublicKey)) };
};

export const remove: Handler<DeleteKeyPairRequest, DeleteKeyPairResult> = async (ctx, caller, input) => {
  const id = await deleteKeyPair(ctx, caller, { keyName: input.KeyName, keyPairId: input.KeyPairId });
  return { Return: true, KeyPairId: id };
};

export const HANDLERS: Record<string, Handler> = {
  CreateKeyPair: create,
  ImportKeyPair: importKey,
  DescribeKeyPairs: describe,
  DeleteKeyPair: remove,
};
