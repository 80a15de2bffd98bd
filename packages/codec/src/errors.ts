import { WIRE_ERROR_CODES, type WireErrorCode } from './wire-errors.js';

/**
 * Every error code a streampy package raises, with its one meaning: one table, so no two
 * packages mean different things by one code. A package adding a code adds it here.
 * (`ERR_PARSE_ARGS_*` codes seen by the CLIs are Node's own, from `util.parseArgs`, not ours.)
 */
export const ERROR_CODES = {
  // Frames and text (@streampy/codec)
  ERR_EMPTY: 'a frame was expected and the input is empty',
  ERR_BAD_HEADER: 'a frame header byte (L or a length digit) is not a hex digit',
  ERR_ZERO_LENGTH_DIGITS: 'a frame header declares 0 length digits (L must be 1-f)',
  ERR_TRUNCATED: 'the input ends inside a frame header or payload',
  ERR_TRAILING_BYTES: 'bytes follow the one frame a datagram must hold',
  ERR_FRAME_TOO_LARGE: 'a frame declares a payload longer than the limit',
  ERR_INVALID_UTF8: 'text was required and the bytes are not valid UTF-8',
  // The protocol grammar: raised by the codec's parsers, and by a client for the same wire codes.
  ERR_UNKNOWN_VERB: 'a request verb the protocol does not know (found by the parser, or answered ERR UNKNOWN_VERB by a node)',
  ERR_BAD_REQUEST: 'a known verb with malformed or out-of-range arguments (found by the parser, or answered ERR BAD_REQUEST by a node)',
  ERR_BAD_REPLY: 'a reply that does not parse, or is not a possible answer to the request sent',
  // Wire errors a node answered (`ERR <CODE>` -> `ERR_<CODE>`, see errorCodeOf); two are above.
  ERR_BAD_FRAME: `the node answered ERR BAD_FRAME: ${WIRE_ERROR_CODES.BAD_FRAME}`,
  ERR_TOO_LARGE: `the node answered ERR TOO_LARGE: ${WIRE_ERROR_CODES.TOO_LARGE}`,
  ERR_FULL: `the node answered ERR FULL: ${WIRE_ERROR_CODES.FULL}`,
  ERR_UNKNOWN_LEASE: `the node answered ERR UNKNOWN_LEASE: ${WIRE_ERROR_CODES.UNKNOWN_LEASE}`,
  ERR_INTERNAL: `the node answered ERR INTERNAL: ${WIRE_ERROR_CODES.INTERNAL}`,
  ERR_UNAVAILABLE: `the node answered ERR UNAVAILABLE: ${WIRE_ERROR_CODES.UNAVAILABLE}`,
  // Callers and lifecycles (client, mq, worker, chaos)
  ERR_TIMEOUT: 'no reply arrived for any attempt of a request',
  ERR_UNREACHABLE: 'the operating system reported the node unreachable (ICMP port or host unreachable: nothing listens there)',
  ERR_DATAGRAM_TOO_LARGE: 'the operating system refused to send a datagram this large (EMSGSIZE; macOS caps UDP datagrams at 9216 bytes unless net.inet.udp.maxdgram is raised)',
  ERR_CLOSED: 'the object is closed (a closed client, a closed storage engine)',
  ERR_ENGINE_STATE: 'a storage engine was used out of order: written before open(), or opened twice (a programming error)',
  ERR_UNSUPPORTED: 'the request cannot be expressed in the protocol in use (the seed protocol has no ids, queues or newer verbs)',
  ERR_INVALID_ARGUMENT: 'a function argument is malformed or out of range (a name, a count, a duration)',
  ERR_REQUEST_TOO_LARGE: 'the request frame is larger than one datagram',
  ERR_BAD_OPTION: 'an option, or a combination of options, that cannot be honoured (node, storage engine, worker, chaos proxy or check)',
  ERR_LOG_CORRUPT: 'a durable log segment is damaged; the queue is not served from it',
  ERR_STORAGE: 'a storage write or fsync failed; nothing of that batch was stored, so a retry is safe',
  ERR_REJECTED_INPUT: 'a worker function refused its input: counted as rejected, never fatal',
  ERR_BAD_RESULT: 'a worker function returned neither a message, a [choice, message] pair nor an iterable of them',
  ERR_UNKNOWN_FUNCTION: 'a worker --function names no built-in and no loadable module export',
  ERR_BAD_FAULT_SPEC: 'a fault specification (probability, delay or delay range) is malformed or out of range',
  ERR_CHILD_START: 'a child process could not be started or did not say it was ready',
  ERR_CHILD_EXIT: 'a child process exited while it was needed',
  ERR_QUEUE: 'the queue node did not answer, or answered nonsense to, requests the caller needed',
  ERR_KEY_FILE: 'an authentication key file cannot be read, is open to other users, or does not hold valid "<key id> <64 hex digits>" lines',
} as const satisfies Record<`ERR_${WireErrorCode}`, string> & Record<string, string>;

export type StreampyErrorCode = keyof typeof ERROR_CODES;

/** The brand that makes `instanceof StreampyError` hold across two copies of this package. */
const BRAND: unique symbol = Symbol.for('streampy.error');

function hasBrand(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/**
 * The one base class of every streampy error: a stable `code` from `ERROR_CODES`, callers branch
 * on it (never on message text). `instanceof StreampyError` and `isStreampyError` recognise an
 * error made by another copy of the package too (a `Symbol.for` brand); subclasses keep
 * ordinary `instanceof`.
 */
export class StreampyError<C extends StreampyErrorCode = StreampyErrorCode> extends Error {
  override readonly name: string = 'StreampyError';
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** On the prototype, not the instance: invisible to equality checks and JSON. */
  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class on the right of `instanceof`: a subclass checks the ordinary way.
    if (this !== StreampyError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value);
  }
}

/** True for a `StreampyError` of any package and any copy of it; with `code`, only for that code. */
export function isStreampyError(value: unknown): value is StreampyError;
export function isStreampyError<C extends StreampyErrorCode>(value: unknown, code: C): value is StreampyError<C>;
export function isStreampyError(value: unknown, code?: StreampyErrorCode): boolean {
  return hasBrand(value) && (code === undefined || (value as { code?: unknown }).code === code);
}

/** The codes `@streampy/codec` raises itself (validators raise the code their caller picks). */
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

const CODEC_CODES: ReadonlySet<string> = new Set<CodecErrorCode>([
  'ERR_EMPTY',
  'ERR_BAD_HEADER',
  'ERR_ZERO_LENGTH_DIGITS',
  'ERR_TRUNCATED',
  'ERR_TRAILING_BYTES',
  'ERR_FRAME_TOO_LARGE',
  'ERR_INVALID_UTF8',
  'ERR_UNKNOWN_VERB',
  'ERR_BAD_REQUEST',
  'ERR_BAD_REPLY',
]);

/** The error the codec's decoders and parsers throw. */
export class CodecError extends StreampyError<CodecErrorCode> {
  override readonly name: string = 'CodecError';
  /** Byte offset in the input where the problem was found, when it is known. */
  readonly offset: number | undefined;
  /** For `ERR_FRAME_TOO_LARGE`: the payload length the header declared, exactly. */
  readonly declaredLength: bigint | undefined;

  constructor(code: CodecErrorCode, message: string, options?: { offset?: number; declaredLength?: bigint; cause?: unknown }) {
    super(code, message, options);
    this.offset = options?.offset;
    this.declaredLength = options?.declaredLength;
  }
}

/**
 * True for an error with one of the codec's codes, also one thrown by another copy of this
 * package (or an older copy, from before the brand, by its name).
 */
export function isCodecError(value: unknown): value is CodecError {
  const code = (value as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (hasBrand(value)) return CODEC_CODES.has(code);
  return value instanceof Error && value.name === 'CodecError';
}
