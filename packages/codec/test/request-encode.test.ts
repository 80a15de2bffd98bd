import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrames,
  encodeFrame,
  encodeRequest,
  encodeRequestFrameInto,
  encodedRequestFrameLength,
  formatRequestId,
  parseRequest,
  replyIdCounter,
  requestId,
  type Request,
} from '../src/index.js';
import { id, request } from './arbitraries.js';
import { oracleEncodeRequest } from './oracle.js';
import { ascii, utf8 } from './support.js';

function withId(r: Request, requestId: string | undefined): Request {
  if (requestId === undefined) return r;
  return { ...r, id: requestId };
}

describe('encodeRequest and encodeRequestFrameInto', () => {
  it('write the bytes of the reference encoder, the id given replacing the request id', () => {
    fc.assert(
      fc.property(request, fc.option(id, { nil: undefined }), fc.nat({ max: 20 }), (r, override, offset) => {
        const expected = encodeFrame(oracleEncodeRequest(withId(r, override)));
        expect(encodeRequest(r)).toEqual(oracleEncodeRequest(r));
        expect(encodedRequestFrameLength(r, override)).toBe(expected.length);
        const target = new Uint8Array(offset + expected.length + 3).fill(0xee);
        expect(encodeRequestFrameInto(target, offset, r, override)).toBe(offset + expected.length);
        expect(target.subarray(offset, offset + expected.length)).toEqual(expected);
        // Nothing outside the frame is touched.
        expect([...target.subarray(0, offset), ...target.subarray(offset + expected.length)].every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('write fields outside the name rule as the reference encoder did (UTF-8, any number)', () => {
    const odd: Request[] = [
      { verb: 'ACK', token: 'tøken', id: 'ïd', queue: 'q😀' },
      { verb: 'PUT', body: utf8('x'), key: '\ud800' },
      { verb: 'GET', max: 1.5 },
      { verb: 'RESERVE', max: -3, leaseMs: 1e21 },
      { verb: 'NACK', token: 't', delayMs: Number.NaN },
    ];
    for (const r of odd) {
      const expected = encodeFrame(oracleEncodeRequest(r));
      const target = new Uint8Array(expected.length);
      expect(encodeRequestFrameInto(target, 0, r)).toBe(expected.length);
      expect(target).toEqual(expected);
      expect(encodedRequestFrameLength(r)).toBe(expected.length);
      expect(encodeRequest(r)).toEqual(oracleEncodeRequest(r));
    }
  });

  it('write several frames into one buffer, which decodes to the requests', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 8 }), (requests) => {
        const total = requests.reduce((n, r, i) => n + encodedRequestFrameLength(r, `c${i}`), 0);
        const target = new Uint8Array(total);
        let offset = 0;
        for (const [i, r] of requests.entries()) offset = encodeRequestFrameInto(target, offset, r, `c${i}`);
        expect(offset).toBe(total);
        expect(decodeFrames(target).map((payload) => parseRequest(payload))).toEqual(requests.map((r, i) => ({ ...r, id: `c${i}` })));
      }),
      { numRuns: 200 },
    );
  });

  it('throws RangeError, writing nothing, when the frame does not fit', () => {
    const r: Request = { verb: 'PUT', body: utf8('hello') };
    const target = new Uint8Array(encodedRequestFrameLength(r) + 2);
    expect(() => encodeRequestFrameInto(target, 3, r)).toThrow(RangeError);
    expect(target.every((b) => b === 0)).toBe(true);
    expect(encodeRequestFrameInto(target, 2, r)).toBe(target.length);
  });

  it('keeps the seed form: no id, no arguments', () => {
    const target = new Uint8Array(20);
    const end = encodeRequestFrameInto(target, 0, { verb: 'PUT', body: utf8('ping') });
    expect(target.subarray(0, end)).toEqual(ascii('18PUT:ping'));
    expect(encodeRequest({ verb: 'GET' })).toEqual(ascii('GET'));
  });
});

describe('correlation ids', () => {
  const prefix = fc.stringMatching(/^[a-z0-9]{0,8}$/);
  const counter = fc.oneof(fc.nat({ max: 5000 }), fc.integer({ min: 0, max: 36 ** 10 - 1 }));

  it('replyIdCounter reads back the counter of an id formatRequestId made', () => {
    fc.assert(
      fc.property(prefix, counter, (p, n) => {
        const requestIdText = formatRequestId(p, n);
        expect(requestIdText).toBe(p + n.toString(36));
        expect(replyIdCounter(ascii(`#${requestIdText} PUT 4 bytes`), ascii(p))).toBe(n);
        expect(replyIdCounter(ascii(`#${requestIdText} OK`), ascii(`${p}_`))).toBe(-1);
      }),
      { numRuns: 500 },
    );
  });

  it('replyIdCounter is -1 for a reply without an id of this prefix', () => {
    const p = ascii('k3x');
    for (const reply of ['OK', 'k3x1 OK', '#k3x OK', '#k3y1 OK', '#k3x1', '#k3x1:OK', '#k3xA OK', '#k3x-1 OK', `#k3x${'1'.repeat(12)} OK`, '#k3', '']) {
      expect(replyIdCounter(ascii(reply), p), reply).toBe(-1);
    }
    expect(replyIdCounter(ascii('#k3xzz OK'), p)).toBe(36 * 35 + 35);
    expect(replyIdCounter(ascii('#7 OK'), new Uint8Array(0))).toBe(7);
  });

  it('requestId reads a valid id of a request, whatever follows', () => {
    expect(requestId(ascii('#r1 FLY:x'))).toBe('r1');
    expect(requestId(ascii(`#${'i'.repeat(40)} GET`))).toBe('i'.repeat(40));
    for (const payload of ['GET', '#r1', '# GET', `#${'i'.repeat(41)} GET`, '#r/1 GET', '#r:1 GET']) expect(requestId(ascii(payload)), payload).toBeUndefined();
  });
});
