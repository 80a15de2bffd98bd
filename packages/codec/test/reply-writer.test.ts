import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplyWriter, decodeFrames, encodeFrame, encodeFrames, encodeText, formatLeaseToken, type Reply } from '../src/index.js';
import { SAMPLE_STATS, bytes, reply } from './arbitraries.js';
import { oracleEncodeReply } from './oracle.js';
import { utf8 } from './support.js';

/** Writes `reply` with the writer's grammar methods; the result of the last call. */
function write(writer: ReplyWriter, r: Reply, seed: boolean): boolean {
  switch (r.kind) {
    case 'put':
      return writer.put(r.id, r.bytes, r.duplicate, seed);
    case 'message':
      return writer.message(r.id, r.body, seed);
    case 'empty':
      return writer.empty(r.id, seed);
    case 'size':
      return writer.size(r.id, r.size, seed);
    case 'ok':
      return writer.ok(r.id);
    case 'stats':
      return writer.stats(r.id, r.stats);
    case 'error':
      return writer.error(r.id, r.code, r.message);
    case 'messages':
      writer.beginMessages(r.id, r.bodies.length);
      for (const body of r.bodies) writer.batchMessage(body);
      return writer.endBatch();
    case 'leased':
      writer.beginLeased(r.id, r.deliveries.length);
      for (const delivery of r.deliveries) writer.leasedDelivery(delivery);
      return writer.endBatch();
  }
}

function sent(writer: ReplyWriter): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  writer.flush((datagram) => datagrams.push(datagram));
  return datagrams;
}

const decoder = new TextDecoder();

describe('ReplyWriter', () => {
  it('writes every reply kind byte for byte as the reference encoder, in both forms', () => {
    const writer = new ReplyWriter(65_507);
    fc.assert(
      fc.property(reply, fc.boolean(), (r, seed) => {
        const expected = encodeFrame(oracleEncodeReply(r, seed));
        expect(write(writer, r, seed)).toBe(expected.length <= 65_507);
        expect(sent(writer)).toEqual(expected.length <= 65_507 ? [expected] : []);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes the typed and seed forms of the wire', () => {
    const writer = new ReplyWriter(1000);
    const cases: [() => boolean, string][] = [
      [() => writer.put('r1', 4, true, false), '#r1 PUT 4 bytes DUP'],
      [() => writer.put(undefined, 4, true, true), 'PUT 4 bytes'],
      [() => writer.message(undefined, utf8('a:b'), false), 'MSG:a:b'],
      [() => writer.message('x', utf8('a:b'), true), 'a:b'],
      [() => writer.messageText('r2', 'héllo', 6, false), '#r2 MSG:héllo'],
      [() => writer.messageText(undefined, 'héllo', 6, true), 'héllo'],
      [() => writer.empty('r3', false), '#r3 EMPTY'],
      [() => writer.empty(undefined, true), ''],
      [() => writer.size(undefined, 12, false), 'SIZE 12'],
      [() => writer.size(undefined, 0, true), '0'],
      [() => writer.ok('r4'), '#r4 OK'],
      [() => writer.error('r5', 'FULL', 'queue jobs is full: réessayez'), '#r5 ERR FULL queue jobs is full: réessayez'],
      [() => writer.stats(undefined, SAMPLE_STATS), `STATS:${JSON.stringify(SAMPLE_STATS)}`],
    ];
    for (const [writeReply, wire] of cases) {
      expect(writeReply(), wire).toBe(true);
      expect(sent(writer), wire).toEqual([encodeFrame(wire)]);
    }
  });

  it('writes batches: MSGS from bytes and strings, LEASED from token parts', () => {
    const writer = new ReplyWriter(1000);
    writer.beginMessages('w1', 3);
    writer.batchMessage(utf8('a'));
    writer.batchMessageText('ünï', 5);
    writer.batchMessage(new Uint8Array(0));
    expect(writer.endBatch()).toBe(true);
    writer.beginLeased(undefined, 2);
    writer.leasedItem('3k9', 1, 'Nonce_-1', utf8('x'));
    writer.leasedItemText('3ka', 65_535, 'n', 'wörd', 5);
    expect(writer.endBatch()).toBe(true);
    const token1 = formatLeaseToken({ messageId: '3k9', delivery: 1, nonce: 'Nonce_-1' });
    const token2 = formatLeaseToken({ messageId: '3ka', delivery: 65_535, nonce: 'n' });
    const expected = [
      oracleEncodeReply({ kind: 'messages', id: 'w1', bodies: [utf8('a'), utf8('ünï'), new Uint8Array(0)] }),
      oracleEncodeReply({ kind: 'leased', deliveries: [{ token: token1, deliveries: 1, body: utf8('x') }, { token: token2, deliveries: 65_535, body: utf8('wörd') }] }),
    ];
    expect(sent(writer)).toEqual([encodeFrames(expected)]);
    expect(decoder.decode(expected[1])).toBe('LEASED 2:2123k9.1.Nonce_-1 1:x2173ka.65535.n 65535:wörd');
  });

  it('writes an empty batch', () => {
    const writer = new ReplyWriter(100);
    writer.beginLeased('e', 0);
    expect(writer.endBatch()).toBe(true);
    expect(sent(writer)).toEqual([encodeFrame('#e LEASED 0:')]);
  });

  it('cuts frames into datagrams of at most the limit, never splitting a frame', () => {
    fc.assert(
      fc.property(fc.integer({ min: 40, max: 300 }), fc.array(bytes.map((b) => b.subarray(0, 30)), { minLength: 1, maxLength: 40 }), (limit, bodies) => {
        const writer = new ReplyWriter(limit);
        const frames: Uint8Array[] = [];
        for (const [i, body] of bodies.entries()) {
          expect(writer.message(`r${i}`, body, false)).toBe(true);
          frames.push(encodeFrame(oracleEncodeReply({ kind: 'message', id: `r${i}`, body })));
        }
        const datagrams = sent(writer);
        expect(writer.length).toBe(0);
        let next = 0;
        for (const [d, datagram] of datagrams.entries()) {
          expect(datagram.length).toBeLessThanOrEqual(limit);
          const inside = decodeFrames(datagram);
          expect(datagram).toEqual(encodeFrames(inside));
          expect(inside).toEqual(frames.slice(next, next + inside.length).map((frame) => decodeFrames(frame)[0]));
          next += inside.length;
          // Packed greedily: the next frame would not have fitted.
          const following = frames[next];
          if (d < datagrams.length - 1 && following !== undefined) expect(datagram.length + following.length).toBeGreaterThan(limit);
        }
        expect(next).toBe(frames.length);
      }),
      { numRuns: 300 },
    );
  });

  it('drops a frame larger than a datagram and keeps the frames before it', () => {
    const writer = new ReplyWriter(50);
    expect(writer.ok('a')).toBe(true);
    const before = writer.length;
    expect(writer.message('b', new Uint8Array(60), false)).toBe(false);
    expect(writer.length).toBe(before);
    expect(writer.error('c', 'INTERNAL', 'x'.repeat(60))).toBe(false);
    expect(writer.message('b', new Uint8Array(40), false)).toBe(true); // 1 + 2 + 47 = 50: exactly fits
    expect(writer.message('b', new Uint8Array(41), false)).toBe(false);
    expect(sent(writer).map((d) => decodeFrames(d).map((p) => p.length))).toEqual([[5], [47]]);
  });

  it('drops a batch that outgrows a datagram, also through one item, and keeps what came before', () => {
    const writer = new ReplyWriter(60);
    expect(writer.ok('a')).toBe(true);
    writer.beginMessages('b', 3);
    for (let i = 0; i < 3; i++) writer.batchMessage(new Uint8Array(15));
    expect(writer.endBatch()).toBe(false);
    writer.beginMessages('b', 2);
    writer.batchMessage(new Uint8Array(100));
    writer.batchMessage(new Uint8Array(1));
    expect(writer.endBatch()).toBe(false);
    expect(writer.ok('c')).toBe(true);
    expect(sent(writer)).toEqual([encodeFrames(['#a OK', '#c OK'])]);
  });

  it('refuses a batch whose items are not the count announced, dropping it', () => {
    const writer = new ReplyWriter(200);
    writer.ok('a');
    writer.beginMessages(undefined, 2);
    writer.batchMessage(utf8('x'));
    expect(() => writer.endBatch()).toThrow(RangeError);
    expect(() => writer.endBatch()).toThrow(RangeError);
    expect(() => writer.batchMessage(utf8('x'))).toThrow(RangeError);
    expect(sent(writer)).toEqual([encodeFrame('#a OK')]);
  });

  it('checks the byte length of text written in place', () => {
    const writer = new ReplyWriter(200);
    expect(() => writer.messageText(undefined, 'é', 1, false)).toThrow(RangeError);
    writer.abandon();
    expect(() => writer.messageText(undefined, 'abc', 4, false)).toThrow(RangeError);
    writer.abandon();
    expect(() => writer.messageText(undefined, 'é'.repeat(60), 60, false)).toThrow(RangeError);
    writer.abandon();
    expect(writer.length).toBe(0);
    expect(writer.messageText(undefined, 'é'.repeat(60), 120, false)).toBe(true);
    expect(sent(writer)).toEqual([encodeFrame(`MSG:${'é'.repeat(60)}`)]);
  });

  it('rolls back to a mark: replies after it and any open one are dropped, cuts included', () => {
    const writer = new ReplyWriter(20);
    writer.ok('a'); // 7 bytes
    const mark = writer.mark();
    writer.ok('b');
    writer.ok('c'); // starts a second datagram
    writer.beginMessages('d', 1);
    writer.rollback(mark);
    expect(writer.length).toBe(mark);
    writer.size(undefined, 5, false);
    expect(sent(writer)).toEqual([encodeFrames(['#a OK', 'SIZE 5'])]);
    expect(() => writer.rollback(1)).toThrow(RangeError);
  });

  it('abandons a half-written batch and carries on', () => {
    const writer = new ReplyWriter(100);
    writer.ok('a');
    writer.beginLeased('b', 2);
    writer.leasedItem('1', 1, 'n', utf8('x'));
    writer.abandon();
    writer.abandon();
    writer.ok('c');
    expect(sent(writer)).toEqual([encodeFrames(['#a OK', '#c OK'])]);
  });

  it('hands out copies, grows past its first buffer, and starts over after flush and reset', () => {
    const writer = new ReplyWriter(65_507);
    writer.raw(utf8('kept'));
    const start = writer.length;
    writer.raw(utf8('PUT 1 bytes'));
    const copy = writer.copy(start);
    const datagrams = sent(writer);
    writer.raw(utf8('overwrites the buffer'));
    expect(copy).toEqual(encodeFrame('PUT 1 bytes'));
    expect(datagrams).toEqual([encodeFrames(['kept', 'PUT 1 bytes'])]);
    writer.reset();
    expect(writer.length).toBe(0);
    const big = new Uint8Array(60_000).fill(0x61);
    for (let i = 0; i < 5; i++) expect(writer.message(`m${i}`, big, false)).toBe(true);
    const out = sent(writer);
    expect(out.length).toBe(5);
    expect(out[4]).toEqual(encodeFrame(encodeText(`#m4 MSG:${'a'.repeat(60_000)}`)));
  });

  it('refuses a limit too small for any frame', () => {
    for (const limit of [0, 1, -5, 1.5, Number.NaN]) expect(() => new ReplyWriter(limit)).toThrow(RangeError);
  });
});
