/**
 * `kiln storage`, `kiln gc [--dry-run]` and `kiln fsck`: what the block store
 * holds, freeing what nothing refers to, and checking every block, through
 * the running server's admin API (services/snapshots/storage.ts).
 */
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, ADMIN_USAGE, UsageError, adminCall, adminTarget, print, runAdminCommand } from './admin-client.js';

export const STORAGE_USAGE = `usage:
  kiln storage [--region R] [--json]
                                 bytes stored; for each snapshot and image the bytes only it holds (what deleting frees)
  kiln gc [--dry-run] [--json]   free the blocks no snapshot refers to (packs under half live are rewritten)
  kiln fsck [--json]             read and check every block and base file; damaged snapshots are marked error
                                 (exit status 1 when anything is damaged)
${ADMIN_USAGE}`;

const OPTIONS = { ...ADMIN_OPTIONS, json: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, region: { type: 'string' } } as const;

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

interface Stats { packs: number; packBytes: number; blocks: number; blockBytes: number }
const storeLine = (s: Stats) => `${s.blocks} blocks in ${s.packs} packs: ${mib(s.blockBytes)} of blocks, ${mib(s.packBytes)} on disk`;

function printStorage(r: any): void {
  console.log(`block store  ${storeLine(r.store)}`);
  console.log(`volume pool  ${r.pool.mode}, ${r.pool.bases} base files\n`);
  console.log(table([['SNAPSHOT', 'OWNER', 'REGION', 'STATE', 'SIZE', 'DATA', 'ONLY IT', 'IMAGES'],
    ...r.snapshots.map((s: any) => [s.snapshotId, s.account, s.region, s.state, `${s.volumeSize} GiB`, mib(s.fullBytes), mib(s.uniqueBytes), s.imageIds.join(',') || '-'])]));
  console.log();
  console.log(table([['IMAGE', 'NAME', 'OWNER', 'REGION', 'SNAPSHOTS', 'ONLY IT (freed by deregistering it with its snapshots)'],
    ...r.images.map((i: any) => [i.imageId, i.name, i.account, i.region, String(i.snapshotIds.length), mib(i.uniqueBytes)])]));
}

function printGc(r: any): void {
  const p = r.plan;
  console.log(`blocks: ${p.stored} stored, ${p.referenced} referenced, ${p.unreferenced} unreferenced (${mib(p.unreferencedBytes)}), ${p.missing} missing`);
  if (r.refused) console.log(`refused: ${r.refused}`);
  else if (r.dryRun) console.log(`would free ${mib(r.freedBytes)} of blocks (kiln gc frees them)`);
  else console.log(`freed ${mib(r.freedBytes)} of blocks; packs on disk ${mib(r.before.packBytes)} -> ${mib(r.after.packBytes)}`);
  const f = r.files;
  if (f) {
    console.log(`pack files: ${f.indexed.count} indexed (${mib(f.indexed.bytes)}), ${f.sealed.count} sealed awaiting their index rows (${mib(f.sealed.bytes)}), `
      + `${f.open.count} open (${mib(f.open.bytes)}), ${f.unknown.length} unknown${f.unknown.length ? `: ${f.unknown.map((u: any) => u.file).join(', ')}` : ''}`);
  }
}

function printFsck(r: any): void {
  console.log(`checked ${r.blocks.checked} blocks of ${r.snapshots} snapshots: ${r.blocks.corrupt} corrupt, ${r.blocks.missing} missing`);
  for (const d of r.damaged) {
    console.log(`${d.snapshotId} (${d.account}, ${d.region}): DAMAGED, ${d.corruptBlocks} corrupt and ${d.missingBlocks} missing blocks; `
      + `marked error; images using it: ${d.imageIds.join(', ') || 'none'}`);
  }
  console.log(`base files: ${r.bases.checked} checked, ${r.bases.dropped.length} differed from their snapshot and were dropped (built again from the blocks at the next launch)`);
  for (const b of r.bases.dropped) console.log(`  ${b.snapshotId}: blocks ${b.blocks.join(', ')}`);
}

const COMMANDS: Record<string, { method: string; path: (v: Values) => string; show: (r: any) => void; failed?: (r: any) => boolean }> = {
  storage: { method: 'GET', path: () => 'storage', show: printStorage },
  gc: { method: 'POST', path: (v) => `gc${v['dry-run'] ? '?dry-run=true' : ''}`, show: printGc, failed: (r) => !!r.refused },
  fsck: { method: 'POST', path: () => 'fsck', show: printFsck, failed: (r) => r.damaged.length > 0 || r.blocks.corrupt + r.blocks.missing > 0 },
};

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

export async function storageCommand(command: 'storage' | 'gc' | 'fsck', argv: string[]): Promise<number> {
  let failed = false;
  const code = await runAdminCommand(STORAGE_USAGE, async () => {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
    if (values.help) return void console.log(STORAGE_USAGE);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values['dry-run'] && command !== 'gc') throw new UsageError('--dry-run is for kiln gc');
    const c = COMMANDS[command]!;
    if (values.region && command !== 'storage') throw new UsageError('--region is for kiln storage');
    const r = await adminCall(await adminTarget(values), c.method, c.path(values));
    if (values.region) for (const k of ['snapshots', 'images']) r[k] = r[k].filter((x: { region: string }) => x.region === values.region);
    if (values.json) print(r);
    else c.show(r);
    failed = !!c.failed?.(r);
  });
  return code || (failed ? 1 : 0);
}
