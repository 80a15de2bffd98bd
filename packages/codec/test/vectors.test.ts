import { describe, expect, it } from 'vitest';
import { FrameDecoder, decodeFrame, decodeFrameText, decodeFrames, encodeFrame, type CodecErrorCode } from '../src/index.js';
import { ascii, expectCodecError, fromHex, readVectors, toHex, utf8 } from './support.js';

interface FrameVectors {
  valid: { payload_utf8: string | null; payload_repeat: { char: string; times: number } | null; frame_hex: string }[];
  lenient: { frame_ascii: string; payload_utf8: string }[];
  invalid: { frame_hex: string; why: string }[];
}

const vectors = readVectors<FrameVectors>('frames.json');

function payloadOf(v: FrameVectors['valid'][number]): string {
  if (v.payload_utf8 !== null) return v.payload_utf8;
  if (v.payload_repeat !== null) return v.payload_repeat.char.repeat(v.payload_repeat.times);
  throw new Error(`vector without a payload: ${v.frame_hex.slice(0, 20)}`);
}

/** The code each rejection must carry, keyed by the vector's `why`. */
const expectedCodes: Record<string, CodecErrorCode> = {
  'empty datagram': 'ERR_EMPTY',
  'L = 0': 'ERR_ZERO_LENGTH_DIGITS',
  'leading space': 'ERR_BAD_HEADER',
  'non-hex length digit': 'ERR_BAD_HEADER',
  'declared length longer than payload': 'ERR_TRUNCATED',
  'bytes beyond the declared length in a single-frame datagram': 'ERR_TRAILING_BYTES',
  'truncated header': 'ERR_TRUNCATED',
  'invalid UTF-8 where text is required': 'ERR_INVALID_UTF8',
};

describe('shared frame vectors', () => {
  it('has vectors of every kind', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(10);
    expect(vectors.lenient.length).toBeGreaterThanOrEqual(3);
    expect(vectors.invalid.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(vectors.valid.map((v) => [payloadOf(v).slice(0, 24) || '(empty)', v] as const))('valid %s', (_name, v) => {
    const payload = payloadOf(v);
    it('encodes a string to exactly frame_hex', () => {
      expect(toHex(encodeFrame(payload))).toBe(v.frame_hex);
    });
    it('encodes the UTF-8 bytes to exactly frame_hex', () => {
      expect(toHex(encodeFrame(utf8(payload)))).toBe(v.frame_hex);
    });
    it('decodes to the payload, whole and through FrameDecoder', () => {
      const frame = fromHex(v.frame_hex);
      expect(decodeFrameText(frame)).toBe(payload);
      expect(decodeFrame(frame)).toEqual(utf8(payload));
      expect(decodeFrames(frame)).toEqual([utf8(payload)]);
      const decoder = new FrameDecoder();
      const frames = [...frame].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
      decoder.end();
      expect(frames).toEqual([utf8(payload)]);
    });
  });

  it.each(vectors.lenient.map((v) => [v.frame_ascii, v] as const))('lenient %s decodes and re-encodes canonically', (_name, v) => {
    const frame = ascii(v.frame_ascii);
    expect(decodeFrameText(frame)).toBe(v.payload_utf8);
    expect(decodeFrames(frame)).toEqual([utf8(v.payload_utf8)]);
    expect(new FrameDecoder().push(frame)).toEqual([utf8(v.payload_utf8)]);
    const canonical = encodeFrame(v.payload_utf8);
    expect(canonical).not.toEqual(frame);
    expect(decodeFrameText(canonical)).toBe(v.payload_utf8);
  });

  it.each(vectors.invalid.map((v) => [v.why, v] as const))('invalid: %s', (why, v) => {
    const code = expectedCodes[why];
    if (code === undefined) throw new Error(`no expected code for invalid vector "${why}": add it to the table`);
    const frame = fromHex(v.frame_hex);
    expectCodecError(() => decodeFrameText(frame), code);
    if (code !== 'ERR_INVALID_UTF8') expectCodecError(() => decodeFrame(frame), code);
  });
});
