import { MqError } from '../../errors.js';

/**
 * Thrown by the log engine's open() when a segment other than the last is damaged: serving the
 * queue from it would silently drop or resurrect messages. A torn tail of the last segment is
 * normal after a crash and is cut instead.
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
