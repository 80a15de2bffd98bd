import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame, encodeFrames } from '../src/index.js';
import { ascii, expectCodecError } from './support.js';

describe('FrameDecoder', () => {
  it('returns the frames a chunk completes, in order', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(encodeFrames(['one', 'two', '']))).toEqual([ascii('one'), ascii('two'), new Uint8Array(0)]);
    expect(decoder.pending).toBe(false);
    decoder.end();
  });

  it('joins a frame split across chunks, header and payload alike', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(ascii('2'))).toEqual([]);
    expect(decoder.pending).toBe(true);
    expect(decoder.push(ascii('1'))).toEqual([]);
    expect(decoder.push(ascii('0abcdefgh'))).toEqual([]);
    expect(decoder.push(ascii('ijklmnop12'))).toEqual([ascii('abcdefghijklmnop')]);
    expect(decoder.push(ascii('xy'))).toEqual([ascii('xy')]);
    decoder.end();
  });

  it('views into the chunk for whole frames, copies for split ones', () => {
    const chunk = encodeFrame('whole');
    const [view] = new FrameDecoder().push(chunk);
    expect(view?.buffer).toBe(chunk.buffer);
    const decoder = new FrameDecoder();
    decoder.push(chunk.subarray(0, 4));
    const [copy] = decoder.push(chunk.subarray(4));
    expect(copy).toEqual(ascii('whole'));
    expect(copy?.buffer).not.toBe(chunk.buffer);
  });

  it('end() throws ERR_TRUNCATED while a frame is pending, inside the header or the payload', () => {
    const inHeader = new FrameDecoder();
    inHeader.push(ascii('11a3'));
    expect(expectCodecError(() => inHeader.end(), 'ERR_TRUNCATED').offset).toBe(3);
    const inPayload = new FrameDecoder();
    inPayload.push(ascii('15abc'));
    expectCodecError(() => inPayload.end(), 'ERR_TRUNCATED');
    const idle = new FrameDecoder();
    idle.push(new Uint8Array(0));
    expect(() => idle.end()).not.toThrow();
  });

  it('reports header errors with their stream offset', () => {
    const decoder = new FrameDecoder();
    decoder.push(ascii('11a'));
    expect(expectCodecError(() => decoder.push(ascii('11b0')), 'ERR_ZERO_LENGTH_DIGITS').offset).toBe(6);
    expect(expectCodecError(() => new FrameDecoder().push(ascii(' 11a')), 'ERR_BAD_HEADER').offset).toBe(0);
    expect(expectCodecError(() => new FrameDecoder().push(ascii('11a2xy')), 'ERR_BAD_HEADER').offset).toBe(4);
    // A header split across chunks is judged once it is whole, with offsets still counted in the stream.
    const split = new FrameDecoder();
    expect(split.push(ascii('11a3'))).toEqual([ascii('a')]);
    expect(split.push(ascii('0'))).toEqual([]);
    expect(expectCodecError(() => split.push(ascii('x0')), 'ERR_BAD_HEADER').offset).toBe(5);
  });

  it('accepts uppercase and zero-padded headers', () => {
    expect(new FrameDecoder().push(ascii('1Axxxxxxxxxx203GET'))).toEqual([ascii('xxxxxxxxxx'), ascii('GET')]);
  });
});
