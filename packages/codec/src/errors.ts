/**
 * Stable error codes of the codec. Callers branch on `code`, never on message text.
 */
export type CodecErrorCode =
  | 'ERR_EMPTY'
  | 'ERR_BAD_HEADER'
  | 'ERR_ZERO_LENGTH_DIGITS'
  | 'ERR_TRUNCATED'
  | 'ERR_TRAILING_BYTES'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_INVALID_UTF8'
  | 'ERR_UNKNOWN_VERB'
  | 'ERR_BAD_REQUEST'
  | 'ERR_BAD_REPLY';

/** The one error class thrown by `@streampy/codec`. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly code: CodecErrorCode;
  /** Byte offset in the input where the problem was found, when it is known. */
  readonly offset: number | undefined;
  /** For `ERR_FRAME_TOO_LARGE`: the payload length the header declared, exactly. */
  readonly declaredLength: bigint | undefined;

  constructor(code: CodecErrorCode, message: string, options?: { offset?: number; declaredLength?: bigint; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.offset = options?.offset;
    this.declaredLength = options?.declaredLength;
  }
}

/** True for a `CodecError`, also one thrown by another copy of this package. */
export function isCodecError(value: unknown): value is CodecError {
  return value instanceof Error && value.name === 'CodecError' && typeof (value as { code?: unknown }).code === 'string';
}
