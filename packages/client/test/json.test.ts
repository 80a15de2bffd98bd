import { describe, expect, it } from 'vitest';
import { encodeReply, encodeText } from '@streampy/codec';
import { replyJson } from '../src/json.js';

const sent = (command: string): Uint8Array => encodeText(command);
const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe('the JSON value of a reply (streampy-client --json)', () => {
  it('reads seed-form commands as the seed answers them', () => {
    expect(replyJson(sent('PUT:ping'), encodeText('PUT 4 bytes'))).toEqual({ kind: 'put', reply: { bytes: 4, duplicate: false } });
    expect(replyJson(sent('GET'), encodeText('ping'))).toEqual({ kind: 'message', reply: 'ping' });
    expect(replyJson(sent('GET'), new Uint8Array(0))).toEqual({ kind: 'empty', reply: null });
    expect(replyJson(sent('SIZE'), encodeText('3'))).toEqual({ kind: 'size', reply: 3 });
  });

  it('keeps the id, gives batches as arrays and bodies that are not UTF-8 as base64', () => {
    const leased = encodeReply({ id: 'r1', kind: 'leased', deliveries: [{ token: 't.1.x', deliveries: 2, body: bytes(0xff, 0x00) }] });
    expect(replyJson(sent('#r1 RESERVE max=2'), leased)).toEqual({ kind: 'leased', id: 'r1', reply: [{ token: 't.1.x', deliveries: 2, body: { base64: '/wA=' } }] });
    const batch = encodeReply({ kind: 'messages', bodies: [encodeText('a'), encodeText('é')] });
    expect(replyJson(sent('GET max=5'), batch)).toEqual({ kind: 'messages', reply: ['a', 'é'] });
    expect(replyJson(sent('ACK t.1.x'), encodeReply({ kind: 'ok' }))).toEqual({ kind: 'ok', reply: true });
  });

  it('gives an ERR reply its code and sentence, and an unreadable reply its text', () => {
    expect(replyJson(sent('#e ACK nope'), encodeText('#e ERR UNKNOWN_LEASE not held'))).toEqual({
      kind: 'error',
      id: 'e',
      reply: null,
      error: { code: 'ERR_UNKNOWN_LEASE', message: 'not held' },
    });
    // A command that does not parse still gets its ERR reply read.
    expect(replyJson(sent('FOO'), encodeText('ERR UNKNOWN_VERB FOO'))).toMatchObject({ kind: 'error', error: { code: 'ERR_UNKNOWN_VERB' } });
    expect(replyJson(sent('STATS'), encodeText('STATS:not json'))).toEqual({ kind: 'text', reply: 'STATS:not json' });
  });
});
