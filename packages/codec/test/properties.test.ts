import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  FrameDecoder,
  decodeFrame,
  decodeFrameText,
  decodeFrames,
  decodeText,
  encodeFrame,
  encodeFrames,
  encodeReply,
  encodeRequest,
  encodeText,
  isSeedForm,
  parseReply,
  parseRequest,
  scanFrames,
  type Reply,
  type Request,
} from '../src/index.js';
import { bytes, reply, request, text, wireCode } from './arbitraries.js';


/** Sorted, distinct cut points inside a buffer of `length` bytes. */
function cutPoints(length: number): fc.Arbitrary<number[]> {
  return fc.uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 12 }).map((points) => points.sort((a, b) => a - b));
}

function split(buffer: Uint8Array, points: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, buffer.length]) {
    chunks.push(buffer.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** Runs `fn`; anything it throws must be a CodecError. */
function onlyCodecErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof CodecError)) throw new Error(`threw ${String(error)} instead of a CodecError`, { cause: error });
  }
}

describe('frame properties', () => {
  it('round trips random bytes', () => {
    fc.assert(
      fc.property(bytes, (payload) => {
        const frame = encodeFrame(payload);
        expect(decodeFrame(frame)).toEqual(payload);
        expect(decodeFrames(frame)).toEqual([payload]);
      }),
      { numRuns: 300 },
    );
  });

  it('round trips random strings, non-BMP and empty included', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.constant(''), fc.constant('😀𝄞')), (payload) => {
        expect(decodeFrameText(encodeFrame(payload))).toBe(payload);
        expect(decodeText(encodeText(payload))).toBe(payload);
      }),
      { numRuns: 300 },
    );
  });

  it('a string frames exactly as its UTF-8 bytes (the short-ASCII path included)', () => {
    const strings = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), text);
    fc.assert(
      fc.property(strings, (payload) => {
        expect(encodeFrame(payload)).toEqual(encodeFrame(encodeText(payload)));
      }),
      { numRuns: 500 },
    );
    for (const length of [0, 15, 16, 63, 64, 65, 255, 256]) {
      const payload = 'a'.repeat(length);
      expect(encodeFrame(payload)).toEqual(encodeFrame(encodeText(payload)));
      expect(encodeFrame(`${payload}é`)).toEqual(encodeFrame(encodeText(`${payload}é`)));
    }
  });

  it('a stream of frames cut at random points decodes to exactly its frames', () => {
    const stream = fc.array(fc.oneof(bytes, fc.constant(new Uint8Array(0))), { maxLength: 20 }).chain((payloads) => {
      const whole = encodeFrames(payloads);
      return fc.tuple(fc.constant(payloads), fc.constant(whole), cutPoints(whole.length));
    });
    fc.assert(
      fc.property(stream, ([payloads, whole, points]) => {
        const decoder = new FrameDecoder();
        const frames = split(whole, points).flatMap((chunk) => decoder.push(chunk));
        decoder.end();
        expect(frames).toEqual(payloads);
        if (payloads.length > 0) expect(decodeFrames(whole)).toEqual(payloads);
      }),
      { numRuns: 300 },
    );
  });

  it('random garbage only ever throws CodecError, and every decoder agrees on what is valid', () => {
    // Bias towards hex bytes so the garbage often gets past the first header byte.
    const hexish = fc.uint8Array({ maxLength: 40 }).map((raw) => raw.map((b) => (b % 3 === 0 ? (b % 2 ? 0x30 : 0x61) + (b % 6) : b)));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }), hexish), cutPoints(80), (garbage, points) => {
        let whole: Uint8Array[] | undefined;
        onlyCodecErrors(() => decodeFrame(garbage));
        onlyCodecErrors(() => decodeFrameText(garbage));
        onlyCodecErrors(() => (whole = decodeFrames(garbage)));
        const scanned = scanFrames(garbage);
        expect(scanned.error === undefined).toBe(whole !== undefined);
        let streamed: Uint8Array[] | undefined;
        onlyCodecErrors(() => {
          const decoder = new FrameDecoder();
          const frames = split(garbage, points.filter((p) => p <= garbage.length)).flatMap((chunk) => decoder.push(chunk));
          decoder.end();
          streamed = frames;
        });
        // A non-empty buffer of whole frames streams to the same frames; anything else fails both ways.
        if (garbage.length > 0) expect(streamed).toEqual(whole);
        onlyCodecErrors(() => parseRequest(garbage));
        onlyCodecErrors(() => parseReply(garbage, { verb: 'GET', id: 'r1' }));
        onlyCodecErrors(() => parseReply(garbage, { verb: 'PUT', body: new Uint8Array(0) }));
        onlyCodecErrors(() => parseReply(garbage, { verb: 'SIZE' }));
      }),
      { numRuns: 1000 },
    );
  });

  it('protocol parsers only ever throw CodecError on random text near the grammar', () => {
    const word = fc.constantFrom('PUT', 'GET', 'SIZE', 'RESERVE', 'ACK', 'NACK', 'EXTEND', 'STATS', 'MSG', 'MSGS', 'LEASED', 'EMPTY', 'OK', 'ERR', 'DUP', 'bytes', '#', '#a', 'max=', 'max=3', 'lease=9', 'q=x', 'key=k', 'delay=0', '__proto__=1', '1', '12', ':', ' ', '10', 'x');
    const line = fc.tuple(fc.array(word, { maxLength: 8 }), fc.constantFrom(' ', '')).map(([words, separator]) => encodeText(words.join(separator)));
    const requests: Request[] = [{ verb: 'GET', id: 'a' }, { verb: 'RESERVE' }, { verb: 'STATS' }, { verb: 'SIZE' }, { verb: 'GET' }];
    fc.assert(
      fc.property(line, (payload) => {
        onlyCodecErrors(() => parseRequest(payload));
        for (const request of requests) onlyCodecErrors(() => parseReply(payload, request));
      }),
      { numRuns: 500 },
    );
  });
});

describe('protocol properties', () => {
  it('encodeRequest / parseRequest round trip over every verb with random arguments', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(request, (original) => {
        seen.add(original.verb);
        expect(parseRequest(encodeRequest(original))).toEqual(original);
      }),
      { numRuns: 800 },
    );
    expect([...seen].sort()).toEqual(['ACK', 'EXTEND', 'GET', 'NACK', 'PUT', 'RESERVE', 'SIZE', 'STATS']);
  });

  it('encodeReply / parseReply round trip for typed requests', () => {
    const typedRequest: Request = { verb: 'STATS', id: 'r' };
    fc.assert(
      fc.property(reply, (original) => {
        const expected = original.kind === 'stats' ? { ...original, stats: JSON.parse(JSON.stringify(original.stats)) as unknown } : original;
        expect(parseReply(encodeReply(original), typedRequest)).toEqual(expected);
      }),
      { numRuns: 800 },
    );
  });

  it('seed-form replies round trip as the seed can express them', () => {
    const seedCase = (req: Request, rep: Reply): [Request, Reply] => [req, rep];
    const seedCases = fc.oneof(
      fc.nat().map((n) => seedCase({ verb: 'PUT', body: new Uint8Array(n % 4) }, { kind: 'put', bytes: n, duplicate: false })),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((body) => seedCase({ verb: 'GET' }, { kind: 'message', body })),
      fc.constant(seedCase({ verb: 'GET' }, { kind: 'empty' })),
      fc.nat().map((size) => seedCase({ verb: 'SIZE' }, { kind: 'size', size })),
      fc.tuple(wireCode, text).map(([code, message]) => seedCase({ verb: 'SIZE' }, { kind: 'error', code, message })),
    );
    fc.assert(
      fc.property(seedCases, ([seedRequest, original]) => {
        expect(isSeedForm(seedRequest)).toBe(true);
        expect(parseReply(encodeReply(original, true), seedRequest)).toEqual(original);
      }),
      { numRuns: 400 },
    );
  });
});
