import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, encodeReply, encodeRequest, parseReply, type Reply, type Request } from '@streampy/codec';
import { NOT_FAST, asciiBytes, encodeRequestFrame, readReply, replyCounter, statusStart, type Expect } from '../src/wire.js';

const name = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
const count = fc.integer({ min: 0, max: 86_400_000 });
const queue = fc.option(name, { nil: undefined });

/** Drops undefined fields (exactOptionalPropertyTypes: absent, never undefined). */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ verb: fc.constant('PUT' as const), body: fc.uint8Array({ maxLength: 40 }), key: fc.option(name, { nil: undefined }), queue }),
  fc.record({ verb: fc.constant('GET' as const), max: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }), queue }),
  fc.record({ verb: fc.constant('RESERVE' as const), max: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }), leaseMs: fc.option(count, { nil: undefined }), queue }),
  fc.record({ verb: fc.constant('ACK' as const), token: name, queue }),
  fc.record({ verb: fc.constant('NACK' as const), token: name, delayMs: fc.option(count, { nil: undefined }), queue }),
  fc.record({ verb: fc.constant('EXTEND' as const), token: name, leaseMs: count, queue }),
  fc.record({ verb: fc.constantFrom('SIZE' as const, 'STATS' as const), queue }),
).map((r) => compact(r) as Request);

describe('encodeRequestFrame', () => {
  it('writes the bytes of encodeFrame(encodeRequest(...)), with and without an id', () => {
    fc.assert(
      fc.property(request, fc.option(name, { nil: undefined }), (r, id) => {
        const reference = encodeFrame(encodeRequest(id === undefined ? r : { ...r, id }));
        expect(encodeRequestFrame(r, id)).toEqual(reference);
      }),
    );
  });

  it('writes multi-digit frame headers for large bodies', () => {
    const body = new Uint8Array(70_000).fill(0x61);
    expect(encodeRequestFrame({ verb: 'PUT', body }, 'abcde1')).toEqual(encodeFrame(encodeRequest({ verb: 'PUT', body, id: 'abcde1' })));
  });
});

describe('replyCounter', () => {
  const prefix = asciiBytes('k3x9q');
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  it('reads the base-36 counter after our prefix', () => {
    expect(replyCounter(bytes('#k3x9q1 OK'), prefix)).toBe(1);
    expect(replyCounter(bytes('#k3x9qzz PUT 1 bytes'), prefix)).toBe(36 * 35 + 35);
  });
  it('refuses replies without an id, with another prefix, or with a malformed counter', () => {
    for (const text of ['OK', '#k3x9q OK', '#k3x9r1 OK', '#k3x9q1', '#k3x9qA1 OK', '#k3x9q1z-2 OK', `#k3x9q${'1'.repeat(12)} OK`, '#']) {
      expect(replyCounter(bytes(text), prefix)).toBe(-1);
    }
  });
});

/** What the codec's parser makes of a reply, as the client resolves it. */
function reference(reply: Reply, expect: Expect): unknown {
  switch (reply.kind) {
    case 'put':
      return expect === 'put' ? { bytes: reply.bytes, duplicate: reply.duplicate } : NOT_FAST;
    case 'message':
      return expect === 'get' ? reply.body : expect === 'batch' ? [reply.body] : NOT_FAST;
    case 'empty':
      return expect === 'get' ? undefined : expect === 'batch' || expect === 'leased' ? [] : NOT_FAST;
    case 'messages':
      return expect === 'batch' && reply.bodies.length > 0 ? reply.bodies : NOT_FAST;
    case 'leased':
      return expect === 'leased' && reply.deliveries.length > 0 ? reply.deliveries : NOT_FAST;
    case 'size':
      return expect === 'size' ? reply.size : NOT_FAST;
    case 'ok':
      return expect === 'ok' ? undefined : NOT_FAST;
    default:
      return NOT_FAST;
  }
}

describe('readReply', () => {
  const body = fc.uint8Array({ maxLength: 30 });
  const id = fc.option(name, { nil: undefined });
  const reply: fc.Arbitrary<Reply> = fc.oneof(
    fc.record({ kind: fc.constant('put' as const), id, bytes: fc.nat(), duplicate: fc.boolean() }),
    fc.record({ kind: fc.constant('message' as const), id, body }),
    fc.record({ kind: fc.constant('empty' as const), id }),
    fc.record({ kind: fc.constant('messages' as const), id, bodies: fc.array(body, { maxLength: 5 }) }),
    fc.record({ kind: fc.constant('leased' as const), id, deliveries: fc.array(fc.record({ token: name, deliveries: fc.integer({ min: 1, max: 99 }), body }), { maxLength: 5 }) }),
    fc.record({ kind: fc.constant('size' as const), id, size: fc.nat() }),
    fc.record({ kind: fc.constant('ok' as const), id }),
    fc.record({ kind: fc.constant('error' as const), id, code: fc.constant('FULL' as const), message: fc.string() }),
  ).map((r) => compact(r) as Reply);
  const expects: Expect[] = ['put', 'get', 'batch', 'size', 'leased', 'ok', 'stats', 'any'];

  it('agrees with parseReply on every reply it reads, and leaves the rest to it', () => {
    fc.assert(
      fc.property(reply, fc.constantFrom(...expects), (r, kind) => {
        const payload = encodeReply(r);
        const fast = readReply(payload, statusStart(payload), kind);
        expect(fast).toEqual(reference(parseReply(payload, { verb: 'STATS', id: 'x' }), kind));
      }),
    );
  });

  it('leaves malformed replies to the codec', () => {
    const text = (s: string): Uint8Array => new TextEncoder().encode(s);
    expect(readReply(text('PUT lots bytes'), 0, 'put')).toBe(NOT_FAST);
    expect(readReply(text('PUT 3 bytes extra'), 0, 'put')).toBe(NOT_FAST);
    expect(readReply(text('MSGS 2:11a'), 0, 'batch')).toBe(NOT_FAST);
    expect(readReply(text('LEASED 1:3tok'), 0, 'leased')).toBe(NOT_FAST);
    expect(readReply(text('SIZE -1'), 0, 'size')).toBe(NOT_FAST);
    expect(readReply(text('OK then'), 0, 'ok')).toBe(NOT_FAST);
  });
});
