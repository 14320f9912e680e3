/**
 * The EBS direct APIs' errors at the API edge: every error leaving an EBS
 * handler becomes one of the codes @aws-sdk/client-ebs models (with its
 * Reason), whatever layer threw it; authentication errors keep their own.
 * The protocol layer gives each its status (the model's httpError).
 */
import { EBS, ProtocolError } from '../protocol/protocol.js';
import { InsufficientStorage, Invalid, isStorageError, MalformedId, NotFound } from '../services/core/errors.js';
import { EbsError } from '../services/snapshots/direct-state.js';
import { ApiError, AuthError, statusFor } from './errors.js';

const error = (code: string, message: string, reason?: string) =>
  new ApiError(code, message, EBS.errorStatus(code) ?? 400, reason ? { Reason: reason } : undefined);

/** Maps any thrown value to the EBS error a client should see. */
export function toEbsError(err: unknown): ApiError {
  if (err instanceof EbsError) return error(err.code, err.message, err.reason);
  // A full disk: the quota error the EBS model has for a dependency's capacity (402), not a 500 naming host paths.
  if (err instanceof InsufficientStorage || isStorageError(err)) {
    return error('ServiceQuotaExceededException', 'There is not enough storage capacity on the host for this request.', 'DEPENDENCY_SERVICE_QUOTA_EXCEEDED');
  }
  if (err instanceof ProtocolError) {
    return err.code === 'ValidationException' ? error(err.code, err.message, 'INVALID_PARAMETER_VALUE') : new ApiError(err.code, err.message, 400);
  }
  if (err instanceof AuthError) return new ApiError(err.code, err.message, statusFor(err.code));
  if (err instanceof ApiError) return err.status >= 500 ? error('InternalServerException', err.message) : err;
  // A reused ClientToken with other parameters is a ConflictException in EBS (IdempotentParameterMismatch in EC2).
  if (err instanceof Invalid) {
    return err.code === 'IdempotentParameterMismatch' ? error('ConflictException', err.message) : error('ValidationException', err.message, 'INVALID_PARAMETER_VALUE');
  }
  if (err instanceof NotFound) return error('ResourceNotFoundException', `The ${err.kind} '${err.ids.join(', ')}' does not exist.`, 'SNAPSHOT_NOT_FOUND');
  if (err instanceof MalformedId) return error('ValidationException', `The ${err.kind} id '${err.id}' is not valid.`, 'INVALID_SNAPSHOT_ID');
  return error('InternalServerException', 'An internal error has occurred');
}
