import { describe, expect, it } from 'vitest';
import {
  CodecError,
  DEFAULT_MAX_FRAME_BYTES,
  FrameDecoder,
  MAX_DECLARABLE_LENGTH,
  decodeFrame,
  decodeFrames,
  encodeFrame,
  encodeFrameInto,
  encodeFrames,
  encodedFrameLength,
  isCodecError,
  readFrameHeader,
  scanFrames,
} from '../src/index.js';
import { ascii, expectCodecError, toHex } from './support.js';

const TWO_POW_59 = 2n ** 59n;
// 15 length digits spelling 2^59: a claim no decoder may start buffering.
const HUGE_HEADER = `f${TWO_POW_59.toString(16).padStart(15, '0')}`;

describe('the limit is checked before anything is buffered', () => {
  it('builds the header it means to', () => {
    expect(HUGE_HEADER).toBe('f800000000000000');
    expect(readFrameHeader(ascii(HUGE_HEADER))).toEqual({ headerLength: 16, declaredLength: TWO_POW_59 });
  });

  it('decodeFrame fails at once on a 2^59-byte claim and reports it exactly', () => {
    const error = expectCodecError(() => decodeFrame(ascii(`${HUGE_HEADER}abc`)), 'ERR_FRAME_TOO_LARGE');
    expect(error.declaredLength).toBe(TWO_POW_59);
    expect(error.message).toContain(TWO_POW_59.toString());
    expect(error.offset).toBe(0);
  });

  it('decodeFrames fails the same way, also on a later frame of the datagram', () => {
    expect(expectCodecError(() => decodeFrames(ascii(HUGE_HEADER)), 'ERR_FRAME_TOO_LARGE').declaredLength).toBe(TWO_POW_59);
    const later = expectCodecError(() => decodeFrames(ascii(`12ok${HUGE_HEADER}xy`)), 'ERR_FRAME_TOO_LARGE');
    expect(later.declaredLength).toBe(TWO_POW_59);
    expect(later.offset).toBe(4);
  });

  it('FrameDecoder fails on a chunk holding only the header', () => {
    const decoder = new FrameDecoder();
    const error = expectCodecError(() => decoder.push(ascii(HUGE_HEADER)), 'ERR_FRAME_TOO_LARGE');
    expect(error.declaredLength).toBe(TWO_POW_59);
    // The decoder is dead after an error: every later call reports the same one.
    expect(() => decoder.push(ascii('10'))).toThrow(error);
    expect(() => decoder.end()).toThrow(error);
  });

  it('FrameDecoder fails when the header arrives one byte at a time', () => {
    const decoder = new FrameDecoder();
    const header = ascii(HUGE_HEADER);
    for (let i = 0; i < header.length - 1; i++) expect(decoder.push(header.subarray(i, i + 1))).toEqual([]);
    const error = expectCodecError(() => decoder.push(header.subarray(header.length - 1)), 'ERR_FRAME_TOO_LARGE');
    expect(error.declaredLength).toBe(TWO_POW_59);
  });

  it('parses the largest declarable length exactly, beyond the safe-integer range', () => {
    const header = ascii('f' + 'f'.repeat(15));
    expect(readFrameHeader(header).declaredLength).toBe(MAX_DECLARABLE_LENGTH);
    expect(MAX_DECLARABLE_LENGTH).toBe(2n ** 60n - 1n);
    const big = ascii(`f${(2n ** 53n + 1n).toString(16).padStart(15, '0')}`);
    expect(readFrameHeader(big).declaredLength).toBe(2n ** 53n + 1n);
    const limit = Number.MAX_SAFE_INTEGER;
    expect(expectCodecError(() => decodeFrame(big, { maxFrameBytes: limit }), 'ERR_FRAME_TOO_LARGE').declaredLength).toBe(2n ** 53n + 1n);
    expect(expectCodecError(() => new FrameDecoder({ maxFrameBytes: limit }).push(big), 'ERR_FRAME_TOO_LARGE').declaredLength).toBe(2n ** 53n + 1n);
  });

  it('a bad digit after the limit is passed is still a bad header', () => {
    expectCodecError(() => decodeFrame(ascii('f80000000000000g')), 'ERR_BAD_HEADER');
    expectCodecError(() => new FrameDecoder().push(ascii('f80000000000000g')), 'ERR_BAD_HEADER');
  });
});

describe('the limit', () => {
  it('defaults to the largest IPv4 UDP payload', () => {
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(65_507);
    const atLimit = encodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES));
    expect(decodeFrame(atLimit)).toHaveLength(DEFAULT_MAX_FRAME_BYTES);
    const over = encodeFrame(new Uint8Array(DEFAULT_MAX_FRAME_BYTES + 1));
    expect(expectCodecError(() => decodeFrame(over), 'ERR_FRAME_TOO_LARGE').declaredLength).toBe(BigInt(DEFAULT_MAX_FRAME_BYTES + 1));
    expectCodecError(() => new FrameDecoder().push(over), 'ERR_FRAME_TOO_LARGE');
  });

  it('is configurable, in every decoder', () => {
    const frame = encodeFrame('hello');
    expect(decodeFrame(frame, { maxFrameBytes: 5 })).toHaveLength(5);
    expectCodecError(() => decodeFrame(frame, { maxFrameBytes: 4 }), 'ERR_FRAME_TOO_LARGE');
    expectCodecError(() => decodeFrames(frame, { maxFrameBytes: 4 }), 'ERR_FRAME_TOO_LARGE');
    expect(scanFrames(frame, { maxFrameBytes: 4 }).error?.code).toBe('ERR_FRAME_TOO_LARGE');
    expect(new FrameDecoder({ maxFrameBytes: 5 }).push(frame)).toHaveLength(1);
    expectCodecError(() => new FrameDecoder({ maxFrameBytes: 4 }).push(frame), 'ERR_FRAME_TOO_LARGE');
    expect(decodeFrame(encodeFrame(''), { maxFrameBytes: 0 })).toHaveLength(0);
    const big = new Uint8Array(200_000).fill(7);
    const decoded = decodeFrame(encodeFrame(big), { maxFrameBytes: 200_000 });
    expect(decoded.length).toBe(200_000);
    expect(decoded.every((b) => b === 7)).toBe(true);
  });

  it('refuses a limit that is not a non-negative safe integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => decodeFrame(encodeFrame('x'), { maxFrameBytes: bad })).toThrow(RangeError);
      expect(() => new FrameDecoder({ maxFrameBytes: bad })).toThrow(RangeError);
    }
  });
});

describe('encoding', () => {
  it('emits canonical headers: lowercase, no leading zeros, L = digit count', () => {
    const cases: [number, string][] = [
      [0, '10'],
      [1, '11'],
      [15, '1f'],
      [16, '210'],
      [255, '2ff'],
      [256, '3100'],
      [0xabc, '3abc'],
      [65_507, '4ffe3'],
      [65_536, '510000'],
    ];
    for (const [length, header] of cases) {
      const frame = encodeFrame(new Uint8Array(length));
      expect(String.fromCharCode(...frame.subarray(0, header.length))).toBe(header);
      expect(frame).toHaveLength(header.length + length);
      expect(encodedFrameLength(length)).toBe(frame.length);
    }
  });

  it('counts UTF-8 bytes, not characters, including non-BMP ones', () => {
    expect(toHex(encodeFrame('é'))).toBe('3132c3a9');
    expect(toHex(encodeFrame('😀'))).toBe('3134f09f9880');
  });

  it('encodeFrames puts frames back to back; encodeFrameInto writes at an offset', () => {
    const batch = encodeFrames(['a', new Uint8Array([1, 2]), '']);
    expect(toHex(batch)).toBe('3131' + '61' + '3132' + '0102' + '3130');
    expect(decodeFrames(batch)).toEqual([ascii('a'), Uint8Array.of(1, 2), new Uint8Array(0)]);
    const target = new Uint8Array(8).fill(0xee);
    expect(encodeFrameInto(target, 2, ascii('hi'))).toBe(6);
    expect(toHex(target)).toBe('eeee31326869eeee');
    expect(() => encodeFrameInto(new Uint8Array(3), 0, ascii('hi'))).toThrow(RangeError);
  });
});

describe('decoding rejects everything but whole frames', () => {
  it('accepts uppercase hex and leading zeros', () => {
    expect(decodeFrame(ascii('1Axxxxxxxxxx'))).toHaveLength(10);
    expect(decodeFrame(ascii('20Axxxxxxxxxx'))).toHaveLength(10);
    expect(decodeFrame(ascii('f00000000000000a' + 'x'.repeat(10)))).toHaveLength(10);
    expect(decodeFrame(ascii('200'))).toHaveLength(0);
  });

  it('gives each failure its code and offset', () => {
    expect(expectCodecError(() => decodeFrame(new Uint8Array(0)), 'ERR_EMPTY').offset).toBe(0);
    expect(expectCodecError(() => decodeFrame(ascii('0')), 'ERR_ZERO_LENGTH_DIGITS').offset).toBe(0);
    expect(expectCodecError(() => decodeFrame(ascii('g0')), 'ERR_BAD_HEADER').offset).toBe(0);
    expect(expectCodecError(() => decodeFrame(ascii('2-1x')), 'ERR_BAD_HEADER').offset).toBe(1);
    expect(expectCodecError(() => decodeFrame(ascii('2a')), 'ERR_TRUNCATED').offset).toBe(0);
    expectCodecError(() => decodeFrame(ascii('15abcd')), 'ERR_TRUNCATED');
    expect(expectCodecError(() => decodeFrame(ascii('12abc')), 'ERR_TRAILING_BYTES').offset).toBe(4);
    expect(expectCodecError(() => decodeFrames(ascii('12ab1')), 'ERR_TRUNCATED').offset).toBe(4);
    expectCodecError(() => decodeFrames(new Uint8Array(0)), 'ERR_EMPTY');
    expectCodecError(() => readFrameHeader(new Uint8Array(0)), 'ERR_EMPTY');
    expectCodecError(() => readFrameHeader(ascii('12ab'), 4), 'ERR_TRUNCATED');
  });

  it('returns views that share memory with the datagram', () => {
    const datagram = ascii('13abc');
    const payload = decodeFrame(datagram);
    expect(payload.buffer).toBe(datagram.buffer);
    expect(payload.byteOffset).toBe(2);
  });

  it('scanFrames keeps the frames before a bad one', () => {
    const result = scanFrames(ascii('11a11b0zz'));
    expect(result.frames).toEqual([ascii('a'), ascii('b')]);
    expect(result.error?.code).toBe('ERR_ZERO_LENGTH_DIGITS');
    expect(result.error?.offset).toBe(6);
    expect(scanFrames(ascii('11a'))).toEqual({ frames: [ascii('a')] });
  });

  it('CodecError carries name, code and cause, and isCodecError recognises it', () => {
    const error = expectCodecError(() => decodeFrame(ascii('x')), 'ERR_BAD_HEADER');
    expect(error).toBeInstanceOf(CodecError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('CodecError');
    expect(isCodecError(error)).toBe(true);
    // Another copy of the package throws its own class: recognised by name and code.
    expect(isCodecError(Object.assign(new Error('x'), { name: 'CodecError', code: 'ERR_EMPTY' }))).toBe(true);
    expect(isCodecError(new RangeError('x'))).toBe(false);
    expect(isCodecError({ name: 'CodecError', code: 'ERR_EMPTY' })).toBe(false);
  });
});
