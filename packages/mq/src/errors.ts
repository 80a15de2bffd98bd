export type MqErrorCode = 'ERR_BAD_OPTION' | 'ERR_CLOSED' | 'ERR_LOG_CORRUPT';

/** The one error class thrown by `@streampy/mq`. Callers branch on `code`. */
export class MqError extends Error {
  override readonly name: string = 'MqError';
  readonly code: MqErrorCode;

  constructor(code: MqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
