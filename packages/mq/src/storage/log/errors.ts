/**
 * Thrown by the log engine's open() when a segment other than the last is damaged: serving the
 * queue from it would silently drop or resurrect messages.
 *
 * Kept apart from MqError only until MqErrorCode gains 'ERR_LOG_CORRUPT' (owned elsewhere);
 * callers should branch on `code` either way.
 */
export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
  readonly code = 'ERR_LOG_CORRUPT';
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, reason: string) {
    super(`log segment ${file} is corrupt at byte ${offset} (${reason}); refusing to serve a queue rebuilt from it`);
    this.file = file;
    this.offset = offset;
  }
}
