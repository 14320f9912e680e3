/**
 * Errors the domain throws. They say what went wrong in domain terms; the API
 * edge (api/errors.ts) maps each to AWS's error code, message and HTTP status.
 */
import { isStorageError } from '../../lib/storage-errors.js';

export type ResourceKind = 'image' | 'snapshot' | 'volume' | 'instance' | 'key-pair' | 'security-group';

/**
 * A DryRun request got as far as its first change: every check passed, so it
 * would have succeeded. Services call beforeChange(caller) at that point.
 */
export class DryRunPassed extends Error {
  constructor() { super('Request would have succeeded, but DryRun flag is set.'); }
}

/** Marks the point where a request stops checking and starts changing things; a DryRun request ends here. */
export function beforeChange(caller: { dryRun?: boolean }): void {
  if (caller.dryRun) throw new DryRunPassed();
}

/** One or more resources do not exist, or are not visible to the caller. */
export class NotFound extends Error {
  constructor(readonly kind: ResourceKind, readonly ids: string[]) { super(`${kind} not found: ${ids.join(', ')}`); }
}

/** An id that is not of the resource's id format. */
export class MalformedId extends Error {
  constructor(readonly kind: ResourceKind, readonly id: string) { super(`malformed ${kind} id: ${id}`); }
}

/** A resource that existed and was recently deleted (e.g. a deregistered image). */
export class Unavailable extends Error {
  constructor(readonly kind: ResourceKind, readonly id: string) { super(`${kind} ${id} is no longer available`); }
}

/** The resource is in a state that does not allow the operation. */
export class InvalidState extends Error {
  constructor(readonly kind: ResourceKind, readonly id: string, readonly state: string, message: string) { super(message); }
}

/** A resource is still used by another one. */
export class InUse extends Error {
  constructor(readonly kind: ResourceKind, readonly id: string, readonly usedBy: string) { super(`${kind} ${id} is in use by ${usedBy}`); }
}

/** A name that must be unique is taken. */
export class DuplicateName extends Error {
  constructor(readonly kind: ResourceKind, readonly name: string, readonly heldBy: string) { super(`${kind} name ${name} is in use by ${heldBy}`); }
}

/**
 * A request value the domain rejects. `code` is the AWS error code that names
 * the problem (the domain speaks AWS's vocabulary for validation, since that is
 * what its users read).
 */
export class Invalid extends Error {
  constructor(readonly code: string, message: string) { super(message); }
}

/** Something the host cannot do (no runc, not root, ...). */
export class HostUnavailable extends Error {}

/** What a user is told of a full (or failing) disk on the host: never its paths. */
export const STORAGE_MESSAGE = 'insufficient storage on the host';

/** The host's storage is full or failing (ENOSPC, EDQUOT, EIO, SQLITE_FULL): the request cannot be served now. */
export class InsufficientStorage extends Error {
  constructor() { super(STORAGE_MESSAGE); }
}

export { isStorageError };

/**
 * What a record (a StateReason, a snapshot's StateMessage) may say of a
 * failure: the domain's own words, but for a host error (a storage error, a
 * system call's or a command's error, anything naming a path) a message
 * without the host's paths. The caller logs the real error for the operator.
 */
export function publicMessage(err: unknown): string {
  if (isStorageError(err)) return STORAGE_MESSAGE;
  const e = err as { message?: unknown; syscall?: unknown; errno?: unknown; stderr?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (e && (e.syscall !== undefined || e.errno !== undefined || e.stderr !== undefined)) return 'an internal error occurred on the host';
  if (/(^|[\s'"`(=:])\/[\w.-]/.test(message)) return 'an internal error occurred on the host';
  return message;
}

/** The host has no room for what is asked (InsufficientInstanceCapacity, InsufficientVolumeCapacity): a server-side error, as on AWS. */
export class InsufficientCapacity extends Invalid {}
