/**
 * EC2 key pairs: CreateKeyPair (Kiln makes the key and hands the private half
 * over once, keeping only the public half), ImportKeyPair (OpenSSH, RFC 4716
 * or PEM public keys), DescribeKeyPairs and DeleteKeyPair; RunInstances takes
 * the public key into the instance, whose init installs it in root's
 * authorized_keys as cloud-init does.
 *
 * Fingerprints are AWS's: a created RSA key's is the SHA-1 of its PKCS#8 DER
 * private key, an imported RSA key's the MD5 of its DER public key, an
 * ED25519 key's the base64 SHA-256 of its OpenSSH public key blob.
 */
import { createHash, createPublicKey, generateKeyPair, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { Caller, Context } from '../core/context.js';
import { Invalid, NotFound } from '../core/errors.js';
import { newId, nowIso } from '../core/ids.js';
import type { Tag } from '../../model/records.js';
import type { KeyPairRecord } from '../../model/extra-records.js';
import { DuplicateError } from '../../store/store.js';

const generate = promisify(generateKeyPair);
const keyPairs = (ctx: Context) => ctx.store.collection<KeyPairRecord>('key-pair');
const RSA_BITS = [1024, 2048, 3072, 4096];

// ---- OpenSSH wire format (RFC 4253 section 6.6) ----

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** An mpint: big-endian, a leading zero byte when the high bit is set. */
const sshMpint = (n: Buffer) => sshString(n[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), n]) : n);

function readStrings(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length;) {
    if (at + 4 > blob.length) throw badKey();
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) throw badKey();
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const b64url = (s: string) => Buffer.from(s, 'base64url');
const badKey = () => new Invalid('InvalidKey.Format', 'Key is not in valid OpenSSH public key format');

/** The OpenSSH public key blob of an RSA or ED25519 public key. */
function sshBlob(key: KeyObject): { type: 'rsa' | 'ed25519'; blob: Buffer } {
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType === 'rsa') {
    return { type: 'rsa', blob: Buffer.concat([sshString('ssh-rsa'), sshMpint(b64url(jwk.e!)), sshMpint(b64url(jwk.n!))]) };
  }
  if (key.asymmetricKeyType === 'ed25519') return { type: 'ed25519', blob: Buffer.concat([sshString('ssh-ed25519'), sshString(b64url(jwk.x!))]) };
  throw badKey();
}

/** The public key a blob holds (checked by building a key object from it). */
function keyFromBlob(blob: Buffer): KeyObject {
  const [type, ...parts] = readStrings(blob);
  const strip = (b: Buffer) => (b[0] === 0 ? b.subarray(1) : b);
  try {
    if (type?.toString() === 'ssh-rsa' && parts.length === 2) {
      return createPublicKey({ key: { kty: 'RSA', e: strip(parts[0]!).toString('base64url'), n: strip(parts[1]!).toString('base64url') }, format: 'jwk' });
    }
    if (type?.toString() === 'ssh-ed25519' && parts.length === 1 && parts[0]!.length === 32) {
      return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: parts[0]!.toString('base64url') }, format: 'jwk' });
    }
  } catch { /* falls through to the format error */ }
  throw badKey();
}

/** An imported public key: OpenSSH ("ssh-rsa AAAA... comment"), RFC 4716 ("---- BEGIN SSH2 PUBLIC KEY ----") or PEM. */
function parsePublicKey(text: string): KeyObject {
  const t = text.trim();
  try {
    if (t.startsWith('-----BEGIN')) return createPublicKey(t);
  } catch {
    throw badKey();
  }
  if (t.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    // Header lines ("Comment: ...", continued with a trailing backslash) come before the base64 body.
    const lines = t.split(/\r?\n/).slice(1, -1);
    let i = 0;
    while (i < lines.length && (lines[i]!.includes(':') || lines[i - 1]?.endsWith('\\'))) i++;
    return keyFromBlob(Buffer.from(lines.slice(i).join(''), 'base64'));
  }
  const [type, data] = t.split(/\s+/);
  if (!data || !/^(ssh-rsa|ssh-ed25519)$/.test(type!)) throw badKey();
  return keyFromBlob(Buffer.from(data, 'base64'));
}

const colonHex = (digest: Buffer) => digest.toString('hex').match(/../g)!.join(':');

function fingerprint(pub: KeyObject, created: { pkcs8Der?: Buffer }): string {
  const { type, blob } = sshBlob(pub);
  if (type === 'ed25519') return createHash('sha256').update(blob).digest('base64');
  if (created.pkcs8Der) return colonHex(createHash('sha1').update(created.pkcs8Der).digest());
  return colonHex(createHash('md5').update(pub.export({ format: 'der', type: 'spki' })).digest());
}

/** The unencrypted openssh-key-v1 private key file OpenSSH (and AWS, for ED25519) writes. */
function opensshPrivateKey(priv: KeyObject, pub: KeyObject, comment: string): string {
  const { blob } = sshBlob(pub);
  const jwk = priv.export({ format: 'jwk' });
  const seedAndPublic = Buffer.concat([b64url(jwk.d!), b64url(jwk.x!)]);
  const check = randomBytes(4);
  let section = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(b64url(jwk.x!)), sshString(seedAndPublic), sshString(comment)]);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), sshString('none'), sshString('none'), sshString(''), count, sshString(blob), sshString(section)]);
  const lines = body.toString('base64').match(/.{1,70}/g)!.join('\n');
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

// ---- The API ----

function validateKeyName(name: string | undefined): string {
  if (!name) throw new Invalid('MissingParameter', 'The request must contain the parameter KeyName');
  if (name.length > 255 || !/^[\x20-\x7e]+$/.test(name) || name.trim() !== name) {
    throw new Invalid('InvalidParameterValue', `Value (${name}) for parameter keyName is invalid. Key names are 1-255 ASCII characters, without leading or trailing spaces.`);
  }
  return name;
}

/** Records a new key pair under its name, which the store keeps unique per account and region (schema.ts). */
async function insertKeyPair(ctx: Context, caller: Caller, keyName: string, pub: KeyObject, fp: string, tags: Tag[]): Promise<KeyPairRecord> {
  const { type, blob } = sshBlob(pub);
  const rec: KeyPairRecord = {
    id: newId('key-pair'), account: caller.account, region: caller.region, keyName, keyType: type, fingerprint: fp,
    publicKey: `ssh-${type} ${blob.toString('base64')} ${keyName}`, createTime: nowIso(), tags,
  };
  try {
    await keyPairs(ctx).insert(rec);
  } catch (err) {
    if (err instanceof DuplicateError) throw new Invalid('InvalidKeyPair.Duplicate', `The keypair '${keyName}' already exists.`);
    throw err;
  }
  return rec;
}

/** CreateKeyPair: the record, and the private key in AWS's format (PKCS#1 PEM for RSA, OpenSSH for ED25519), shown this once. */
export async function createKeyPair(
  ctx: Context, caller: Caller, req: { keyName?: string; keyType?: string; keyFormat?: string; tags?: Tag[] },
): Promise<{ keyPair: KeyPairRecord; keyMaterial: string }> {
  const keyName = validateKeyName(req.keyName);
  const keyType = req.keyType ?? 'rsa';
  if (keyType !== 'rsa' && keyType !== 'ed25519') throw new Invalid('InvalidParameterValue', `Value (${keyType}) for parameter keyType is invalid. Expected: 'rsa', 'ed25519'.`);
  if (req.keyFormat !== undefined && req.keyFormat !== 'pem') {
    throw new Invalid('InvalidParameterValue', `Value (${req.keyFormat}) for parameter keyFormat is invalid. Kiln writes private keys in 'pem' format only.`);
  }
  if (await findKeyPair(ctx, caller, keyName)) throw new Invalid('InvalidKeyPair.Duplicate', `The keypair '${keyName}' already exists.`);
  const { publicKey, privateKey } = keyType === 'rsa'
    ? await generate('rsa', { modulusLength: 2048 }) : await generate('ed25519');
  const pkcs8Der = keyType === 'rsa' ? privateKey.export({ format: 'der', type: 'pkcs8' }) : undefined;
  const keyPair = await insertKeyPair(ctx, caller, keyName, publicKey, fingerprint(publicKey, { pkcs8Der }), req.tags ?? []);
  const keyMaterial = keyType === 'rsa'
    ? privateKey.export({ format: 'pem', type: 'pkcs1' }).toString()
    : opensshPrivateKey(privateKey, publicKey, keyName);
  return { keyPair, keyMaterial };
}

/** ImportKeyPair: `material` is the public key file's text (the SDKs send it base64-encoded; the codec has decoded it). */
export async function importKeyPair(ctx: Context, caller: Caller, req: { keyName?: string; material?: Uint8Array | string; tags?: Tag[] }): Promise<KeyPairRecord> {
  const keyName = validateKeyName(req.keyName);
  if (!req.material?.length) throw new Invalid('MissingParameter', 'The request must contain the parameter PublicKeyMaterial');
  const pub = parsePublicKey(Buffer.from(req.material).toString('utf8'));
  if (pub.asymmetricKeyType === 'rsa' && !RSA_BITS.includes(pub.asymmetricKeyDetails?.modulusLength ?? 0)) {
    throw new Invalid('InvalidKey.Format', 'Key is not in valid OpenSSH public key format: RSA keys must be 1024, 2048, 3072 or 4096 bits');
  }
  return insertKeyPair(ctx, caller, keyName, pub, fingerprint(pub, {}), req.tags ?? []);
}

export async function findKeyPair(ctx: Context, caller: Caller, keyName: string): Promise<KeyPairRecord | undefined> {
  return (await keyPairs(ctx).list(caller)).find((k) => k.keyName === keyName);
}

/** The key pair RunInstances names: it must exist in the caller's account and region. */
export async function launchKeyPair(ctx: Context, caller: Caller, keyName: string): Promise<KeyPairRecord> {
  const k = await findKeyPair(ctx, caller, keyName);
  if (!k) throw new Invalid('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
  return k;
}

/** The caller's key pairs; names and ids given must all exist. */
export async function describeKeyPairs(ctx: Context, caller: Caller, names: string[] = [], ids: string[] = []): Promise<KeyPairRecord[]> {
  const all = await keyPairs(ctx).list(caller);
  const missingName = names.find((n) => !all.some((k) => k.keyName === n));
  if (missingName !== undefined) throw new Invalid('InvalidKeyPair.NotFound', `The key pair '${missingName}' does not exist`);
  const missingId = ids.find((id) => !all.some((k) => k.id === id));
  if (missingId !== undefined) throw new NotFound('key-pair', [missingId]);
  if (!names.length && !ids.length) return all;
  return all.filter((k) => names.includes(k.keyName) || ids.includes(k.id));
}

/** DeleteKeyPair by name or id: deleting a key pair that is not there succeeds, as on AWS. Instances keep their key. */
export async function deleteKeyPair(ctx: Context, caller: Caller, req: { keyName?: string; keyPairId?: string }): Promise<string | undefined> {
  if (!req.keyName && !req.keyPairId) throw new Invalid('MissingParameter', 'The request must contain the parameter KeyName or KeyPairId');
  const all = await keyPairs(ctx).list(caller);
  const k = all.find((x) => (req.keyPairId ? x.id === req.keyPairId : x.keyName === req.keyName));
  if (k) await keyPairs(ctx).delete(k.id);
  return k?.id;
}
