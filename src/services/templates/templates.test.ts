/**
 * The launch-template service on its own: how versions are numbered and
 * resolved, the merge of a template's data with a RunInstances request's, the
 * checks a version's data must pass, and that templates outlive a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startKiln } from '../../../test/harness.js';
import type { Kiln } from '../../../test/harness.js';
import { RecordingRuntime } from '../../runtime/recording-runtime.js';
import type { Caller } from '../core/context.js';
import { DryRunPassed } from '../core/errors.js';
import { mergeLaunchData } from './template-data.js';
import {
  createLaunchTemplate, createLaunchTemplateVersion, deleteLaunchTemplateVersions, describeLaunchTemplates, describeLaunchTemplateVersions,
  findTemplate, findVersion, modifyLaunchTemplate,
} from './templates.js';

const caller: Caller = { account: '000000000000', region: 'us-east-1' };
let dataDir: string;
let kiln: Kiln;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kiln-lt-'));
  kiln = await startKiln({ dataDir, runtime: new RecordingRuntime() });
});
after(async () => {
  await kiln?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>) => p.then(() => 'none', (e: { code?: string }) => e.code);

test('versions: numbered from 1, never reused; $Latest is the highest left, $Default the one named', async () => {
  const ctx = kiln.app.ctx;
  const { template } = await createLaunchTemplate(ctx, caller, { name: 'numbers', data: { instanceType: 't3.micro' } });
  for (const t of ['t3.small', 't3.medium']) await createLaunchTemplateVersion(ctx, caller, { ref: { id: template.id }, data: { instanceType: t } });
  const res = await deleteLaunchTemplateVersions(ctx, caller, { name: 'numbers' }, ['3', '1', 'x']);
  assert.deepEqual(res.deleted, [3]);
  assert.deepEqual(res.failed.map((f) => [f.versionNumber, f.code]), [[1, 'unexpectedError'], [undefined, 'launchTemplateVersionDoesNotExist']]);
  let t = await findTemplate(ctx, caller, { name: 'numbers' });
  assert.equal(findVersion(t, '$Latest').versionNumber, 2);
  const { version } = await createLaunchTemplateVersion(ctx, caller, { ref: { name: 'numbers' }, sourceVersion: '$Latest', data: { keyName: 'k' } });
  assert.deepEqual([version.versionNumber, version.data], [4, { instanceType: 't3.small', keyName: 'k' }]);
  await modifyLaunchTemplate(ctx, caller, { name: 'numbers' }, '$Latest');
  t = await findTemplate(ctx, caller, { id: template.id });
  assert.equal(findVersion(t).versionNumber, 4);
  const all = await describeLaunchTemplateVersions(ctx, caller, { ref: { id: template.id }, maxVersion: '2' });
  assert.deepEqual(all.map((v) => v.version.versionNumber), [2, 1]);
});

test('references and data are checked as EC2 checks them', async () => {
  const ctx = kiln.app.ctx;
  assert.equal(await codeOf(findTemplate(ctx, caller, { id: 'lt-1', name: 'x' })), 'InvalidParameterCombination');
  assert.equal(await codeOf(findTemplate(ctx, caller, {})), 'MissingParameter');
  assert.equal(await codeOf(findTemplate(ctx, caller, { id: 'lt-xyz' })), 'InvalidLaunchTemplateId.Malformed');
  assert.equal(await codeOf(findTemplate(ctx, { ...caller, region: 'us-west-2' }, { name: 'numbers' })), 'InvalidLaunchTemplateName.NotFoundException');
  assert.equal(await codeOf(createLaunchTemplate(ctx, caller, { name: 'ab', data: {} })), 'InvalidLaunchTemplateName.MalformedException');
  assert.equal(await codeOf(createLaunchTemplate(ctx, caller, { name: 'shut', data: { instanceInitiatedShutdownBehavior: 'hibernate' } })),
    'InvalidParameterValue');
  assert.equal(await codeOf(createLaunchTemplate(ctx, caller, { name: 'dev', data: { blockDeviceMappings: [{ deviceName: 'sda', ebs: { volumeSize: 1 } }] } })),
    'InvalidBlockDeviceMapping');
  assert.equal(await codeOf(createLaunchTemplate(ctx, caller, { name: 'desc', versionDescription: 'x'.repeat(256), data: {} })), 'InvalidParameterValue');
  assert.equal(await codeOf(describeLaunchTemplateVersions(ctx, caller, { versions: ['3'] })), 'MissingParameter');
  await assert.rejects(createLaunchTemplate(ctx, { ...caller, dryRun: true }, { name: 'dry-run', data: {} }), DryRunPassed);
  assert.deepEqual((await describeLaunchTemplates(ctx, caller)).map((t) => t.name).filter((n) => n === 'dry-run'), []);
});

test('RunInstances merge: the request wins field by field; tags by type and key; mappings by device; interfaces by index', () => {
  const merged = mergeLaunchData({
    imageId: 'ami-1', instanceType: 't3.micro', keyName: 'k', metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 2 },
    tagSpecifications: [{ resourceType: 'instance', tags: [{ key: 'a', value: '1' }, { key: 'b', value: '2' }] }],
    blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { volumeSize: 4, volumeType: 'gp3' } }],
    networkInterfaces: [{ deviceIndex: 0, subnetId: 'subnet-1', groups: ['sg-1'] }],
  }, {
    instanceType: 't3.large', keyName: undefined, metadataOptions: { httpPutResponseHopLimit: 3 },
    tagSpecifications: [{ resourceType: 'instance', tags: [{ key: 'b', value: 'x' }] }, { resourceType: 'volume', tags: [{ key: 'v', value: '1' }] }],
    blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { volumeSize: 8 } }, { deviceName: '/dev/sdf', ebs: { volumeSize: 1 } }],
    networkInterfaces: [{ deviceIndex: 0, groups: ['sg-2'] }],
  });
  assert.deepEqual(merged, {
    imageId: 'ami-1', instanceType: 't3.large', keyName: 'k', metadataOptions: { httpTokens: 'required', httpPutResponseHopLimit: 3 },
    tagSpecifications: [{ resourceType: 'instance', tags: [{ key: 'a', value: '1' }, { key: 'b', value: 'x' }] }, { resourceType: 'volume', tags: [{ key: 'v', value: '1' }] }],
    blockDeviceMappings: [{ deviceName: '/dev/xvda', ebs: { volumeSize: 8, volumeType: 'gp3' } }, { deviceName: '/dev/sdf', ebs: { volumeSize: 1 } }],
    networkInterfaces: [{ deviceIndex: 0, subnetId: 'subnet-1', groups: ['sg-2'] }],
  });
});

test('templates are stored durably: a restarted server has them, names still unique', async () => {
  await kiln.close();
  kiln = await startKiln({ dataDir, runtime: new RecordingRuntime() });
  const t = await findTemplate(kiln.app.ctx, caller, { name: 'numbers' });
  assert.deepEqual([t.defaultVersion, t.nextVersion, t.versions.map((v) => v.versionNumber)], [4, 5, [1, 2, 4]]);
  assert.equal(await codeOf(createLaunchTemplate(kiln.app.ctx, caller, { name: 'numbers', data: {} })), 'InvalidLaunchTemplateName.AlreadyExistsException');
});
