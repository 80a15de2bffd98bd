import { MqError } from '../../errors.js';

/**
 * The error of the 0.1 release's open() for a damaged sealed segment. Since format 2, damage is
 * contained and reported instead (docs/durability.md), so open() no longer throws it; it stays
 * exported for code that branches on it.
 */
export class LogCorruptionError extends MqError {
  override readonly name = 'LogCorruptionError';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super('ERR_LOG_CORRUPT', `log segment ${file} is corrupt at byte ${offset} (${reason}); refusing to serve a queue rebuilt from it`);
    this.file = file;
    this.offset = offset;
  }
}

/** `ERR_STORAGE`: a write or fsync failed; the requests in that batch changed nothing on disk. */
export function storageError(what: string, cause: unknown): MqError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new MqError('ERR_STORAGE', `${what} failed (${detail}); nothing of it was stored, try again`, { cause });
}

/** One line for a file-system error, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${code}: ${error.message}`;
  }
  return String(error);
}
