/**
 * Bad input never reaches a 500: every action Kiln serves gets, over signed
 * HTTP, an empty request, a request with every member filled (built by the SDK
 * from its schema), every parameter of that request alone with its value and
 * with values of the wrong shape, and malformed list indexes. Each answer must
 * be a success or a 4xx carrying an AWS error code.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as ec2 from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import { HANDLERS } from '../src/api/router.js';
import { findOperation } from '../src/protocol/protocol.js';
import type { Kiln } from './harness.js';
import { startKiln } from './harness.js';
import { sample } from './schema-sample.js';
import { Sha256 } from './sha256.js';

const VERSION = '2016-11-15';
const AUTH_CODES = ['AuthFailure', 'SignatureDoesNotMatch', 'IncompleteSignature', 'InvalidClientTokenId', 'MissingAuthenticationToken'];
const WRONG = ['', 'x', '-1', '1e400', '9'.repeat(30), 'true', '2026-13-45T25:61:61Z', '\u0000\uffff', 'é'.repeat(3000)];

let kiln: Kiln;
let signer: SignatureV4;
before(async () => {
  kiln = await startKiln();
  signer = new SignatureV4({ service: 'ec2', region: 'us-east-1', sha256: Sha256, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
after(async () => { await kiln?.close(); });

/** The query parameters the SDK sends for `action` with every member of its input filled. */
async function everyMemberParams(action: string): Promise<Array<[string, string]>> {
  let body = '';
  const client = new ec2.EC2Client({
    endpoint: 'http://127.0.0.1:1', region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    requestHandler: { handle: async (req: { body?: unknown }) => { body = String(req.body ?? ''); throw new Error('captured'); } } as never,
  });
  const Command = (ec2 as unknown as Record<string, new (i: object) => any>)[`${action}Command`]!;
  await client.send(new Command((sample(findOperation(action)!.input, 'in', 4) ?? {}) as object)).catch(() => undefined);
  // Without DryRun, so that every handler runs to the end.
  return [...new URLSearchParams(body)].filter(([k]) => !['Action', 'Version', 'DryRun'].includes(k));
}

/** Posts the form `params` to Kiln, signed as the default account; the status and the error code, if any. */
async function post(params: Array<[string, string]>): Promise<{ status: number; code?: string }> {
  const url = new URL(kiln.endpoint);
  const body = new URLSearchParams(params).toString();
  const req = await signer.sign({
    method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body,
  });
  const res = await fetch(kiln.endpoint, { method: 'POST', headers: req.headers, body });
  const text = await res.text();
  return { status: res.status, code: /<Code>([^<]+)<\/Code>/.exec(text)?.[1] };
}

/** The requests to throw at one action: empty, full, each parameter alone (as sent, and wrong), broken list indexes. */
function variants(action: string, full: Array<[string, string]>): Array<Array<[string, string]>> {
  const head: Array<[string, string]> = [['Action', action], ['Version', VERSION]];
  const out: Array<Array<[string, string]>> = [head, [...head, ...full], [...head, ['NoSuchParameter', 'x']]];
  for (const [key, value] of full) {
    out.push([...head, [key, value]]);
    for (const wrong of WRONG) out.push([...head, [key, wrong]]);
    const indexed = /^(.*?)\.(\d+)(\..*)?$/.exec(key);
    if (indexed) {
      for (const index of ['0', '4294967297', '-1', 'a', '']) out.push([...head, [`${indexed[1]}.${index}${indexed[3] ?? ''}`, value]]);
    } else {
      out.push([...head, [`${key}.1`, value]], [...head, [`${key}.1.Sub`, value]]);
    }
  }
  return out;
}

test('every action answers bad input with a 4xx and an AWS code, never a 500', { timeout: 300_000 }, async () => {
  const failures: string[] = [];
  const codes = new Map<string, number>();
  let sent = 0;
  for (const action of Object.keys(HANDLERS)) {
    for (const params of variants(action, await everyMemberParams(action))) {
      const { status, code } = await post(params);
      sent++;
      codes.set(code ?? String(status), (codes.get(code ?? String(status)) ?? 0) + 1);
      if (status === 200) continue;
      // The requests are signed correctly: an auth error would mean the test never reached the parser.
      if (status >= 500 || status < 400 || !code || AUTH_CODES.includes(code)) {
        failures.push(`${status} ${code ?? '(no code)'} for ${new URLSearchParams(params).toString().slice(0, 300)}`);
      }
    }
  }
  assert.ok(sent > 1000, `only ${sent} requests were made`);
  if (process.env.KILN_TEST_VERBOSE) console.log([...codes].sort((a, b) => b[1] - a[1]));
  assert.deepEqual(failures.slice(0, 30), [], `${failures.length} of ${sent} requests failed`);
});
