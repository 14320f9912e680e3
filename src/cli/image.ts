/**
 * `kiln image import|export`: disk images in and out of AMIs through the EBS
 * direct APIs (@aws-sdk/client-ebs) and EC2 (@aws-sdk/client-ec2), against a
 * Kiln endpoint with ordinary AWS credentials (environment or profile).
 *
 *   kiln image import <disk.raw|disk.qcow2> --name N [--region R] [--description D] [--architecture A]
 *   kiln image export <ami-id> <out.raw> [--region R]
 */
import { parseArgs } from 'node:util';
import { EBSClient } from '@aws-sdk/client-ebs';
import { DescribeImagesCommand, EC2Client, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { print, UsageError } from './admin-client.js';
import { DEFAULT_MAX_IMPORT_GIB, ImportRefused, inspectDisk, qcow2ToRaw } from './disk-image.js';
import { downloadSnapshot, uploadDisk } from './disk-transfer.js';
import { progress } from './progress.js';

export const IMAGE_USAGE = `usage:
  kiln image import <disk.raw|disk.qcow2> --name NAME [--description TEXT] [--architecture x86_64|arm64]
      uploads every non-zero 512 KiB block of the disk as a snapshot (EBS direct APIs) and registers an AMI
      with it as its root volume (/dev/xvda); qcow2 is converted first with qemu-img (Debian package qemu-utils).
      Refused (InvalidParameter): a qcow2 with a backing file or an external data file; (InvalidParameterValue)
      a disk larger than --max-size GiB (default 1024)
  kiln image export <ami-id> <out.raw>
      writes the AMI's root snapshot to a sparse raw file (its volume size, whole GiB)
  common options: --endpoint URL (default $KILN_ENDPOINT or http://127.0.0.1:4747), --region R (default
                  $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1), --profile P; credentials as aws-cli finds
                  them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile)`;

const OPTIONS = {
  name: { type: 'string' }, description: { type: 'string' }, architecture: { type: 'string' }, 'max-size': { type: 'string' },
  endpoint: { type: 'string' }, region: { type: 'string' }, profile: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

interface Target { endpoint: string; region: string; profile?: string }

function clients(t: Target): { ebs: EBSClient; ec2: EC2Client } {
  if (t.profile) process.env.AWS_PROFILE = t.profile;
  // The SDK warns on every run that its releases from 2027 want Node 22; Kiln runs on Node 20 today, and the warning is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = { endpoint: t.endpoint, region: t.region };
  return { ebs: new EBSClient(config), ec2: new EC2Client(config) };
}

async function importImage(t: Target, file: string, v: { name?: string; description?: string; architecture?: string; 'max-size'?: string }): Promise<void> {
  if (!v.name) throw new UsageError('import needs --name');
  const maxGiB = Number(v['max-size'] ?? DEFAULT_MAX_IMPORT_GIB);
  if (!Number.isInteger(maxGiB) || maxGiB < 1) throw new UsageError(`--max-size must be a whole number of GiB, not '${v['max-size']}'`);
  const disk = await inspectDisk(file, maxGiB * 1024 ** 3);
  const { ebs, ec2 } = clients(t);
  const converted = disk.format === 'qcow2' ? await qcow2ToRaw(file) : undefined;
  try {
    const bar = progress(`importing ${file}`);
    const up = await uploadDisk(ebs, converted?.raw ?? file, {
      description: `Imported by kiln image import from ${file}`, onProgress: (d, n, b) => bar.update(d, n, b),
    }).finally(() => bar.end());
    const reg = await ec2.send(new RegisterImageCommand({
      Name: v.name, Description: v.description, Architecture: (v.architecture ?? 'x86_64') as 'x86_64', RootDeviceName: '/dev/xvda',
      VirtualizationType: 'hvm', EnaSupport: true,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: up.snapshotId, VolumeSize: up.volumeSize, DeleteOnTermination: true, VolumeType: 'gp3' } }],
    }));
    print({ ImageId: reg.ImageId, SnapshotId: up.snapshotId, VolumeSize: up.volumeSize, BlocksUploaded: up.blocksWritten });
  } finally {
    await converted?.cleanup();
  }
}

async function exportImage(t: Target, imageId: string, out: string): Promise<void> {
  const { ebs, ec2 } = clients(t);
  const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  if (!image) throw new Error(`no image ${imageId}`);
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === image.RootDeviceName) ?? image.BlockDeviceMappings?.[0];
  const snapshotId = root?.Ebs?.SnapshotId;
  if (!snapshotId) throw new Error(`${imageId} has no root snapshot`);
  const bar = progress(`exporting ${imageId}`);
  const got = await downloadSnapshot(ebs, snapshotId, out, { onProgress: (d, n, b) => bar.update(d, n, b) }).finally(() => bar.end());
  print({ ImageId: imageId, SnapshotId: snapshotId, File: out, VolumeSize: got.volumeSize, BlocksDownloaded: got.blocks });
}

/** `kiln image ...`: 0 done, 2 a usage mistake, 1 refused or failed. */
export async function imageCommand(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
    const [sub, ...args] = positionals;
    if (values.help || sub === 'help' || sub === undefined) {
      console.log(IMAGE_USAGE);
      return sub === undefined && !values.help ? 2 : 0;
    }
    const t: Target = {
      endpoint: (values.endpoint ?? process.env.KILN_ENDPOINT ?? 'http://127.0.0.1:4747').replace(/\/+$/, ''),
      region: values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1', profile: values.profile,
    };
    if (sub === 'import' && args.length === 1) await importImage(t, args[0]!, values);
    else if (sub === 'export' && args.length === 2) await exportImage(t, args[0]!, args[1]!);
    else throw new UsageError(`unknown or incomplete command: image ${positionals.join(' ')}`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`kiln: ${(err as Error).message}\n${IMAGE_USAGE}`);
      return 2;
    }
    if (err instanceof ImportRefused) {
      console.error(`kiln: ${err.code}: ${err.message}`);
      return 1;
    }
    const e = err as Error & { $metadata?: unknown; name: string };
    const hint = e.name === 'CredentialsProviderError' ? ' (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, as kiln serve prints them, or use --profile)' : '';
    console.error(`kiln: ${e.$metadata ? `${e.name}: ` : ''}${e.message}${hint}`);
    return 1;
  }
}
