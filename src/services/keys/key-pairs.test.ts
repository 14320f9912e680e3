/**
 * Key pairs through @aws-sdk/client-ec2 and the aws-cli against a real Kiln:
 * the keys CreateKeyPair hands out are real keys in the formats AWS uses
 * (checked with OpenSSH's ssh-keygen where it is installed, and with
 * node:crypto), fingerprints are computed as AWS computes them, imports take
 * OpenSSH, RFC 4716 and PEM public keys, and an instance launched with a key
 * pair has its public key in root's authorized_keys.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateKeyPairCommand, CreateTagsCommand, DeleteKeyPairCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeTagsCommand,
  ImportKeyPairCommand, RunInstancesCommand, TerminateInstancesCommand, waitUntilInstanceRunning,
} from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Kiln } from '../../../test/harness.js';
import { aws, inInstance, startKiln, until } from '../../../test/harness.js';
import { skipUnless } from '../../../test/skips.js';

const run = promisify(execFile);
const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const noKeygen = existsSync(SSH_KEYGEN) ? false : `${SSH_KEYGEN} is absent (Debian package openssh-client)`;
const noInstances = await skipUnless('instances');

let kiln: Kiln;
let ec2: EC2Client;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try { await p; return 'none'; } catch (err) { return (err as { name: string }).name; }
}
const keygen = async (...args: string[]) => (await run(SSH_KEYGEN, args)).stdout.trim();
const blobOf = (openssh: string) => openssh.split(' ')[1];
const publicKeyOf = async (name: string) =>
  (await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true }))).KeyPairs![0]!;

async function privateFile(name: string, material: string): Promise<string> {
  const file = join(kiln.dataDir, name);
  await writeFile(file, material);
  await chmod(file, 0o600);
  return file;
}

before(async () => {
  kiln = await startKiln();
  ec2 = kiln.client();
});

after(async () => kiln?.close());

describe('CreateKeyPair', () => {
  test('RSA: a PKCS#1 PEM private key, its fingerprint the SHA-1 of its PKCS#8 form', async () => {
    const k = await ec2.send(new CreateKeyPairCommand({ KeyName: 'made-rsa' }));
    assert.match(k.KeyMaterial!, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(k.KeyPairId!, /^key-[0-9a-f]{17}$/);
    const priv = createPrivateKey(k.KeyMaterial!);
    const sha1 = createHash('sha1').update(priv.export({ format: 'der', type: 'pkcs8' })).digest('hex').match(/../g)!.join(':');
    assert.equal(k.KeyFingerprint, sha1);
    const described = await publicKeyOf('made-rsa');
    assert.deepEqual([described.KeyType, described.KeyFingerprint, described.KeyPairId], ['rsa', sha1, k.KeyPairId]);
    assert.match(described.PublicKey!, /^ssh-rsa AAAA\S+ made-rsa$/);
    // The public half Kiln kept belongs to the private half it handed out.
    if (!noKeygen) assert.equal(blobOf(await keygen('-y', '-f', await privateFile('made-rsa.pem', k.KeyMaterial!))), blobOf(described.PublicKey!));
  });

  test('ED25519: an OpenSSH private key, its fingerprint the base64 SHA-256 of its public key', { skip: noKeygen }, async () => {
    const k = await ec2.send(new CreateKeyPairCommand({ KeyName: 'made-ed', KeyType: 'ed25519' }));
    assert.match(k.KeyMaterial!, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const described = await publicKeyOf('made-ed');
    const file = await privateFile('made-ed', k.KeyMaterial!);
    assert.equal(blobOf(await keygen('-y', '-f', file)), blobOf(described.PublicKey!));
    await writeFile(`${file}.pub`, described.PublicKey!);
    const sha256 = /SHA256:(\S+)/.exec(await keygen('-l', '-f', `${file}.pub`))![1];
    assert.equal(k.KeyFingerprint!.replace(/=+$/, ''), sha256);
  });

  test('bad requests', async () => {
    assert.equal(await codeOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'made-rsa' }))), 'InvalidKeyPair.Duplicate');
    assert.equal(await codeOf(ec2.send(new CreateKeyPairCommand({ KeyName: 'x', KeyType: 'dsa' as 'rsa' }))), 'InvalidParameterValue');
    assert.equal(await codeOf(ec2.send(new CreateKeyPairCommand({ KeyName: ' padded' }))), 'InvalidParameterValue');
  });
});

describe('ImportKeyPair', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  test('a PEM public key; an RSA fingerprint is the MD5 of the DER public key', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const k = await ec2.send(new ImportKeyPairCommand({ KeyName: 'imported-pem', PublicKeyMaterial: Buffer.from(pem) }));
    const md5 = createHash('md5').update(rsa.publicKey.export({ format: 'der', type: 'spki' })).digest('hex').match(/../g)!.join(':');
    assert.equal(k.KeyFingerprint, md5);
  });

  test('OpenSSH and RFC 4716 files as ssh-keygen writes them, through the aws-cli; the fingerprint AWS gives imported keys', { skip: noKeygen }, async () => {
    const file = join(kiln.dataDir, 'user-key');
    await run(SSH_KEYGEN, ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-C', 'me@laptop', '-f', file]);
    const out = await aws(kiln.endpoint, ['ec2', 'import-key-pair', '--key-name', 'laptop', '--public-key-material', `fileb://${file}.pub`]);
    // AWS's fingerprint of an imported RSA key is the MD5 of its DER public key (openssl pkey -pubout -outform DER | openssl md5 -c),
    // not ssh-keygen's MD5 of the OpenSSH blob; ssh-keygen converts the key to PEM independently of Kiln.
    const der = createPublicKey(await keygen('-e', '-m', 'PKCS8', '-f', `${file}.pub`)).export({ format: 'der', type: 'spki' });
    const md5 = createHash('md5').update(der).digest('hex').match(/../g)!.join(':');
    assert.equal(out.KeyFingerprint, md5);
    await writeFile(`${file}.rfc4716`, await keygen('-e', '-f', `${file}.pub`));
    const again = await aws(kiln.endpoint, ['ec2', 'import-key-pair', '--key-name', 'laptop-rfc', '--public-key-material', `fileb://${file}.rfc4716`]);
    assert.equal(again.KeyFingerprint, md5);
    const listed = await aws(kiln.endpoint, ['ec2', 'describe-key-pairs', '--filters', 'Name=key-name,Values=laptop*']);
    assert.deepEqual(listed.KeyPairs.map((k: { KeyName: string }) => k.KeyName).sort(), ['laptop', 'laptop-rfc']);
  });

  test('not a key, or a duplicate name', async () => {
    const bad = (text: string, name = 'bad') => codeOf(ec2.send(new ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: Buffer.from(text) })));
    assert.equal(await bad('hello'), 'InvalidKey.Format');
    assert.equal(await bad('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x'), 'InvalidKey.Format');
    assert.equal(await bad('ssh-dss AAAAB3NzaC1kc3MAAACBAP x'), 'InvalidKey.Format');
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.equal(await bad(pem, 'imported-pem'), 'InvalidKeyPair.Duplicate');
  });
});

describe('DescribeKeyPairs, tags, DeleteKeyPair', () => {
  test('names and ids must exist; filters; tags on key pairs; deleting twice succeeds', async () => {
    assert.equal(await codeOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['nope'] }))), 'InvalidKeyPair.NotFound');
    assert.equal(await codeOf(ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: ['key-0123456789abcdef0'] }))), 'InvalidKeyPair.NotFound');
    const { KeyPairId } = await publicKeyOf('made-rsa');
    await ec2.send(new CreateTagsCommand({ Resources: [KeyPairId!], Tags: [{ Key: 'team', Value: 'web' }] }));
    const tagged = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:team', Values: ['web'] }] }));
    assert.deepEqual(tagged.KeyPairs!.map((k) => k.KeyName), ['made-rsa']);
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-type', Values: ['key-pair'] }] }));
    assert.deepEqual(tags.Tags!.map((t) => [t.ResourceId, t.Key]), [[KeyPairId, 'team']]);
    const gone = await ec2.send(new DeleteKeyPairCommand({ KeyName: 'made-rsa' }));
    assert.equal(gone.KeyPairId, KeyPairId);
    assert.equal((await ec2.send(new DeleteKeyPairCommand({ KeyName: 'made-rsa' }))).Return, true);
    assert.equal(await codeOf(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['made-rsa'] }))), 'InvalidKeyPair.NotFound');
  });
});

describe('an instance launched with a key pair', { skip: noInstances }, () => {
  test('has the public key in root\'s authorized_keys, and keeps it when the pair is deleted', async () => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'login', KeyType: 'ed25519' }));
    const { PublicKey } = await publicKeyOf('login');
    const images = await kiln.app.ctx.store.images.list({ region: 'us-east-1' });
    const r = await ec2.send(new RunInstancesCommand({ ImageId: images[0]!.id, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1, KeyName: 'login' }));
    const id = r.Instances![0]!.InstanceId!;
    assert.equal(r.Instances![0]!.KeyName, 'login');
    await waitUntilInstanceRunning({ client: ec2, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { InstanceIds: [id] });
    await until('the key to be installed', async () => {
      return (await inInstance(kiln, id, 'cat /root/.ssh/authorized_keys')).trim() === PublicKey;
    });
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'login' }));
    const inst = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    assert.equal(inst.KeyName, 'login');
    assert.equal(await codeOf(ec2.send(new RunInstancesCommand({ ImageId: images[0]!.id, MinCount: 1, MaxCount: 1, KeyName: 'login' }))), 'InvalidKeyPair.NotFound');
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  });
});
