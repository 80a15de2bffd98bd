import { StreampyError } from '@streampy/codec';

/** Codes of topology errors, from the one table of `@streampy/codec` (`ERROR_CODES`). */
export type TopologyErrorCode =
  /** The topology file is unreadable or wrong: `problems` lists each, with file, line and key. */
  | 'ERR_BAD_OPTION'
  /** A process could not be started or did not say it was ready. */
  | 'ERR_CHILD_START'
  /** A process exited while it was needed. */
  | 'ERR_CHILD_EXIT';

/** Why a topology could not be loaded or run; callers branch on `code`. */
export class TopologyError extends StreampyError<TopologyErrorCode> {
  override readonly name = 'TopologyError';
  /** For a bad file: every problem, each `FILE:LINE: KEY: message`; empty otherwise. */
  readonly problems: readonly string[];

  constructor(code: TopologyErrorCode, message: string, options: { readonly cause?: unknown; readonly problems?: readonly string[] } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.problems = options.problems ?? [];
  }
}

/** The error of a bad topology file: its message is every problem, one per line. */
export function badTopology(problems: readonly string[], cause?: unknown): TopologyError {
  return new TopologyError('ERR_BAD_OPTION', problems.join('\n'), { problems, ...(cause === undefined ? {} : { cause }) });
}
