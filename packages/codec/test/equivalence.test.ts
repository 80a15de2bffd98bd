import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, UnknownVerbError, encodeReply, encodeRequest, isSeedForm, parseReply, parseRequest, type Request } from '../src/index.js';
import { reply, request } from './arbitraries.js';
import { concat } from './bytes.js';
import { oracleParseReply, oracleParseRequest } from './oracle.js';

/*
 * The byte-level parsers against the reference grammar they replaced (test/oracle.ts): the same
 * result, or the same error (class, code and sentence), on every input.
 */

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code: string; message: string; verb?: string };

function outcome(fn: () => unknown): Outcome {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (!(error instanceof CodecError)) throw new Error(`threw ${String(error)}, not a CodecError`, { cause: error });
    const failure: Outcome = { ok: false, name: error.constructor.name, code: error.code, message: error.message };
    if (error instanceof UnknownVerbError) failure.verb = error.verb;
    return failure;
  }
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Bytes that matter to the grammar, and a few that do not. */
const grammarByte = fc.constantFrom(0x20, 0x3a, 0x3d, 0x23, 0x2e, 0x30, 0x31, 0x39, 0x41, 0x5a, 0x5f, 0x61, 0x71, 0x7a, 0x2d, 0x00, 0x09, 0x80, 0xc3, 0xff);

/** One edit of a payload: replace, insert or delete a byte, or cut it short. */
function mutated(payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(payload, fc.array(fc.tuple(fc.nat(), fc.constantFrom('set', 'insert', 'delete', 'cut'), grammarByte), { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let out = bytes;
    for (const [position, edit, byte] of edits) {
      const at = out.length === 0 ? 0 : position % (out.length + (edit === 'insert' ? 1 : 0));
      if (edit === 'set' && out.length > 0) {
        out = out.slice();
        out[at] = byte;
      } else if (edit === 'insert') out = concat(out.subarray(0, at), Uint8Array.of(byte), out.subarray(at));
      else if (edit === 'delete') out = concat(out.subarray(0, at), out.subarray(at + 1));
      else out = out.subarray(0, at);
    }
    return out;
  });
}

const requestWords = fc.constantFrom(
  'PUT', 'GET', 'SIZE', 'RESERVE', 'ACK', 'NACK', 'EXTEND', 'STATS', 'put', 'PUTS', 'FLY', '', '#', '#r1', '#a.b-c_D', `#${'x'.repeat(40)}`, `#${'y'.repeat(41)}`, '#r/1',
  'max=', 'max=1', 'max=0', 'max=1000', 'max=1001', 'max=007', `max=${'9'.repeat(16)}`, 'max=1e3', 'max=-1', 'lease=', 'lease=30000', 'lease=86400000', 'lease=86400001',
  'delay=0', 'delay=5', 'q=', 'q=jobs', 'q=.x', 'q=bad/name', `q=${'z'.repeat(65)}`, 'key=', 'key=k-1', 'key=a:b', '=', '=x', 'a=', 'a=b=c', 'foo=1', 'Foo=1',
  '__proto__=1', 'constructor=1', 'toString=1', '0=1', '1=1', '7=x', '12=1', '01=1', '4294967294=1', '4294967295=1', '1.5=1', '3k9.2.N_-', 't.1', 'z'.repeat(64), 'z'.repeat(65), 'é', '\u0000',
);

/** Heads built from the grammar's words, spaces (single and double) and a body. */
const shapedRequest = fc
  .tuple(fc.array(requestWords, { minLength: 1, maxLength: 7 }), fc.constantFrom(' ', ' ', ' ', '  '), fc.constantFrom('', ':', ':body', '::', ':é', ': x=1'))
  .map(([words, space, body]) => encode(words.join(space) + body));

const requestPayload = fc.oneof(
  { weight: 3, arbitrary: shapedRequest },
  { weight: 2, arbitrary: request.map((r) => encodeRequest(r)) },
  { weight: 3, arbitrary: mutated(fc.oneof(shapedRequest, request.map((r) => encodeRequest(r)))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

describe('parseRequest equals the reference grammar', () => {
  it('on valid, near-miss, mutated and random requests', () => {
    let accepted = 0;
    let unknownVerbs = 0;
    let badRequests = 0;
    fc.assert(
      fc.property(requestPayload, (payload) => {
        const expected = outcome(() => oracleParseRequest(payload));
        const actual = outcome(() => parseRequest(payload));
        expect(actual).toStrictEqual(expected);
        if (expected.ok) accepted++;
        else if (expected.code === 'ERR_UNKNOWN_VERB') unknownVerbs++;
        else badRequests++;
      }),
      { numRuns: 6000 },
    );
    // Every outcome is reached often enough for the comparison to mean something.
    expect(Math.min(accepted, unknownVerbs, badRequests)).toBeGreaterThan(500);
  }, 60_000);

  it('on the cases that order errors', () => {
    const cases = [
      '#r/1 FLY a=1 a=2', 'FLY a=1 a=2', 'FLY q=bad/ x', 'FLY q=ok x', 'GET z=1 5=2', 'GET z=1 12=1 5=2', 'GET lease=1 foo=2', 'PUT foo=2 lease=1',
      'GET 4294967295=1 4294967294=1', 'ACK', 'ACK  ', 'ACK a b', 'NACK bad/ delay=x', 'EXTEND bad/', 'EXTEND bad/ lease=x', 'EXTEND t lease=x', 'RESERVE max=x lease=y',
      '#r1', '#r1 ', '#', ' GET', 'GET ', 'GET  max=1', 'GET max=1 ', '#r1 GET:max=0', 'PUT key=bad/:x', 'q=x GET',
    ];
    for (const text of cases) {
      const payload = encode(text);
      expect(outcome(() => parseRequest(payload)), text).toStrictEqual(outcome(() => oracleParseRequest(payload)));
    }
  });
});

const typedRequests: Request[] = [{ verb: 'GET', id: 'a' }, { verb: 'RESERVE' }, { verb: 'STATS' }, { verb: 'PUT', body: new Uint8Array(0), key: 'k' }];
const seedRequests: Request[] = [{ verb: 'GET' }, { verb: 'PUT', body: new Uint8Array(0) }, { verb: 'SIZE' }];

const replyWords = fc.constantFrom(
  'PUT', 'MSG', 'MSGS', 'LEASED', 'EMPTY', 'SIZE', 'OK', 'STATS', 'ERR', 'DUP', 'bytes', 'bytes DUP', '#', '#r1', '#a', 'FULL', 'WEIRD', 'lower', 'A_B', '0', '1', '2', '12', '007',
  '9'.repeat(16), '9'.repeat(400), '-1', ':', '::', ':11x', ':13abc', ':15x', ':17t1 2:hi', ':18t1 2 x:hi', ':14t1 :', ':13t1:', ':12 2', ':10', ':{}', ':[1]', ':{', '\u00e9',
);
const shapedReply = fc
  .tuple(fc.array(replyWords, { minLength: 1, maxLength: 6 }), fc.constantFrom(' ', ' ', ''))
  .map(([words, space]) => encode(words.join(space)));

const replyPayload = fc.oneof(
  { weight: 3, arbitrary: shapedReply },
  { weight: 2, arbitrary: fc.tuple(reply, fc.boolean()).map(([r, seed]) => encodeReply(r, seed)) },
  { weight: 3, arbitrary: mutated(fc.oneof(shapedReply, reply.map((r) => encodeReply(r)))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

describe('parseReply equals the reference reader', () => {
  it('on valid, near-miss, mutated and random replies, to typed and seed requests', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(replyPayload, fc.constantFrom(...typedRequests, ...seedRequests), (payload, to) => {
        const expected = outcome(() => oracleParseReply(payload, to));
        expect(outcome(() => parseReply(payload, to))).toStrictEqual(expected);
        expect(outcome(() => parseReply(payload, to, isSeedForm(to)))).toStrictEqual(expected);
        if (expected.ok) accepted++;
        else rejected++;
      }),
      { numRuns: 6000 },
    );
    expect(Math.min(accepted, rejected)).toBeGreaterThan(1000);
  }, 60_000);

  it('reads an extended reply with seedForm false, whatever the request object says', () => {
    const payload = encode('#c7 PUT 4 bytes');
    expect(parseReply(payload, { verb: 'PUT', body: new Uint8Array(4) }, false)).toStrictEqual({ kind: 'put', id: 'c7', bytes: 4, duplicate: false });
    expect(() => parseReply(payload, { verb: 'PUT', body: new Uint8Array(4) })).toThrow(CodecError);
  });
});
