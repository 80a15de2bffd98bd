import { StreampyError, isStreampyError } from '@streampy/codec';

/** Codes of `@streampy/chaos` errors, from the one table of `@streampy/codec` (`ERROR_CODES`). */
export type ChaosErrorCode = 'ERR_BAD_FAULT_SPEC' | 'ERR_BAD_OPTION';

/** The one error class thrown by `@streampy/chaos`; callers branch on `code`. */
export class ChaosError extends StreampyError<ChaosErrorCode> {
  override readonly name = 'ChaosError';
}

/** Runs one of the codec's validators; its verdict becomes a `ChaosError` with `code`. */
export function validated<T>(code: ChaosErrorCode, check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw isStreampyError(error) ? new ChaosError(code, error.message, { cause: error }) : error;
  }
}
