/**
 * The Connect endpoint's relay, without containers (test/connect.test.ts has real instances): over a recording
 * runtime whose "instance shell" is the host's sh on the server's pty. Keys in and output out, the first size
 * and a resize, either side's end ending the other, the server's close ending every session; a runtime without
 * shells refused with 501.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { DescribeImagesCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import WebSocket from 'ws';
import { RecordingRuntime } from '../runtime/recording-runtime.js';
import type { Kiln } from '../../test/harness.js';
import { startKiln, until } from '../../test/harness.js';
import { connectUrl, open, terminal } from '../../test/connect-client.js';

class ShellRuntime extends RecordingRuntime {
  async shellCommand(): Promise<string[]> { return ['/bin/sh', '-i']; }
}

async function withKiln(runtime: RecordingRuntime, fn: (kiln: Kiln, id: string) => Promise<void>): Promise<void> {
  const kiln = await startKiln({ runtime });
  let closed = false;
  try {
    const ec2 = kiln.client();
    const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
    const { Instances = [] } = await ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.nano', MinCount: 1, MaxCount: 1 }));
    const id = Instances[0]!.InstanceId!;
    await until(`${id} to run`, async () => (await kiln.app.ctx.store.instances.get(id))?.state === 'running');
    await fn(kiln, id);
    closed = true;
    await kiln.close();
  } finally {
    if (!closed) await kiln.close();
  }
}

const alive = (pid: string) => existsSync(`/proc/${pid}`);

test('keys reach the shell and its output comes back; the first size and a resize reach its terminal; close ends it', { timeout: 60_000 }, async () => {
  await withKiln(new ShellRuntime(), async (kiln, id) => {
    const ws = await open(await connectUrl(kiln.endpoint, id, { query: { cols: '100', rows: '30' } }));
    assert.ok(ws instanceof WebSocket, `refused: ${String(ws)}`);
    const term = terminal(ws);
    term.type('echo hi-$((1+1)); echo "pid=$$"\r');
    await term.waitFor(/hi-2/);
    const pid = (await term.waitFor(/pid=(\d+)/))[1]!;
    await term.sizeIs(30, 100);
    term.resize(132, 40);
    await term.sizeIs(40, 132);
    assert.ok(alive(pid));
    ws.close();
    await term.closed;
    await until('the shell to end', async () => !alive(pid), 10_000, 50);

    // The shell's exit closes the socket, normally.
    const again = await open(await connectUrl(kiln.endpoint, id));
    assert.ok(again instanceof WebSocket);
    const second = terminal(again);
    second.type('exit\r');
    assert.equal(await second.closed, 1000);
  });
});

test("the server's close ends every session (1001) and its shell", { timeout: 60_000 }, async () => {
  let pid = '';
  let closed: Promise<number> | undefined;
  await withKiln(new ShellRuntime(), async (kiln, id) => {
    const ws = await open(await connectUrl(kiln.endpoint, id));
    assert.ok(ws instanceof WebSocket);
    const term = terminal(ws);
    term.type('echo "pid=$$"\r');
    pid = (await term.waitFor(/pid=(\d+)/))[1]!;
    closed = term.closed;
  });
  assert.equal(await closed, 1001);
  await until('the shell to end', async () => !alive(pid), 10_000, 50);
});

/** The status an upgrade of `url` sent with these headers is refused with (0: it was not). */
function refusedWith(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => { ws.close(); resolve(0); });
    ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); res.resume(); });
    ws.once('error', reject);
  });
}

test('a runtime without shells is refused before the upgrade (501); so are other origins (403), foreign Hosts (421), bad ids (404)', { timeout: 60_000 }, async () => {
  await withKiln(new RecordingRuntime(), async (kiln, id) => {
    const url = await connectUrl(kiln.endpoint, id);
    assert.equal(await open(url), 501);
    assert.equal(await refusedWith(url, { origin: kiln.endpoint }), 501, "the server's own page");
    assert.equal(await refusedWith(url, { origin: 'http://attacker.example' }), 403);
    assert.equal(await refusedWith(url, { origin: 'null' }), 403);
    assert.equal(await refusedWith(url, { host: `attacker.example:${new URL(kiln.endpoint).port}` }), 421);
    assert.equal(await open(url.replace(`/_kiln/connect/${id}`, '/_kiln/connect/%E0%A4%A')), 404);
  });
});
