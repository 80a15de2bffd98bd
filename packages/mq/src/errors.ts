export type MqErrorCode = 'ERR_BAD_OPTION' | 'ERR_CLOSED';

/** The one error class thrown by `@streampy/mq`. Callers branch on `code`. */
export class MqError extends Error {
  override readonly name = 'MqError';
  readonly code: MqErrorCode;

  constructor(code: MqErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
