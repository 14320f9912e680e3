/**
 * Hostile requests (bench section `requests`): the longest event-loop stall while an account sends the filter that
 * was a backtracking RegExp (issue #17: `*a*a*a*a*a*a*a*ab` over a 60-character tag, and the worst a request may send
 * now: 200 values of it over 256-character tags), beside the stall during plain DescribeKeyPairs calls; and the time
 * of that request.
 *
 *   node --import tsx bench/run.ts requests
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CreateKeyPairCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { startKiln } from '../test/harness.js';

const PATTERN = `${'*a'.repeat(7)}*ab`;

/** The longest event-loop stall (ms) while `fn` runs, and how long it took. */
async function stallOf(fn: () => Promise<unknown>): Promise<{ stallMs: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t = performance.now();
  await fn();
  const ms = performance.now() - t;
  h.disable();
  return { stallMs: h.max / 1e6, ms };
}

const describe = (ec2: EC2Client, values: string[]) =>
  ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:t', Values: values }] }));

export async function requestsBench(): Promise<void> {
  const kiln = await startKiln();
  const ec2 = kiln.client();
  try {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'bench-60', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 't', Value: 'a'.repeat(60) }] }] }));
    for (let i = 0; i < 20; i++) {
      await ec2.send(new CreateKeyPairCommand({ KeyName: `bench-256-${i}`, TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 't', Value: 'a'.repeat(256) }] }] }));
    }
    await describe(ec2, ['warm']);
    const plain = await stallOf(async () => { for (let i = 0; i < 20; i++) await describe(ec2, ['x*']); });
    const hostile = await stallOf(() => describe(ec2, [PATTERN]));
    const worst = await stallOf(() => describe(ec2, Array.from({ length: 200 }, (_, i) => `${'*a'.repeat(100)}${'?'.repeat(i % 50)}b`)));
    console.log('\nhostile requests (event-loop stall: longest, while the requests run)');
    console.log(`  20 plain DescribeKeyPairs          stall ${plain.stallMs.toFixed(1)} ms (${plain.ms.toFixed(0)} ms in all)`);
    console.log(`  ${PATTERN} filter          stall ${hostile.stallMs.toFixed(1)} ms, answered in ${hostile.ms.toFixed(1)} ms   ratio ${(hostile.stallMs / plain.stallMs).toFixed(2)}x`);
    console.log(`  200 such values x 21 key pairs     stall ${worst.stallMs.toFixed(1)} ms, answered in ${worst.ms.toFixed(1)} ms   ratio ${(worst.stallMs / plain.stallMs).toFixed(2)}x`);
  } finally {
    await kiln.close();
  }
}
