import { StreampyError } from '@streampy/codec';

export type MqErrorCode = 'ERR_BAD_OPTION' | 'ERR_CLOSED' | 'ERR_ENGINE_STATE' | 'ERR_LOG_CORRUPT' | 'ERR_STORAGE' | 'ERR_UNAVAILABLE';

/** The error class thrown by `@streampy/mq`. Callers branch on `code` (see the codec's `ERROR_CODES`). */
export class MqError extends StreampyError<MqErrorCode> {
  override readonly name: string = 'MqError';
}
