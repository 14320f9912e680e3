/**
 * Errors of the host's storage: a full filesystem (ENOSPC), an exceeded quota
 * (EDQUOT), a failing disk (EIO), and SQLite's words for the same (SQLITE_FULL,
 * SQLITE_IOERR_*); a command (cp, mkfs) that failed for one of them says so on
 * stderr. Callers turn them into a clean state and an error without the
 * host's paths (services/core/errors.ts).
 */
const CODES = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'SQLITE_FULL']);
const WORDS = /No space left on device|Disk quota exceeded|Input\/output error|database or disk is full/;

export function isStorageError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; stderr?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (CODES.has(e.code) || e.code.startsWith('SQLITE_IOERR'))) return true;
  if (typeof e.stderr === 'string' && WORDS.test(e.stderr)) return true;
  if (typeof e.message === 'string' && WORDS.test(e.message)) return true;
  return isStorageError(e.cause, depth + 1);
}
