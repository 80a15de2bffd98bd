export type ChaosErrorCode = 'ERR_BAD_FAULT_SPEC' | 'ERR_BAD_OPTION';

/** The one error class thrown by `@streampy/chaos`; callers branch on `code`. */
export class ChaosError extends Error {
  override readonly name = 'ChaosError';
  readonly code: ChaosErrorCode;

  constructor(code: ChaosErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
