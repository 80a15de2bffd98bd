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

/** Value of one hex digit byte (either case), or -1. */
function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

function hexDigitCount(n: number): number {
  let digits = 1;
  while (n >= 16) {
    n = Math.floor(n / 16);
    digits++;
  }
  return digits;
}

function checkLimit(maxFrameBytes: number): number {
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 0) {
    throw new RangeError(`maxFrameBytes must be a non-negative safe integer, got ${String(maxFrameBytes)}`);
  }
  return maxFrameBytes;
}

/** Bytes a frame of `payloadLength` payload bytes takes on the wire. */
export function encodedFrameLength(payloadLength: number): number {
  return 1 + hexDigitCount(payloadLength) + payloadLength;
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
  target[offset] = LOWER_HEX[digits] as number;
  let rest = n;
  for (let i = offset + digits; i > offset; i--) {
    target[i] = LOWER_HEX[rest % 16] as number;
    rest = Math.floor(rest / 16);
  }
  target.set(payload, offset + 1 + digits);
  return end;
}

/** One frame: canonical header (lowercase hex, no leading zeros) followed by the payload. */
export function encodeFrame(payload: Uint8Array | string): Uint8Array {
  const bytes = typeof payload === 'string' ? encodeText(payload) : payload;
  const out = new Uint8Array(encodedFrameLength(bytes.length));
  encodeFrameInto(out, 0, bytes);
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
  if (offset + 1 + digits > bytes.length) {
    throw new CodecError('ERR_TRUNCATED', `header declares ${digits} length digits but the input ends first`, { offset });
  }
  let value = 0n;
  for (let i = 1; i <= digits; i++) {
    value = value * 16n + BigInt(digitAt(bytes, offset + i));
  }
  return { headerLength: 1 + digits, declaredLength: value };
}

function lengthDigits(byte: number, offset: number): number {
  const digits = hexValue(byte);
  if (digits < 0) {
    throw new CodecError('ERR_BAD_HEADER', `header byte 0x${byte.toString(16).padStart(2, '0')} is not a hex digit`, { offset });
  }
  if (digits === 0) {
    throw new CodecError('ERR_ZERO_LENGTH_DIGITS', 'header declares 0 length digits (L must be 1-f)', { offset });
  }
  return digits;
}

function digitAt(bytes: Uint8Array, index: number): number {
  const byte = bytes[index] as number;
  const value = hexValue(byte);
  if (value < 0) {
    throw new CodecError('ERR_BAD_HEADER', `length digit 0x${byte.toString(16).padStart(2, '0')} is not a hex digit`, { offset: index });
  }
  return value;
}

function tooLarge(declared: bigint | number, limit: number, offset: number): CodecError {
  return new CodecError('ERR_FRAME_TOO_LARGE', `frame declares ${declared} payload bytes, over the limit of ${limit}`, { offset });
}

/**
 * Reads the frame at `offset` of a buffer that must hold it whole; returns the payload
 * (a view into `bytes`) and the offset after the frame.
 */
function readWholeFrame(bytes: Uint8Array, offset: number, limit: number): { payload: Uint8Array; end: number } {
  if (offset >= bytes.length) {
    throw new CodecError(offset === 0 ? 'ERR_EMPTY' : 'ERR_TRUNCATED', 'no frame at this offset', { offset });
  }
  const digits = lengthDigits(bytes[offset] as number, offset);
  const headerEnd = offset + 1 + digits;
  if (headerEnd > bytes.length) {
    throw new CodecError('ERR_TRUNCATED', `header declares ${digits} length digits but the input ends first`, { offset });
  }
  // Digits are validated and the limit checked digit by digit, so a huge claim fails
  // before any arithmetic leaves the safe-integer range.
  let length = 0;
  for (let i = offset + 1; i < headerEnd; i++) {
    length = length * 16 + digitAt(bytes, i);
    if (length > limit) {
      for (let j = i + 1; j < headerEnd; j++) digitAt(bytes, j);
      throw tooLarge(readFrameHeader(bytes, offset).declaredLength, limit, offset);
    }
  }
  const end = headerEnd + length;
  if (end > bytes.length) {
    throw new CodecError('ERR_TRUNCATED', `frame declares ${length} payload bytes but only ${bytes.length - headerEnd} follow`, { offset });
  }
  return { payload: bytes.subarray(headerEnd, end), end };
}

/**
 * Decodes a datagram that holds exactly one whole frame and returns its payload
 * (a view sharing memory with `datagram`). Throws `CodecError` otherwise.
 */
export function decodeFrame(datagram: Uint8Array, options?: DecodeOptions): Uint8Array {
  const limit = checkLimit(options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const { payload, end } = readWholeFrame(datagram, 0, limit);
  if (end !== datagram.length) {
    throw new CodecError('ERR_TRAILING_BYTES', `${datagram.length - end} bytes follow the frame`, { offset: end });
  }
  return payload;
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
  const limit = checkLimit(options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const frames: Uint8Array[] = [];
  let offset = 0;
  do {
    const { payload, end } = readWholeFrame(datagram, offset, limit);
    frames.push(payload);
    offset = end;
  } while (offset < datagram.length);
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
  const limit = checkLimit(options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  const frames: Uint8Array[] = [];
  let offset = 0;
  try {
    do {
      const { payload, end } = readWholeFrame(datagram, offset, limit);
      frames.push(payload);
      offset = end;
    } while (offset < datagram.length);
    return { frames };
  } catch (error) {
    if (error instanceof CodecError) return { frames, error };
    throw error;
  }
}
