import { StreampyError } from '@streampy/codec';

/** Codes of pong-demo errors, from the one table of `@streampy/codec` (`ERROR_CODES`). */
export type DemoErrorCode =
  /** A child node could not be started or did not say it was ready. */
  | 'ERR_CHILD_START'
  /** A child node exited while the game was running. */
  | 'ERR_CHILD_EXIT'
  /** The queue node did not answer the demo's own requests. */
  | 'ERR_QUEUE';

/** Why a pong-demo run failed; callers branch on `code`. */
export class DemoError extends StreampyError<DemoErrorCode> {
  override readonly name = 'DemoError';
}
