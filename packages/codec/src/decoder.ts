import { CodecError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, checkLimit, lengthDigits, readDeclaredLength, type DecodeOptions } from './frame.js';

const enum State {
  /** Between frames. */
  Start,
  /** Part of a header is in `#header`. */
  Header,
  /** The header is read and part of the payload is in `#payload`. */
  Payload,
}

/** Header byte plus up to 15 length digits. */
const MAX_HEADER_BYTES = 16;

/**
 * Decodes frames from a byte stream cut at arbitrary points (a TCP socket, a file, a
 * sequence of datagrams). An explicit state machine: the declared length is checked against
 * `maxFrameBytes` as soon as the header is complete, before any payload byte is buffered.
 * A header split across chunks is held in a 16-byte buffer until it is whole.
 *
 * After an error the stream cannot be resynchronised: every later call throws the same error.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  #state = State.Start;
  /** Stream offset of the frame being read, for error offsets. */
  #frameStart = 0;
  #header = new Uint8Array(MAX_HEADER_BYTES);
  #headerFilled = 0;
  #headerLength = 0;
  #payload: Uint8Array | undefined;
  #filled = 0;
  /** Bytes pushed before the current chunk. */
  #consumed = 0;
  #failure: CodecError | undefined;

  constructor(options?: DecodeOptions) {
    this.maxFrameBytes = checkLimit(options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  }

  /** True when a frame has been started but not completed. */
  get pending(): boolean {
    return this.#state !== State.Start;
  }

  /**
   * Feeds a chunk and returns the payloads of the frames it completed, in order. A payload
   * lying wholly inside `chunk` is a view into it; one spanning chunks is a fresh copy.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.#failure) throw this.#failure;
    const frames: Uint8Array[] = [];
    try {
      this.#decode(chunk, frames);
    } catch (error) {
      // Only CodecErrors are thrown below.
      this.#failure = error as CodecError;
      throw error;
    }
    this.#consumed += chunk.length;
    return frames;
  }

  /** Declares the end of the stream; throws `ERR_TRUNCATED` if a frame is incomplete. */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== State.Start) {
      this.#failure = new CodecError('ERR_TRUNCATED', 'stream ended inside a frame', { offset: this.#frameStart });
      throw this.#failure;
    }
  }

  #decode(chunk: Uint8Array, frames: Uint8Array[]): void {
    const n = chunk.length;
    const base = this.#consumed;
    let i = 0;
    if (this.#state === State.Header) {
      const header = this.#header;
      const take = Math.min(this.#headerLength - this.#headerFilled, n);
      header.set(chunk.subarray(0, take), this.#headerFilled);
      this.#headerFilled += take;
      if (this.#headerFilled < this.#headerLength) return;
      const length = readDeclaredLength(header, 1, this.#headerLength - 1, this.maxFrameBytes, this.#frameStart);
      i = this.#beginPayload(chunk, take, length, frames);
    } else if (this.#state === State.Payload) {
      const payload = this.#payload as Uint8Array;
      i = Math.min(payload.length - this.#filled, n);
      payload.set(chunk.subarray(0, i), this.#filled);
      this.#filled += i;
      if (this.#filled < payload.length) return;
      frames.push(payload);
      this.#payload = undefined;
      this.#state = State.Start;
    }
    // The common case: frames lying whole inside the chunk, read without copying.
    while (i < n) {
      const digits = lengthDigits(chunk[i] as number, base + i);
      const start = i + 1 + digits;
      if (start > n) {
        this.#frameStart = base + i;
        this.#header.set(chunk.subarray(i), 0);
        this.#headerFilled = n - i;
        this.#headerLength = 1 + digits;
        this.#state = State.Header;
        return;
      }
      const length = readDeclaredLength(chunk, i + 1, digits, this.maxFrameBytes, base);
      if (n - start >= length) {
        frames.push(chunk.subarray(start, start + length));
        i = start + length;
      } else {
        this.#frameStart = base + i;
        i = this.#beginPayload(chunk, start, length, frames);
      }
    }
  }

  /**
   * Takes a payload of `length` bytes starting at `i` of a frame whose header is read
   * (`#frameStart` set); returns the index after what it used.
   */
  #beginPayload(chunk: Uint8Array, i: number, length: number, frames: Uint8Array[]): number {
    const available = chunk.length - i;
    if (available >= length) {
      frames.push(chunk.subarray(i, i + length));
      this.#state = State.Start;
      return i + length;
    }
    const payload = new Uint8Array(length);
    payload.set(chunk.subarray(i), 0);
    this.#payload = payload;
    this.#filled = available;
    this.#state = State.Payload;
    return chunk.length;
  }
}
