import { StreampyError } from '@streampy/codec';

/** Codes of `@streampy/worker` errors, from the one table of `@streampy/codec` (`ERROR_CODES`). */
export type WorkerErrorCode =
  /** The function refused its input (pong given "hello"): counted as rejected, never fatal. */
  | 'ERR_REJECTED_INPUT'
  /** The function returned something that is neither a message, a pair nor an iterable of them. */
  | 'ERR_BAD_RESULT'
  /** An option or a combination of options the worker cannot honour. */
  | 'ERR_BAD_OPTION'
  /** `--function` named no built-in and no loadable module export. */
  | 'ERR_UNKNOWN_FUNCTION';

/** The one error class thrown by `@streampy/worker`. */
export class WorkerError extends StreampyError<WorkerErrorCode> {
  override readonly name = 'WorkerError';
}

/** The `code` of an error from any streampy package (client errors included), or undefined. */
export function errorCode(error: unknown): string | undefined {
  // Read `code`, not the class: a WorkerClient of the caller's own may raise errors of any class.
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
