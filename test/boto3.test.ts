/**
 * The image story through boto3, Python's AWS SDK (test/boto3/story.py):
 * catalog look-up with a paginator, launch, capture, launch the capture,
 * share with another account, copy to another region, retire — with boto3's
 * own waiters and error codes. Skipped with the reason where python3 or boto3
 * is absent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createAccount } from '../src/services/accounts/accounts.js';
import { startKiln } from './harness.js';
import { skipOrFail, skipUnless } from './skips.js';

const execFileP = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'boto3', 'story.py');
const OTHER = { id: '444455556666', accessKeyId: 'py-other', secretAccessKey: 'py-other-secret' };

/** Nothing from the host's AWS configuration leaks in, and nothing can reach AWS. */
const PY_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true' };

async function missingBoto3(): Promise<string | false> {
  try {
    await execFileP('python3', ['-c', 'import boto3'], { env: PY_ENV });
    return false;
  } catch {
    return 'python3 with boto3 is absent (Debian package python3-boto3)';
  }
}

const skip = skipOrFail(await missingBoto3()) || (await skipUnless('instances'));

test('boto3: catalog paginator, launch, capture, launch the capture, share, copy, retire', { skip, timeout: 300_000 }, async () => {
  const kiln = await startKiln();
  try {
    await createAccount(kiln.app.ctx, OTHER);
    const nonce = randomBytes(4).toString('hex');
    const env = { ...PY_ENV, KILN_ENDPOINT: kiln.endpoint, KILN_NONCE: nonce, KILN_OTHER_ACCOUNT: OTHER.id, KILN_OTHER_KEYS: `${OTHER.accessKeyId}:${OTHER.secretAccessKey}` };
    const { stdout } = await execFileP('python3', [SCRIPT], { env, timeout: 280_000 }).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`boto3 story failed:\n${err.stderr || err.message}`);
    });
    assert.match(stdout, new RegExp(`boto3 story done ${nonce}`));
  } finally {
    await kiln.close();
  }
});
