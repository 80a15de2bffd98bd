import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTH_FRAME_MAX_BYTES,
  StreampyError,
  authSigningInput,
  decodeFrames,
  decodeText,
  encodeAuthFrame,
  encodeFrames,
  encodeText,
  AUTH_KEY_ID_START,
  authSigningPrefix,
  isAuthKeyId,
  parseAuthHeader,
  parseRequest,
  scanAuthFrame,
  writeAuthMac,
  type AuthHeader,
} from '../src/index.js';
import { concat } from './bytes.js';

const MAC = '0123456789abcdef'.repeat(4);
const HEADER: AuthHeader = { keyId: 'k1', timestampMs: 1_764_600_000_000, nonce: '00112233aabbccdd', mac: MAC };

/** A datagram as text, with `frame` (an AUTH frame's text) first. */
function datagram(frame: string, rest = '13GET'): Uint8Array {
  return encodeText(frame + rest);
}

const hex = (digits: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: digits, maxLength: digits }).map((chars) => chars.join(''));

const header: fc.Arbitrary<AuthHeader> = fc.record({
  keyId: fc.stringMatching(/^[A-Za-z0-9_.-]{1,32}$/),
  timestampMs: fc.integer({ min: 0, max: 10 ** 15 - 1 }),
  nonce: hex(16),
  mac: hex(64),
});

describe('the AUTH frame', () => {
  it('is one frame of the protocol, spelled exactly', () => {
    const frame = encodeAuthFrame(HEADER);
    expect(decodeText(frame)).toBe(`2${(frame.length - 3).toString(16)}AUTH1 k1 1764600000000 00112233aabbccdd ${MAC}`);
    const [payload] = decodeFrames(frame);
    expect(payload?.length).toBe(frame.length - 3);
  });

  it('round-trips every header, and hands back where the signed frames start', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (fields, rest) => {
        const frame = encodeAuthFrame(fields);
        expect(frame.length).toBeLessThanOrEqual(AUTH_FRAME_MAX_BYTES);
        expect(parseAuthHeader(concat(frame, rest))).toEqual({ ...fields, restOffset: frame.length });
      }),
    );
  });

  it('takes at most AUTH_FRAME_MAX_BYTES, reached by the longest key id and timestamp', () => {
    expect(encodeAuthFrame({ ...HEADER, keyId: 'k'.repeat(32), timestampMs: 10 ** 15 - 1 }).length).toBe(AUTH_FRAME_MAX_BYTES);
    expect(AUTH_FRAME_MAX_BYTES).toBe(139);
  });

  it('signs the role, key id, timestamp and nonce before the frames', () => {
    expect(decodeText(authSigningInput('request', 'k1', 42, HEADER.nonce))).toBe('streampy-auth-1 request k1 42 00112233aabbccdd\n');
    expect(decodeText(authSigningInput('reply', 'k1', 42, HEADER.nonce))).toBe('streampy-auth-1 reply k1 42 00112233aabbccdd\n');
  });

  it.each([
    ['a key id with a colon', { keyId: 'k:1' }],
    ['an empty key id', { keyId: '' }],
    ['a 33-character key id', { keyId: 'k'.repeat(33) }],
    ['a negative timestamp', { timestampMs: -1 }],
    ['a 16-digit timestamp', { timestampMs: 10 ** 15 }],
    ['a fractional timestamp', { timestampMs: 1.5 }],
    ['an uppercase nonce', { nonce: '00112233AABBCCDD' }],
    ['a short nonce', { nonce: 'abcd' }],
    ['a short mac', { mac: MAC.slice(1) }],
  ])('refuses to encode %s', (_what, change) => {
    expect(() => encodeAuthFrame({ ...HEADER, ...change })).toThrow(StreampyError);
    expect(() => encodeAuthFrame({ ...HEADER, ...change })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('checks key ids by the name rule, at most 32 characters', () => {
    expect(isAuthKeyId('node-2026.01_a')).toBe(true);
    expect(isAuthKeyId('k'.repeat(32))).toBe(true);
    expect(isAuthKeyId('k'.repeat(33))).toBe(false);
    expect(isAuthKeyId('k 1')).toBe(false);
    expect(isAuthKeyId('')).toBe(false);
  });
});

describe('parseAuthHeader', () => {
  const good = decodeText(encodeAuthFrame(HEADER));
  const payload = good.slice(3);
  const framed = (text: string): string => `2${text.length.toString(16).padStart(2, '0')}${text}`;

  it('reads a well-formed envelope', () => {
    expect(parseAuthHeader(datagram(good))?.restOffset).toBe(good.length);
    expect(parseAuthHeader(encodeAuthFrame(HEADER))?.restOffset).toBe(good.length); // nothing signed after it is well-formed too
  });

  it.each([
    ['a request without an envelope', '', '13GET'],
    ['an empty datagram', '', ''],
    ['the payload under a 3-digit header', `3${payload.length.toString(16).padStart(3, '0')}${payload}`, ''],
    ['an uppercase length digit', `2${(payload.length + 5).toString(16).toUpperCase()}${payload.replace(' k1 ', ' k123456 ')}`, ''],
    ['a declared length past the datagram', good.slice(0, -1), ''],
    ['another version word', framed(payload.replace('AUTH1', 'AUTH2')), ''],
    ['a lowercase version word', framed(payload.replace('AUTH1', 'auth1')), ''],
    ['two spaces after the version', framed(payload.replace('AUTH1 ', 'AUTH1  ')), ''],
    ['a key id with a slash', framed(payload.replace(' k1 ', ' k/1 ')), ''],
    ['a 33-character key id', framed(payload.replace(' k1 ', ` ${'k'.repeat(33)} `)), ''],
    ['a timestamp with a leading zero', framed(payload.replace(' 1764600000000 ', ' 01764600000000 ')), ''],
    ['a 16-digit timestamp', framed(payload.replace(' 1764600000000 ', ' 1000000000000000 ')), ''],
    ['a signed timestamp', framed(payload.replace(' 1764600000000 ', ' -1764600000000 ')), ''],
    ['an uppercase nonce', framed(payload.replace('00112233aabbccdd', '00112233AABBCCDD')), ''],
    ['a 15-digit nonce', framed(payload.replace('00112233aabbccdd', '00112233aabbccd')), ''],
    ['an uppercase mac', framed(payload.replace(MAC, MAC.toUpperCase())), ''],
    ['a 63-digit mac', framed(payload.replace(MAC, MAC.slice(1))), ''],
    ['a 65-digit mac', framed(payload.replace(MAC, `${MAC}0`)), ''],
    ['a field missing', framed(payload.replace(' 00112233aabbccdd', '')), ''],
  ])('finds no envelope in %s', (_what, frame, rest) => {
    expect(parseAuthHeader(datagram(frame, rest))).toBeUndefined();
  });

  it('reads a length digit that is a letter (the check above is about its case)', () => {
    const long = payload.replace(' k1 ', ' k123456 ');
    expect(long.length.toString(16)).toMatch(/[a-f]/);
    expect(parseAuthHeader(datagram(framed(long)))?.keyId).toBe('k123456');
  });

  it('accepts the timestamp 0, the one number allowed to start with a zero', () => {
    expect(parseAuthHeader(encodeAuthFrame({ ...HEADER, timestampMs: 0 }))?.timestampMs).toBe(0);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const parsed = parseAuthHeader(bytes);
        if (parsed !== undefined) expect(encodeAuthFrame(parsed)).toEqual(bytes.subarray(0, parsed.restOffset));
      }),
    );
    fc.assert(
      fc.property(header, fc.nat(), fc.integer({ min: 0, max: 255 }), (fields, at, byte) => {
        // One byte changed anywhere in a good frame: either no envelope, or the one spelled by the bytes.
        const frame = encodeAuthFrame(fields);
        const changed = Uint8Array.from(frame);
        changed[at % frame.length] = byte;
        const parsed = parseAuthHeader(changed);
        if (parsed !== undefined) expect(encodeAuthFrame(parsed)).toEqual(changed.subarray(0, parsed.restOffset));
      }),
    );
  });

  it('is not a request verb: a node without keys answers the frame UNKNOWN_VERB', () => {
    const [first] = decodeFrames(concat(encodeAuthFrame(HEADER), encodeFrames(['GET'])));
    expect(() => parseRequest(first as Uint8Array)).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_VERB' }));
  });
});

describe('the byte-level path signers and receivers use', () => {
  it('finds the fields without strings: nonce halves, and the signed fields equal to the signing input', () => {
    fc.assert(
      fc.property(header, fc.constantFrom('request' as const, 'reply' as const), (fields, role) => {
        const frame = encodeAuthFrame(fields);
        const view = scanAuthFrame(frame);
        expect(view).toBeDefined();
        if (view === undefined) return;
        expect(view.nonceHigh).toBe(Number.parseInt(fields.nonce.slice(0, 8), 16));
        expect(view.nonceLow).toBe(Number.parseInt(fields.nonce.slice(8), 16));
        expect(view.timestampMs).toBe(fields.timestampMs);
        const composed = concat(authSigningPrefix(role), frame.subarray(AUTH_KEY_ID_START, view.nonceStart + 16), encodeText('\n'));
        expect(composed).toEqual(authSigningInput(role, fields.keyId, fields.timestampMs, fields.nonce));
      }),
    );
  });

  it('writes a MAC over the placeholder at the end of a frame', () => {
    const frame = encodeAuthFrame({ ...HEADER, mac: '0'.repeat(64) });
    const mac = Uint8Array.from({ length: 32 }, (_, i) => i * 8);
    writeAuthMac(frame, mac);
    expect(parseAuthHeader(frame)?.mac).toBe(Buffer.from(mac).toString('hex'));
    const scratch = new Uint8Array(64);
    writeAuthMac(scratch, mac);
    expect(decodeText(scratch)).toBe(Buffer.from(mac).toString('hex'));
    expect(() => writeAuthMac(frame, mac.subarray(1))).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('hands out a copy of the signing prefix', () => {
    const prefix = authSigningPrefix('request');
    prefix[0] = 0;
    expect(decodeText(authSigningPrefix('request'))).toBe('streampy-auth-1 request ');
  });
});
