/**
 * The REST-JSON codec against the SDK itself: every request @aws-sdk/client-ebs
 * builds routes to its operation and parses back to the input it was built
 * from; every response Kiln writes deserializes in the SDK to the object it
 * was written from; errors reach the SDK as their code, status and Reason.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import * as ebs from '@aws-sdk/client-ebs';
import { ProtocolError } from './protocol.js';
import type { RestResponse } from './rest-json.js';
import { EBS } from './rest-json.js';
import { sample } from '../../test/schema-sample.js';

interface Sent { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: Buffer }
type Exchange = { sent?: Sent; reply?: RestResponse };

async function bytes(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string' || body instanceof Uint8Array) return Buffer.from(body as Uint8Array);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** An EBS client whose transport records the request and answers with a canned response. */
function client(ex: Exchange) {
  return new ebs.EBSClient({
    endpoint: 'http://127.0.0.1:1', region: 'us-east-1', maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      handle: async (req: { method: string; path: string; query?: Record<string, string | string[]>; headers: Record<string, string>; body?: unknown }) => {
        const query = new URLSearchParams();
        for (const [k, v] of Object.entries(req.query ?? {})) for (const x of [v].flat()) if (x !== null) query.append(k, x);
        ex.sent = { method: req.method, path: req.path, query, headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])), body: await bytes(req.body) };
        const reply = ex.reply ?? { status: 200, headers: {}, body: Buffer.from('{}') };
        return { response: { statusCode: reply.status, headers: Object.fromEntries(Object.entries(reply.headers).map(([k, v]) => [k.toLowerCase(), v])), body: Readable.from([reply.body]) } };
      },
    } as never,
  });
}

async function send(op: string, input: object, ex: Exchange): Promise<any> {
  const Command = (ebs as unknown as Record<string, new (i: object) => any>)[`${op}Command`]!;
  const { $metadata: _m, ...out } = await client(ex).send(new Command(input));
  return out;
}

const T = new Date('2026-11-22T10:11:12.345Z');
const op = (name: string) => EBS.operations.find((o) => o.name === name)!;

test('the six EBS direct API operations are read from the SDK model', () => {
  assert.deepEqual(EBS.operations.map((o) => o.name).sort(),
    ['CompleteSnapshot', 'GetSnapshotBlock', 'ListChangedBlocks', 'ListSnapshotBlocks', 'PutSnapshotBlock', 'StartSnapshot']);
  assert.equal(EBS.errorStatus('ResourceNotFoundException'), 404);
  assert.equal(EBS.errorStatus('InternalServerException'), 500);
  assert.equal(EBS.errorStatus('NoSuchThing'), undefined);
});

for (const o of EBS.operations) {
  const input = sample(o.input, 'in', 4, T) as Record<string, unknown>;
  test(`${o.name}: an SDK-built request routes to it and parses back to its input`, async () => {
    const ex: Exchange = {};
    await send(o.name, input, ex).catch(() => undefined);
    const s = ex.sent!;
    const m = EBS.match(s.method, s.path);
    assert.ok(m && m !== 'method', `${s.method} ${s.path} matches`);
    assert.equal(m.op.name, o.name);
    assert.deepEqual(EBS.parse(m.op, { labels: m.labels, query: s.query, headers: s.headers, body: s.body }), input);
  });
  test(`${o.name}: a serialized response deserializes in the SDK to the same object`, async () => {
    const output = sample(o.output, 'out', 4, T) as Record<string, unknown>;
    const got = await send(o.name, input, { reply: EBS.serialize(o, output) });
    if (got.BlockData) got.BlockData = new Uint8Array(await got.BlockData.transformToByteArray());
    assert.deepEqual(got, output);
  });
}

test('a serialized response has the status and headers the model gives', () => {
  const r = EBS.serialize(op('PutSnapshotBlock'), { Checksum: 'abc=', ChecksumAlgorithm: 'SHA256' });
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-amz-Checksum'], 'abc=');
  assert.equal(r.headers['x-amz-Checksum-Algorithm'], 'SHA256');
  const g = EBS.serialize(op('GetSnapshotBlock'), { BlockData: Buffer.from('xy'), DataLength: 2 });
  assert.equal(g.body.toString(), 'xy');
  assert.equal(g.headers['x-amz-Data-Length'], '2');
  assert.equal(EBS.serialize(op('CompleteSnapshot'), { Status: 'completed' }).status, 202);
});

test('errors reach the SDK as their code, status and Reason', async () => {
  const reply = EBS.serializeError('ValidationException', 'bad checksum', 400, { Reason: 'INVALID_PARAMETER_VALUE' });
  assert.equal(reply.headers['x-amzn-ErrorType'], 'ValidationException');
  await assert.rejects(send('ListSnapshotBlocks', { SnapshotId: 'snap-1' }, { reply }), (e: any) =>
    e.name === 'ValidationException' && e.Reason === 'INVALID_PARAMETER_VALUE' && e.message === 'bad checksum' && e.$metadata.httpStatusCode === 400);
  const nf = EBS.serializeError('ResourceNotFoundException', 'no such snapshot', 400, { Reason: 'SNAPSHOT_NOT_FOUND' });
  assert.equal(nf.status, 404);
  await assert.rejects(send('ListSnapshotBlocks', { SnapshotId: 'snap-1' }, { reply: nf }), (e: any) =>
    e instanceof ebs.ResourceNotFoundException && e.Reason === 'SNAPSHOT_NOT_FOUND');
  // A code the model does not have (authentication) keeps the status it is given.
  assert.equal(EBS.serializeError('SignatureDoesNotMatch', 'x', 403).status, 403);
});

function code(fn: () => unknown): string {
  try { fn(); } catch (err) { if (err instanceof ProtocolError) return err.code; throw err; }
  return 'none';
}

test('malformed requests are refused with a code, and routes need the right method', () => {
  const req = (over: Partial<Parameters<typeof EBS.parse>[1]>) => ({ labels: {}, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), ...over });
  const put = op('PutSnapshotBlock');
  const labels = { SnapshotId: 'snap-1', BlockIndex: 'x' };
  assert.equal(code(() => EBS.parse(put, req({ labels }))), 'ValidationException');
  assert.equal(code(() => EBS.parse(op('StartSnapshot'), req({ body: Buffer.from('{') }))), 'SerializationException');
  assert.equal(code(() => EBS.parse(op('StartSnapshot'), req({ body: Buffer.from('{"VolumeSize":"8"}') }))), 'ValidationException');
  assert.equal(code(() => EBS.parse(op('StartSnapshot'), req({ body: Buffer.from('{}') }))), 'ValidationException');
  assert.deepEqual(EBS.parse(op('StartSnapshot'), req({ body: Buffer.from('{"VolumeSize":8,"Other":1}') })), { VolumeSize: 8 });
  assert.equal(EBS.match('DELETE', '/snapshots'), 'method');
  assert.equal(EBS.match('GET', '/nothing'), undefined);
  const m = EBS.match('POST', '/snapshots/completion/snap-1');
  assert.ok(m && m !== 'method' && m.op.name === 'CompleteSnapshot' && m.labels.SnapshotId === 'snap-1');
});
