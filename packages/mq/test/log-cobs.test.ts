import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, cobsMaxLength } from '../src/storage/log/cobs.js';

function encode(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxLength(bytes.length));
  return out.subarray(0, cobsEncode(bytes, out, 0));
}

/** Bytes with long runs, dense zeros and lengths around the 254-byte block size. */
const bytesArbitrary = fc.oneof(
  fc.uint8Array({ maxLength: 1200 }),
  fc.uint8Array({ minLength: 250, maxLength: 770 }).map((bytes) => bytes.map((byte) => (byte < 200 ? byte | 1 : 0))),
  fc.integer({ min: 0, max: 1100 }).map((length) => new Uint8Array(length).fill(7)),
  fc.integer({ min: 0, max: 600 }).map((length) => new Uint8Array(length)),
);

describe('COBS (the byte stuffing of format-2 records)', () => {
  it('round-trips any bytes, never writes a zero, and stays within its bound', () => {
    fc.assert(
      fc.property(bytesArbitrary, (bytes) => {
        const encoded = encode(bytes);
        expect(encoded.includes(0)).toBe(false);
        expect(encoded.length).toBeLessThanOrEqual(cobsMaxLength(bytes.length));
        expect(cobsDecode(encoded, 0, encoded.length)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the canonical blocks at the 254-byte edges', () => {
    for (const length of [0, 1, 253, 254, 255, 508, 509]) {
      const bytes = new Uint8Array(length).fill(1);
      const expected: number[] = [];
      let left = length;
      while (left >= 254) {
        expected.push(0xff, ...new Array<number>(254).fill(1));
        left -= 254;
      }
      expected.push(left + 1, ...new Array<number>(left).fill(1));
      expect([...encode(bytes)]).toEqual(expected);
    }
    expect([...encode(Uint8Array.from([0, 5, 0]))]).toEqual([1, 2, 5, 1]);
  });

  it('refuses what no encoder writes: empty input, a zero code, a block past the end, a 0xff block last', () => {
    expect(cobsDecode(Uint8Array.from([]), 0, 0)).toBeUndefined();
    expect(cobsDecode(Uint8Array.from([1, 0, 1]), 0, 3)).toBeUndefined();
    expect(cobsDecode(Uint8Array.from([5, 1, 1]), 0, 3)).toBeUndefined();
    const full = encode(new Uint8Array(254).fill(3));
    expect(cobsDecode(full, 0, full.length - 1)).toBeUndefined();
  });
});
