/**
 * The EBS direct APIs (service ebs, REST-JSON): StartSnapshot,
 * PutSnapshotBlock, CompleteSnapshot, ListSnapshotBlocks, ListChangedBlocks
 * and GetSnapshotBlock, typed with @aws-sdk/client-ebs's own shapes. The
 * protocol layer (protocol/rest-json.ts) routes and parses them from the model.
 */
import type {
  CompleteSnapshotRequest, CompleteSnapshotResponse, GetSnapshotBlockRequest, GetSnapshotBlockResponse, ListChangedBlocksRequest,
  ListChangedBlocksResponse, ListSnapshotBlocksRequest, ListSnapshotBlocksResponse, PutSnapshotBlockRequest, PutSnapshotBlockResponse,
  StartSnapshotRequest, StartSnapshotResponse,
} from '@aws-sdk/client-ebs';
import { reportedKey } from '../../services/core/kms.js';
import { completeUpload, putSnapshotBlock, startSnapshot } from '../../services/snapshots/direct.js';
import type { Listing } from '../../services/snapshots/direct-read.js';
import { getSnapshotBlock, listChangedBlocks, listSnapshotBlocks } from '../../services/snapshots/direct-read.js';
import type { Handler } from '../handler.js';

const listed = <T>(l: Listing<T>) => ({ ExpiryTime: l.expiryTime, VolumeSize: l.volumeSize, BlockSize: l.blockSize, NextToken: l.nextToken });

export const start: Handler<StartSnapshotRequest, StartSnapshotResponse> = async (ctx, caller, input) => {
  const { snapshot: s, parentSnapshotId, blockSize } = await startSnapshot(ctx, caller, {
    volumeSize: input.VolumeSize!, parentSnapshotId: input.ParentSnapshotId, description: input.Description, clientToken: input.ClientToken,
    encrypted: input.Encrypted, kmsKeyArn: input.KmsKeyArn, timeout: input.Timeout,
    tags: input.Tags?.map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' })),
  });
  return {
    SnapshotId: s.id, OwnerId: s.account, Status: s.state, StartTime: new Date(s.startTime), VolumeSize: s.volumeSize, BlockSize: blockSize,
    Description: s.description || undefined, ParentSnapshotId: parentSnapshotId, KmsKeyArn: reportedKey(s, s),
    SseType: s.encrypted ? 'sse-kms' : 'none', Tags: s.tags.length ? s.tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined,
  };
};

/** The protocol layer reads the streaming payload whole (a block is 512 KiB). */
type WithBytes<T> = Omit<T, 'BlockData'> & { BlockData?: Uint8Array };

export const put: Handler<WithBytes<PutSnapshotBlockRequest>, PutSnapshotBlockResponse> = async (ctx, caller, input) => {
  const r = await putSnapshotBlock(ctx, caller, {
    snapshotId: input.SnapshotId!, blockIndex: input.BlockIndex!, data: input.BlockData ?? new Uint8Array(0), dataLength: input.DataLength!,
    checksum: input.Checksum!, checksumAlgorithm: input.ChecksumAlgorithm!, progress: input.Progress,
  });
  return { Checksum: r.checksum, ChecksumAlgorithm: r.checksumAlgorithm };
};

export const complete: Handler<CompleteSnapshotRequest, CompleteSnapshotResponse> = async (ctx, caller, input) => {
  const r = await completeUpload(ctx, caller, {
    snapshotId: input.SnapshotId!, changedBlocksCount: input.ChangedBlocksCount!, checksum: input.Checksum,
    checksumAlgorithm: input.ChecksumAlgorithm, checksumAggregationMethod: input.ChecksumAggregationMethod,
  });
  return { Status: r.status };
};

export const listBlocks: Handler<ListSnapshotBlocksRequest, ListSnapshotBlocksResponse> = async (ctx, caller, input) => {
  const l = await listSnapshotBlocks(ctx, caller, {
    snapshotId: input.SnapshotId!, nextToken: input.NextToken, maxResults: input.MaxResults, startingBlockIndex: input.StartingBlockIndex,
  });
  return { Blocks: l.items.map((b) => ({ BlockIndex: b.blockIndex, BlockToken: b.blockToken })), ...listed(l) };
};

export const listChanged: Handler<ListChangedBlocksRequest, ListChangedBlocksResponse> = async (ctx, caller, input) => {
  const l = await listChangedBlocks(ctx, caller, {
    firstSnapshotId: input.FirstSnapshotId, secondSnapshotId: input.SecondSnapshotId!, nextToken: input.NextToken,
    maxResults: input.MaxResults, startingBlockIndex: input.StartingBlockIndex,
  });
  return {
    ChangedBlocks: l.items.map((b) => ({ BlockIndex: b.blockIndex, FirstBlockToken: b.firstBlockToken, SecondBlockToken: b.secondBlockToken })),
    ...listed(l),
  };
};

export const getBlock: Handler<GetSnapshotBlockRequest, WithBytes<GetSnapshotBlockResponse>> = async (ctx, caller, input) => {
  const b = await getSnapshotBlock(ctx, caller, { snapshotId: input.SnapshotId!, blockIndex: input.BlockIndex!, blockToken: input.BlockToken! });
  return { BlockData: b.data, DataLength: b.dataLength, Checksum: b.checksum, ChecksumAlgorithm: b.checksumAlgorithm };
};

export const HANDLERS: Record<string, Handler> = {
  StartSnapshot: start, PutSnapshotBlock: put, CompleteSnapshot: complete,
  ListSnapshotBlocks: listBlocks, ListChangedBlocks: listChanged, GetSnapshotBlock: getBlock,
};
