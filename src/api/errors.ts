/**
 * The one registry of AWS error codes at the API edge: every error leaving a
 * handler becomes an ApiError here (code, message, HTTP status), whatever
 * layer threw it. Anything unrecognised is a 500 InternalError, logged.
 */
import { ProtocolError } from '../protocol/protocol.js';
import { DryRunPassed, DuplicateName, HostUnavailable, InUse, Invalid, InvalidState, MalformedId, NotFound, Unavailable } from '../services/core/errors.js';
import type { ResourceKind } from '../services/core/errors.js';
import { ID_PREFIXES } from '../services/core/ids.js';

export class ApiError extends Error {
  /** `fields`: the error shape's other members, for protocols that carry them (REST-JSON: an EBS error's Reason). */
  constructor(readonly code: string, message: string, readonly status = 400, readonly fields?: Record<string, string>) { super(message); }
}

const PREFIX: Record<ResourceKind, string> = {
  image: 'InvalidAMIID', snapshot: 'InvalidSnapshot', volume: 'InvalidVolume', instance: 'InvalidInstanceID', 'key-pair': 'InvalidKeyPair',
  'security-group': 'InvalidGroup',
};
/** Malformed ids have their own codes: InvalidSnapshotID.Malformed beside InvalidSnapshot.NotFound. */
const MALFORMED_PREFIX: Record<ResourceKind, string> = {
  image: 'InvalidAMIID', snapshot: 'InvalidSnapshotID', volume: 'InvalidVolumeID', instance: 'InvalidInstanceID', 'key-pair': 'InvalidKeyPair',
  'security-group': 'InvalidGroupId',
};

/** AWS's wording, singular or plural as AWS words it for each kind. */
function notFoundMessage(kind: ResourceKind, ids: string[]): string {
  const one = ids.length === 1;
  switch (kind) {
    case 'image': return one ? `The image id '[${ids[0]}]' does not exist` : `The image ids '[${ids.join(', ')}]' do not exist`;
    case 'snapshot': return `The snapshot '${ids.join(', ')}' does not exist.`;
    case 'volume': return `The volume '${ids.join(', ')}' does not exist.`;
    case 'key-pair': return `The key pair '${ids.join(', ')}' does not exist`;
    case 'security-group': return `The security group '${ids.join(', ')}' does not exist`;
    case 'instance': return one ? `The instance ID '${ids[0]}' does not exist` : `The instance IDs '${ids.join(', ')}' do not exist`;
  }
}

const STATUS: Record<string, number> = {
  AuthFailure: 401, SignatureDoesNotMatch: 403, IncompleteSignature: 400, MissingAuthenticationToken: 403, RequestExpired: 400,
  UnauthorizedOperation: 403, OptInRequired: 401, DryRunOperation: 412, RequestLimitExceeded: 503,
  InternalError: 500, InsufficientInstanceCapacity: 500, InsufficientVolumeCapacity: 500,
};

export function statusFor(code: string): number {
  return STATUS[code] ?? 400;
}

/** Maps any thrown value to the AWS error a client should see. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof DryRunPassed) return new ApiError('DryRunOperation', err.message, 412);
  if (err instanceof ProtocolError || err instanceof Invalid) return new ApiError(err.code, err.message, statusFor(err.code));
  if (err instanceof AuthError) return new ApiError(err.code, err.message, statusFor(err.code));
  if (err instanceof NotFound) return new ApiError(`${PREFIX[err.kind]}.NotFound`, notFoundMessage(err.kind, err.ids));
  if (err instanceof MalformedId) {
    return new ApiError(`${MALFORMED_PREFIX[err.kind]}.Malformed`, `Invalid id: "${err.id}" (expecting "${ID_PREFIXES[err.kind]}-...")`);
  }
  if (err instanceof Unavailable) return new ApiError(`${PREFIX[err.kind]}.Unavailable`, `The image id '[${err.id}]' is no longer available`);
  if (err instanceof InUse) return new ApiError(`${PREFIX[err.kind]}.InUse`, `The ${err.kind} ${err.id} is currently in use by ${err.usedBy}`);
  if (err instanceof DuplicateName) return new ApiError('InvalidAMIName.Duplicate', `AMI name ${err.name} is already in use by AMI ${err.heldBy}`);
  if (err instanceof InvalidState) {
    const code = err.kind === 'instance' ? 'IncorrectInstanceState' : 'IncorrectState';
    return new ApiError(code, err.message);
  }
  if (err instanceof HostUnavailable) return new ApiError('InsufficientInstanceCapacity', err.message, 500);
  return new ApiError('InternalError', 'An internal error has occurred', 500);
}

/** A request that fails authentication; `code` is the AWS error code to answer with. */
export class AuthError extends Error {
  constructor(readonly code: 'AuthFailure' | 'SignatureDoesNotMatch' | 'MissingAuthenticationToken' | 'IncompleteSignature' | 'RequestExpired', message: string) {
    super(message);
  }
}
