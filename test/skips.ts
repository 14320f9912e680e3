import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUSYBOX_PATH } from '../src/catalog/minimal-rootfs.js';
import { RuncDriver } from '../src/runtime/runc/runc-driver.js';
import { findExecutable } from '../src/runtime/runc/host.js';
import { AWS_CLI } from './harness.js';

type Need = 'instances' | 'aws-cli' | 'build' | 'debian';

/**
 * Why a test cannot run on this host (for node:test's `skip`), or false when it can:
 * 'instances' = root, runc, loop devices and busybox-static; 'aws-cli' = the real AWS CLI v2;
 * 'build' = dist/ built, for tests that spawn the package's bin; 'debian' = mmdebstrap, to build the
 * Debian image, and the OpenSSH client, to log in to it.
 */
export async function skipUnless(...needs: Need[]): Promise<string | false> {
  if (needs.includes('aws-cli') && !existsSync(AWS_CLI)) return skipOrFail(`${AWS_CLI} is absent (Debian package awscli)`);
  if (needs.includes('build') && !existsSync('dist/cli/main.js')) return skipOrFail('not built: run `npm run build` first');
  if (needs.includes('debian')) {
    for (const [tool, pkg] of [['mmdebstrap', 'mmdebstrap'], ['ssh', 'openssh-client'], ['ssh-keyscan', 'openssh-client']]) {
      if (!(await findExecutable(tool))) return skipOrFail(`${tool} is absent (Debian package ${pkg})`);
    }
  }
  if (needs.includes('instances')) {
    const missing = await new RuncDriver({ stateDir: join(tmpdir(), 'kiln-runc-probe') }).check();
    if (!(await access(BUSYBOX_PATH).then(() => true, () => false))) missing.push('busybox-static is not installed.');
    if (missing.length) return skipOrFail(`this host cannot run instances: ${missing.join(' ')}`);
  }
  return false;
}

/** The switch .ci/run sets: with it, every skip of a test that needs something the host lacks is a failure. */
export const REQUIRE_ALL = process.env.KILN_REQUIRE_ALL === '1';

/**
 * A skip reason as node:test's `skip` takes it (false: run). A user's plain
 * `npm test` skips with the reason; under KILN_REQUIRE_ALL=1 (CI) the reason
 * is thrown instead, so the test file fails: a green CI that skipped the real
 * thing is not green.
 */
export function skipOrFail(reason: string | false): string | false {
  if (reason && REQUIRE_ALL) throw new Error(`KILN_REQUIRE_ALL=1, but this test cannot run: ${reason}`);
  return reason;
}
