/**
 * Addresses another server on the host holds (the runtime's addressesTaken):
 * never given out, asked for or not, so a launch cannot take over another
 * server's instance's host route.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { App } from '../../server/app.js';
import { createApp } from '../../server/app.js';
import { visibleImages } from '../images/images.js';
import { runInstances } from './launch.js';
import { CATALOG_ACCOUNT } from '../../model/records.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';

class Neighbour extends RecordingRuntime {
  taken = ['172.31.0.4', '172.31.0.6'];
  async addressesTaken(): Promise<string[]> { return this.taken; }
}

const caller = { account: '000000000000', region: 'us-east-1' };
let app: App;
let dir: string;
let image: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-addr-'));
  app = await createApp({ dataDir: dir, regions: ['us-east-1'], runtime: new Neighbour(), log: () => undefined });
  await app.ready;
  image = (await visibleImages(app.ctx, caller)).find((i) => i.account === CATALOG_ACCOUNT)!.id;
});
after(async () => { await app.close(); await rm(dir, { recursive: true, force: true }); });

test('the allocator skips the addresses the host routes to another server; asking for one is InvalidIPAddress.InUse', async () => {
  const launch = (privateIp?: string) => runInstances(app.ctx, caller, {
    imageId: image, minCount: 1, maxCount: 1, instanceType: 't3.micro', availabilityZone: 'us-east-1a', privateIp,
  });
  const got = [];
  for (let i = 0; i < 2; i++) got.push((await launch())[0]!.attrs.privateIp);
  assert.deepEqual(got, ['172.31.0.5', '172.31.0.7']);
  await assert.rejects(launch('172.31.0.4'), (e: { code?: string }) => e.code === 'InvalidIPAddress.InUse');
  assert.equal((await launch('172.31.0.8'))[0]!.attrs.privateIp, '172.31.0.8');
  await app.ctx.tasks.idle();
});
