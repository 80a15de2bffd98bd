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
export class WorkerError extends Error {
  override readonly name = 'WorkerError';
  readonly code: WorkerErrorCode;

  constructor(code: WorkerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** The `code` of an error from any streampy package (client errors included), or undefined. */
export function errorCode(error: unknown): string | undefined {
  // Branch on `code`, not `instanceof`: errors may come from another copy of a package.
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
