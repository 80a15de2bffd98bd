import { CodecError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, type DecodeOptions } from './frame.js';

const enum State {
  Start,
  Digits,
  Payload,
}

function hexValue(byte: number): number {
  if (byte >= 48 && byte <= 57) return byte - 48;
  const lower = byte | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Decodes frames from a byte stream cut at arbitrary points (a TCP socket, a file, a
 * sequence of datagrams). An explicit state machine: the declared length is checked against
 * `maxFrameBytes` digit by digit, before any payload byte is buffered.
 *
 * After an error the stream cannot be resynchronised: every later call throws the same error.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  #state = State.Start;
  #digitsLeft = 0;
  #length = 0;
  #payload: Uint8Array | undefined;
  #filled = 0;
  #consumed = 0;
  #failure: CodecError | undefined;

  constructor(options?: DecodeOptions) {
    const limit = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError(`maxFrameBytes must be a non-negative safe integer, got ${String(limit)}`);
    }
    this.maxFrameBytes = limit;
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
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.#state) {
        case State.Start: {
          const digits = hexValue(chunk[i] as number);
          if (digits <= 0) {
            this.#fail(
              digits === 0
                ? new CodecError('ERR_ZERO_LENGTH_DIGITS', 'header declares 0 length digits (L must be 1-f)', { offset: this.#consumed + i })
                : new CodecError('ERR_BAD_HEADER', `header byte 0x${(chunk[i] as number).toString(16).padStart(2, '0')} is not a hex digit`, { offset: this.#consumed + i }),
            );
          }
          this.#digitsLeft = digits;
          this.#length = 0;
          this.#state = State.Digits;
          i++;
          break;
        }
        case State.Digits: {
          const value = hexValue(chunk[i] as number);
          if (value < 0) {
            this.#fail(new CodecError('ERR_BAD_HEADER', `length digit 0x${(chunk[i] as number).toString(16).padStart(2, '0')} is not a hex digit`, { offset: this.#consumed + i }));
          }
          this.#length = this.#length * 16 + value;
          this.#digitsLeft--;
          i++;
          // Fail as soon as the digits seen so far already exceed the limit.
          if (this.#length * 16 ** this.#digitsLeft > this.maxFrameBytes) {
            this.#fail(new CodecError('ERR_FRAME_TOO_LARGE', `frame declares more than ${this.maxFrameBytes} payload bytes, the limit`, { offset: this.#consumed + i }));
          }
          if (this.#digitsLeft === 0) {
            if (this.#length === 0) {
              frames.push(new Uint8Array(0));
              this.#state = State.Start;
            } else if (n - i >= this.#length) {
              frames.push(chunk.subarray(i, i + this.#length));
              i += this.#length;
              this.#state = State.Start;
            } else {
              this.#payload = new Uint8Array(this.#length);
              this.#filled = 0;
              this.#state = State.Payload;
            }
          }
          break;
        }
        case State.Payload: {
          const payload = this.#payload as Uint8Array;
          const take = Math.min(payload.length - this.#filled, n - i);
          payload.set(chunk.subarray(i, i + take), this.#filled);
          this.#filled += take;
          i += take;
          if (this.#filled === payload.length) {
            frames.push(payload);
            this.#payload = undefined;
            this.#state = State.Start;
          }
          break;
        }
      }
    }
    this.#consumed += n;
    return frames;
  }

  /** Declares the end of the stream; throws `ERR_TRUNCATED` if a frame is incomplete. */
  end(): void {
    if (this.#failure) throw this.#failure;
    if (this.#state !== State.Start) {
      this.#fail(new CodecError('ERR_TRUNCATED', 'stream ended inside a frame', { offset: this.#consumed }));
    }
  }

  #fail(error: CodecError): never {
    this.#failure = error;
    throw error;
  }
}
