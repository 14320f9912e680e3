/**
 * The admin API over a real server on a loopback port: the admin token guards
 * it (and account keys do not open it); accounts and keys made through it
 * work at once with SigV4 from the SDK and the aws-cli, and STS
 * GetCallerIdentity names their account.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { DescribeImagesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Kiln } from '../../test/harness.js';
import { AWS_CLI, aws, startKiln } from '../../test/harness.js';
import { adminTokenFile } from './admin-token.js';
import { Sha256 } from '../../test/sha256.js';

let kiln: Kiln;
let token: string;

before(async () => { kiln = await startKiln(); });
after(async () => { await kiln?.close(); });

async function admin(method: string, path: string, body?: unknown, auth: string | null = `Bearer ${token}`): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (auth !== null) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${kiln.endpoint}/_kiln/admin/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** A raw SigV4-signed POST, as an awsquery client sends it. */
async function signedPost(service: string, body: string, keys: [string, string], path = '/'): Promise<Response> {
  const url = new URL(kiln.endpoint);
  const signer = new SignatureV4({ service, region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: keys[0], secretAccessKey: keys[1] } });
  const req = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path, query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  });
  return fetch(`${kiln.endpoint}${path}`, { method: 'POST', headers: req.headers, body });
}

const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

test('the admin token: made 0600 in the data directory; missing 401, wrong 403, an account key 403', async () => {
  const noToken = await admin('GET', 'accounts', undefined, null);
  assert.equal(noToken.status, 401);
  assert.equal(noToken.json.error.code, 'MissingAdminToken');
  const file = adminTokenFile(kiln.dataDir);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  token = (await readFile(file, 'utf8')).trim();
  assert.match(token, /^kiln_[A-Za-z0-9_-]{32}$/);

  const wrong = await admin('GET', 'accounts', undefined, 'Bearer kiln_not-the-token');
  assert.equal(wrong.status, 403);
  assert.equal(wrong.json.error.code, 'InvalidAdminToken');

  const sigv4 = await signedPost('ec2', '{}', ['test', 'test'], '/_kiln/admin/accounts');
  assert.equal(sigv4.status, 403);
  assert.equal(((await sigv4.json()) as any).error.code, 'AccessDenied');

  const listed = await admin('GET', 'accounts');
  assert.equal(listed.status, 200);
  assert.ok(listed.json.accounts.some((a: { id: string }) => a.id === '000000000000'));
  assert.ok(!JSON.stringify(listed.json).includes('secretAccessKey'), 'secrets are never listed');
});

test('a new account works with SigV4 (SDK and aws-cli); STS GetCallerIdentity names it', async () => {
  const created = await admin('POST', 'accounts', { id: '111122223333', alias: 'team-a', org: 'o-kilnadmin01', ou: 'ou-kiln-aaaaaaaa' });
  assert.equal(created.status, 201);
  assert.equal(created.json.account.id, '111122223333');
  assert.equal(created.json.account.alias, 'team-a');
  const { accessKeyId, secretAccessKey } = created.json.accessKey;
  assert.match(accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  assert.equal(secretAccessKey.length, 40);

  const ec2 = kiln.client('us-east-1', { accessKeyId, secretAccessKey });
  const own = await ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
  assert.deepEqual(own.Images, []);
  const amazon = await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }));
  assert.ok(amazon.Images!.length >= 1, 'the new account sees the public catalog image');
  assert.deepEqual((await ec2.send(new DescribeInstancesCommand({}))).Reservations, []);

  const raw = await signedPost('sts', 'Action=GetCallerIdentity&Version=2011-06-15', [accessKeyId, secretAccessKey]);
  assert.equal(raw.status, 200);
  const xml = await raw.text();
  assert.match(xml, /^<GetCallerIdentityResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">/);
  assert.equal(xmlValue(xml, 'Account'), '111122223333');
  assert.equal(xmlValue(xml, 'Arn'), 'arn:aws:iam::111122223333:root');
  assert.equal(xmlValue(xml, 'UserId'), '111122223333');
  assert.ok(xmlValue(xml, 'RequestId'));

  if (existsSync(AWS_CLI)) {
    const who = await aws(kiln.endpoint, ['sts', 'get-caller-identity'], { keys: [accessKeyId, secretAccessKey] });
    assert.deepEqual(who, { UserId: '111122223333', Account: '111122223333', Arn: 'arn:aws:iam::111122223333:root' });
    const imgs = await aws(kiln.endpoint, ['ec2', 'describe-images', '--owners', 'self'], { keys: [accessKeyId, secretAccessKey] });
    assert.deepEqual(imgs.Images, []);
  }
});

test('STS: other actions are InvalidAction, unknown keys InvalidClientTokenId, in the awsquery error envelope', async () => {
  const other = await signedPost('sts', 'Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=y', ['test', 'test']);
  assert.equal(other.status, 400);
  const xml = await other.text();
  assert.match(xml, /^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type>/);
  assert.equal(xmlValue(xml, 'Code'), 'InvalidAction');
  assert.ok(xmlValue(xml, 'RequestId'));

  const unknown = await signedPost('sts', 'Action=GetCallerIdentity&Version=2011-06-15', ['AKIANOSUCHKEY0000000', 'x']);
  assert.equal(unknown.status, 403);
  assert.equal(xmlValue(await unknown.text(), 'Code'), 'InvalidClientTokenId');

  const badSig = await signedPost('sts', 'Action=GetCallerIdentity&Version=2011-06-15', ['test', 'not-the-secret']);
  assert.equal(badSig.status, 403);
  assert.equal(xmlValue(await badSig.text(), 'Code'), 'SignatureDoesNotMatch');

  const s3 = await signedPost('s3', 'Action=GetCallerIdentity', ['test', 'test']);
  assert.equal(s3.status, 401, 'a scope for a service Kiln does not serve is refused');
});

test('key rotation: a second key works at once; a deleted key fails AuthFailure', async () => {
  const created = await admin('POST', 'accounts', { id: '111122224444', accessKeyId: 'AKIAROTATE0000000001', secretAccessKey: 'first-secret' });
  assert.equal(created.status, 201);
  const added = await admin('POST', 'accounts/111122224444/access-keys', {});
  assert.equal(added.status, 201);
  const second = added.json.accessKey;
  const first = { accessKeyId: 'AKIAROTATE0000000001', secretAccessKey: 'first-secret' };
  for (const creds of [first, second]) {
    await kiln.client('eu-west-1', { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }).send(new DescribeImagesCommand({ Owners: ['self'] }));
  }
  const shown = await admin('GET', 'accounts/111122224444');
  assert.deepEqual(shown.json.account.accessKeys.map((k: { accessKeyId: string }) => k.accessKeyId), [first.accessKeyId, second.accessKeyId]);

  const deleted = await admin('DELETE', `accounts/111122224444/access-keys/${first.accessKeyId}`);
  assert.equal(deleted.status, 200);
  await assert.rejects(kiln.client('us-east-1', first).send(new DescribeImagesCommand({ Owners: ['self'] })), { name: 'AuthFailure' });
  await kiln.client('us-east-1', second).send(new DescribeImagesCommand({ Owners: ['self'] }));
  const who = await signedPost('sts', 'Action=GetCallerIdentity&Version=2011-06-15', [second.accessKeyId, second.secretAccessKey]);
  assert.equal(xmlValue(await who.text(), 'Account'), '111122224444');
});

test('bad admin requests answer 4xx with a code, never 500', async () => {
  const cases: Array<[string, string, unknown, number, string]> = [
    ['POST', 'accounts', { id: '111122223333' }, 409, 'AccountAlreadyExists'],
    ['POST', 'accounts', { id: '1234' }, 400, 'InvalidParameterValue'],
    ['POST', 'accounts', { id: 12 }, 400, 'InvalidParameterValue'],
    ['POST', 'accounts', { ou: 'ou-kiln-aaaaaaaa' }, 400, 'InvalidParameterCombination'],
    ['POST', 'accounts', { accessKeyId: 'test', secretAccessKey: 'x' }, 409, 'AccessKeyInUse'],
    ['POST', 'accounts/999999999999/access-keys', {}, 404, 'NoSuchAccount'],
    ['DELETE', 'accounts/111122223333/access-keys/AKIANOPE', undefined, 404, 'NoSuchAccessKey'],
    ['GET', 'accounts/999999999999', undefined, 404, 'NoSuchAccount'],
    ['GET', 'nothing-here', undefined, 404, 'NotFound'],
    ['PUT', 'accounts', {}, 405, 'MethodNotAllowed'],
  ];
  for (const [method, path, body, status, code] of cases) {
    const res = await admin(method, path, body);
    assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}`);
    assert.equal(res.json.error.code, code, `${method} ${path}`);
  }
  const res = await fetch(`${kiln.endpoint}/_kiln/admin/accounts`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{not json',
  });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as any).error.code, 'MalformedJson');
});
