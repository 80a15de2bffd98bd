import { CodecError } from './errors.js';
import { decodeText, encodeText } from './text.js';

/**
 * The largest payload one IPv4 UDP datagram can carry (65,535 - 8 UDP - 20 IP header bytes).
 * A declared length above the limit is refused before anything is buffered.
 */
export const DEFAULT_MAX_FRAME_BYTES = 65_507;

/** The largest length the format can express: 15 hex digits. */
export const MAX_DECLARABLE_LENGTH = (1n << 60n) - 1n;

export interface DecodeOptions {
  /** Largest declared payload length accepted, in bytes. Default `DEFAULT_MAX_FRAME_BYTES`. */
  readonly maxFrameBytes?: number;
}

const LOWER_HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

/** Strings up to this many UTF-16 units are framed by hand when pure ASCII: cheaper than a TextEncoder call. */
const SHORT_STRING = 64;

/** Value of one hex digit byte (either case), or -1. */
export function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

export function hexDigitCount(n: number): number {
  if (n < 0x10) return 1;
  if (n < 0x100) return 2;
  if (n < 0x1000) return 3;
  if (n < 0x10000) return 4;
  let digits = 5;
  for (let rest = Math.floor(n / 0x100000); rest > 0; rest = Math.floor(rest / 16)) digits++;
  return digits;
}

/** Validates a `maxFrameBytes` option; shared with `FrameDecoder`. */
export function checkLimit(maxFrameBytes: number): number {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0) {
    throw new RangeError(`maxFrameBytes must be a non-negative safe integer, got ${String(maxFrameBytes)}`);
  }
  return maxFrameBytes;
}

/** Bytes a frame of `payloadLength` payload bytes takes on the wire. */
export function encodedFrameLength(payloadLength: number): number {
  return 1 + hexDigitCount(payloadLength) + payloadLength;
}

/** Writes the canonical header of an `n`-byte payload, `digits` length digits, at `offset`. */
export function writeHeader(target: Uint8Array, offset: number, n: number, digits: number): void {
  target[offset] = LOWER_HEX[digits] as number;
  let rest = n;
  if (rest <= 0x7fffffff) {
    for (let i = offset + digits; i > offset; i--, rest >>>= 4) target[i] = LOWER_HEX[rest & 15] as number;
  } else {
    for (let i = offset + digits; i > offset; i--, rest = Math.floor(rest / 16)) target[i] = LOWER_HEX[rest % 16] as number;
  }
}

/**
 * Writes the frame of `payload` into `target` at `offset` and returns the offset after it.
 * Throws `RangeError` when it does not fit.
 */
export function encodeFrameInto(target: Uint8Array, offset: number, payload: Uint8Array): number {
  const n = payload.length;
  const digits = hexDigitCount(n);
  const end = offset + 1 + digits + n;
  if (end > target.length) throw new RangeError('frame does not fit in the target buffer');
  writeHeader(target, offset, n, digits);
  target.set(payload, offset + 1 + digits);
  return end;
}

/** The frame of a short string, if it is pure ASCII (one byte per UTF-16 unit). */
function shortAsciiFrame(text: string): Uint8Array | undefined {
  const n = text.length;
  const digits = n < 16 ? 1 : 2;
  const out = new Uint8Array(1 + digits + n);
  for (let i = 0, at = 1 + digits; i < n; i++, at++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return undefined;
    out[at] = unit;
  }
  writeHeader(out, 0, n, digits);
  return out;
}

/** One frame: canonical header (lowercase hex, no leading zeros) followed by the payload. */
export function encodeFrame(payload: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof payload === 'string') {
    const ascii = payload.length <= SHORT_STRING ? shortAsciiFrame(payload) : undefined;
    if (ascii !== undefined) return ascii;
    bytes = encodeText(payload);
  } else {
    bytes = payload;
  }
  const n = bytes.length;
  const digits = hexDigitCount(n);
  const out = new Uint8Array(1 + digits + n);
  writeHeader(out, 0, n, digits);
  out.set(bytes, 1 + digits);
  return out;
}

/** Several frames back to back in one buffer, e.g. one datagram carrying a batch. */
export function encodeFrames(payloads: readonly (Uint8Array | string)[]): Uint8Array {
  const parts = payloads.map((p) => (typeof p === 'string' ? encodeText(p) : p));
  let total = 0;
  for (const p of parts) total += encodedFrameLength(p.length);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) offset = encodeFrameInto(out, offset, p);
  return out;
}

export interface FrameHeader {
  /** Bytes the header takes: 1 + the number of length digits. */
  readonly headerLength: number;
  /** The declared payload length, exact up to 2^60 - 1. */
  readonly declaredLength: bigint;
}

/**
 * Reads the header at `offset` without any limit, exactly.
 * Throws `ERR_EMPTY`, `ERR_ZERO_LENGTH_DIGITS`, `ERR_BAD_HEADER` or `ERR_TRUNCATED`.
 */
export function readFrameHeader(bytes: Uint8Array, offset = 0): FrameHeader {
  if (offset >= bytes.length) {
    throw offset === 0
      ? new CodecError('ERR_EMPTY', 'empty input: a frame needs at least a 2-byte header', { offset })
      : new CodecError('ERR_TRUNCATED', 'input ends before the frame header', { offset });
  }
  const digits = lengthDigits(bytes[offset] as number, offset);
  if (offset + 1 + digits > bytes.length) throw truncatedHeader(digits, offset);
  return { headerLength: 1 + digits, declaredLength: exactLength(bytes, offset + 1, digits, 0) };
}

/** The number of length digits a header byte declares (1-15), or a `CodecError`. */
export function lengthDigits(byte: number, offset: number): number {
  const digits = hexValue(byte);
  if (digits > 0) return digits;
  throw digits === 0
    ? new CodecError('ERR_ZERO_LENGTH_DIGITS', 'header declares 0 length digits (L must be 1-f)', { offset })
    : new CodecError('ERR_BAD_HEADER', `header byte 0x${byte.toString(16).padStart(2, '0')} is not a hex digit`, { offset });
}

function truncatedHeader(digits: number, offset: number): CodecError {
  return new CodecError('ERR_TRUNCATED', `header declares ${digits} length digits but the input ends first`, { offset });
}

function badDigit(byte: number, offset: number): CodecError {
  return new CodecError('ERR_BAD_HEADER', `length digit 0x${byte.toString(16).padStart(2, '0')} is not a hex digit`, { offset });
}

/** The exact value of `digits` length digits from `first`; `base` is where `bytes` starts in the input. */
function exactLength(bytes: Uint8Array, first: number, digits: number, base: number): bigint {
  let value = 0n;
  for (let i = first; i < first + digits; i++) {
    const digit = hexValue(bytes[i] as number);
    if (digit < 0) throw badDigit(bytes[i] as number, base + i);
    value = value * 16n + BigInt(digit);
  }
  return value;
}

/**
 * The declared length of the header whose `digits` length digits start at `first`, checked
 * against `limit` as soon as the header is read, before anything is buffered. `base` is where
 * `bytes` starts in the caller's input, so error offsets count from there. Shared with `FrameDecoder`.
 */
export function readDeclaredLength(bytes: Uint8Array, first: number, digits: number, limit: number, base: number): number {
  let length = 0;
  const end = first + digits;
  for (let i = first; i < end; i++) {
    const digit = hexValue(bytes[i] as number);
    if (digit < 0) throw badDigit(bytes[i] as number, base + i);
    length = length * 16 + digit;
  }
  // Past 2^53 the sum may be inexact, but it stays above any safe-integer limit, so the
  // comparison holds; the error then reports the exact claim.
  if (length > limit) throw frameTooLarge(exactLength(bytes, first, digits, base), limit, base + first - 1);
  return length;
}

function frameTooLarge(declaredLength: bigint, limit: number, offset: number): CodecError {
  return new CodecError('ERR_FRAME_TOO_LARGE', `frame declares ${declaredLength} payload bytes, over the limit of ${limit}`, {
    offset,
    declaredLength,
  });
}

/** Where the payload of the frame at `offset` starts, once its header byte is valid and the header all there. */
function payloadStart(bytes: Uint8Array, offset: number): number {
  if (offset >= bytes.length) {
    throw new CodecError(offset === 0 ? 'ERR_EMPTY' : 'ERR_TRUNCATED', 'no frame at this offset', { offset });
  }
  const digits = lengthDigits(bytes[offset] as number, offset);
  const start = offset + 1 + digits;
  if (start > bytes.length) throw truncatedHeader(digits, offset);
  return start;
}

/** The offset just after the frame at `offset` whose payload starts at `start`; the payload must be all there. */
function frameEnd(bytes: Uint8Array, offset: number, start: number, limit: number): number {
  const length = readDeclaredLength(bytes, offset + 1, start - offset - 1, limit, 0);
  const end = start + length;
  if (end > bytes.length) {
    throw new CodecError('ERR_TRUNCATED', `frame declares ${length} payload bytes but only ${bytes.length - start} follow`, { offset });
  }
  return end;
}

function limitOf(options: DecodeOptions | undefined): number {
  const limit = options?.maxFrameBytes;
  return limit === undefined ? DEFAULT_MAX_FRAME_BYTES : checkLimit(limit);
}

/**
 * Decodes a datagram that holds exactly one whole frame and returns its payload
 * (a view sharing memory with `datagram`). Throws `CodecError` otherwise.
 */
export function decodeFrame(datagram: Uint8Array, options?: DecodeOptions): Uint8Array {
  const start = payloadStart(datagram, 0);
  const end = frameEnd(datagram, 0, start, limitOf(options));
  if (end !== datagram.length) {
    throw new CodecError('ERR_TRAILING_BYTES', `${datagram.length - end} bytes follow the frame`, { offset: end });
  }
  return datagram.subarray(start, end);
}

/** `decodeFrame`, then strict UTF-8 decoding of the payload. */
export function decodeFrameText(datagram: Uint8Array, options?: DecodeOptions): string {
  return decodeText(decodeFrame(datagram, options));
}

/**
 * Decodes one or more whole frames back to back (views into `datagram`).
 * Throws `CodecError` if any part is not a whole frame.
 */
export function decodeFrames(datagram: Uint8Array, options?: DecodeOptions): Uint8Array[] {
  const { frames, error } = scanFrames(datagram, options);
  if (error) throw error;
  return frames;
}

export interface ScanResult {
  /** Payloads of the whole frames found before any error. */
  readonly frames: Uint8Array[];
  /** The error that stopped the scan, if any; bytes from `error.offset` on were not decoded. */
  readonly error?: CodecError;
}

/**
 * Like `decodeFrames`, but keeps the frames found before a bad one instead of throwing,
 * so a server can answer the good requests of a batch and report the rest.
 */
export function scanFrames(datagram: Uint8Array, options?: DecodeOptions): ScanResult {
  const limit = limitOf(options);
  const frames: Uint8Array[] = [];
  let offset = 0;
  try {
    do {
      const start = payloadStart(datagram, offset);
      const end = frameEnd(datagram, offset, start, limit);
      frames.push(datagram.subarray(start, end));
      offset = end;
    } while (offset < datagram.length);
    return { frames };
  } catch (error) {
    if (error instanceof CodecError) return { frames, error };
    throw error;
  }
}
