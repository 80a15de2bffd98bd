/** Room left for a frame header before its payload: `L` plus up to four length digits (65,535 bytes). */
const HEADER_ROOM = 5;
const LOWER_HEX = '0123456789abcdef';

/**
 * Reply frames written straight into one reusable buffer and cut into datagrams of at most
 * `limit` bytes, so a reply costs no intermediate strings or buffers. A frame's payload is
 * written after room for the longest header; `end()` writes the real header and moves the
 * payload left over the unused room (a few bytes for the usual short reply).
 */
export class ReplyWriter {
  readonly #limit: number;
  #buffer: Buffer;
  #length = 0;
  /** Starts of the frames begun and not yet ended: a batch reply holds one frame per item. */
  readonly #open: number[] = [];
  #datagramStart = 0;
  /** Where each datagram but the last ends. */
  readonly #cuts: number[] = [];

  constructor(limit: number) {
    this.#limit = limit;
    this.#buffer = Buffer.allocUnsafe(limit * 2);
  }

  /** Bytes written so far: the start of the next frame. */
  get length(): number {
    return this.#length;
  }

  /** Starts a frame, inside the one begun last if it is not ended yet. */
  begin(): void {
    this.#reserve(HEADER_ROOM);
    this.#open.push(this.#length);
    this.#length += HEADER_ROOM;
  }

  /** Appends an ASCII string (status words, ids, tokens: one byte per character). */
  ascii(text: string): void {
    const n = text.length;
    this.#reserve(n);
    const buffer = this.#buffer;
    let at = this.#length;
    for (let i = 0; i < n; i++) buffer[at++] = text.charCodeAt(i);
    this.#length = at;
  }

  /** Appends one byte. */
  byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  /** Appends a non-negative integer in decimal. */
  decimal(value: number): void {
    if (value < 10) this.byte(0x30 + value);
    else this.ascii(String(value));
  }

  /** Appends a string as UTF-8, `byteLength` bytes long. */
  utf8(text: string, byteLength: number): void {
    this.#reserve(byteLength);
    this.#length += this.#buffer.write(text, this.#length, byteLength, 'utf8');
  }

  bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /**
   * Ends the frame begun last. Returns false, and drops the frame, when it is larger than
   * a datagram; the caller then writes a smaller reply in its place.
   */
  end(): boolean {
    const start = this.#open.pop() as number;
    const payloadAt = start + HEADER_ROOM;
    const n = this.#length - payloadAt;
    const digits = n < 0x10 ? 1 : n < 0x100 ? 2 : n < 0x1000 ? 3 : n < 0x10000 ? 4 : 5;
    if (1 + digits + n > this.#limit) {
      this.#length = start;
      return false;
    }
    const buffer = this.#buffer;
    buffer[start] = LOWER_HEX.charCodeAt(digits);
    for (let i = start + digits, rest = n; i > start; i--, rest >>>= 4) buffer[i] = LOWER_HEX.charCodeAt(rest & 15);
    if (digits < HEADER_ROOM - 1) buffer.copyWithin(start + 1 + digits, payloadAt, this.#length);
    this.#length = start + 1 + digits + n;
    if (this.#open.length === 0 && this.#length - this.#datagramStart > this.#limit) {
      // The frame starts the next datagram (it fits one on its own).
      this.#cuts.push(start);
      this.#datagramStart = start;
    }
    return true;
  }

  /** A whole frame of `payload`; false when it is larger than a datagram. */
  frame(payload: Uint8Array): boolean {
    this.begin();
    this.bytes(payload);
    return this.end();
  }

  /** Drops every frame begun and not ended (a reply that failed half way). */
  abandon(): void {
    if (this.#open.length === 0) return;
    this.#length = this.#open[0] as number;
    this.#open.length = 0;
  }

  /** The bytes written since `start` (a copy), e.g. to keep replies across an await. */
  copy(start: number, end = this.#length): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    this.#buffer.copy(out, 0, start, end);
    return out;
  }

  /** Hands each datagram (a copy the callee may keep) to `send`, then starts over empty. */
  flush(send: (datagram: Buffer) => void): void {
    let start = 0;
    for (const cut of this.#cuts) {
      send(this.copy(start, cut));
      start = cut;
    }
    if (this.#length > start) send(this.copy(start));
    this.reset();
  }

  reset(): void {
    this.#length = 0;
    this.#open.length = 0;
    this.#datagramStart = 0;
    this.#cuts.length = 0;
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
