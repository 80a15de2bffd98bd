import { hexDigitCount, writeHeader } from './frame.js';
import { COLON, DOT, HASH, SPACE, decimalLength, writeDecimal } from './grammar.js';
import type { Delivery } from './protocol.js';
import type { NodeStats } from './stats.js';
import { writeText, writeTextOfLength } from './text.js';
import type { WireErrorCode } from './wire-errors.js';

/** No batch reply is open. */
const NO_BATCH = -1;

/**
 * Reply frames written straight into one reusable, growing buffer and cut into datagrams of at
 * most `limit` bytes, so that a reply costs no intermediate strings or buffers. Its methods
 * speak the reply grammar (`put`, `message`, `error`, ...), so no caller writes status words.
 *
 * Every method returning a boolean returns false when its reply frame is larger than one
 * datagram; the frame is then dropped, frames written before it stay, and the caller writes a
 * smaller reply in its place.
 *
 * A frame's payload is written after room for the longest header a datagram can need;
 * ending it writes the real header and moves the payload left over the unused room (a few
 * bytes for the usual short reply).
 */
export class ReplyWriter {
  readonly #limit: number;
  /** Header room: `L` plus the length digits of the largest frame that fits a datagram. */
  readonly #room: number;
  #buffer: Uint8Array;
  #length = 0;
  /** Starts of the frames begun and not yet ended: a batch reply holds one frame per item. */
  readonly #open: number[] = [];
  #datagramStart = 0;
  /** Where each datagram but the last ends. */
  readonly #cuts: number[] = [];
  /** Items the open batch announced (or NO_BATCH), written so far, and whether one did not fit. */
  #batchCount = NO_BATCH;
  #batchItems = 0;
  #batchFailed = false;

  constructor(limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 2) throw new RangeError(`limit must be a safe integer of at least 2 bytes, got ${String(limit)}`);
    this.#limit = limit;
    this.#room = 1 + hexDigitCount(limit);
    this.#buffer = new Uint8Array(Math.min(limit, 65_536) * 2);
  }

  /** Bytes written so far: where the next reply starts. */
  get length(): number {
    return this.#length;
  }

  /** `PUT <n> bytes` (typed: ` DUP` for a duplicate key). */
  put(id: string | undefined, bytes: number, duplicate: boolean, seed: boolean): boolean {
    this.#head(id, 'PUT ');
    this.#decimal(bytes);
    this.#text(duplicate && !seed ? ' bytes DUP' : ' bytes');
    return this.#end();
  }

  /** `MSG:<body>`; the seed's bare body. */
  message(id: string | undefined, body: Uint8Array, seed: boolean): boolean {
    this.#messageHead(id, seed);
    this.#bytes(body);
    return this.#end();
  }

  /** `message` from a string whose UTF-8 takes `byteLength` bytes, written in place. */
  messageText(id: string | undefined, body: string, byteLength: number, seed: boolean): boolean {
    this.#messageHead(id, seed);
    this.#textOfLength(body, byteLength);
    return this.#end();
  }

  /** `EMPTY`; the seed's empty payload. */
  empty(id: string | undefined, seed: boolean): boolean {
    if (seed) this.#begin();
    else this.#head(id, 'EMPTY');
    return this.#end();
  }

  /** `SIZE <n>`; the seed's bare decimal. */
  size(id: string | undefined, size: number, seed: boolean): boolean {
    if (seed) this.#begin();
    else this.#head(id, 'SIZE ');
    this.#decimal(size);
    return this.#end();
  }

  ok(id: string | undefined): boolean {
    this.#head(id, 'OK');
    return this.#end();
  }

  /** `ERR <CODE> <message>`, the same in both forms. */
  error(id: string | undefined, code: WireErrorCode, message: string): boolean {
    this.#head(id, 'ERR ');
    this.#text(code);
    this.#byte(SPACE);
    this.#text(message);
    return this.#end();
  }

  /** `STATS:<JSON>`. */
  stats(id: string | undefined, stats: NodeStats): boolean {
    this.#head(id, 'STATS');
    this.#byte(COLON);
    this.#text(JSON.stringify(stats));
    return this.#end();
  }

  /** Starts `MSGS <count>:`; write exactly `count` `batchMessage`s, then `endBatch`. */
  beginMessages(id: string | undefined, count: number): void {
    this.#beginBatch(id, 'MSGS ', count);
  }

  batchMessage(body: Uint8Array): void {
    this.#beginItem();
    this.#bytes(body);
    this.#endItem();
  }

  batchMessageText(body: string, byteLength: number): void {
    this.#beginItem();
    this.#textOfLength(body, byteLength);
    this.#endItem();
  }

  /** Starts `LEASED <count>:`; write exactly `count` `leasedItem`s, then `endBatch`. */
  beginLeased(id: string | undefined, count: number): void {
    this.#beginBatch(id, 'LEASED ', count);
  }

  /** One `<messageId>.<delivery>.<nonce> <delivery>:<body>` frame: the token written from its parts. */
  leasedItem(messageId: string, delivery: number, nonce: string, body: Uint8Array): void {
    this.#leasedHead(messageId, delivery, nonce);
    this.#bytes(body);
    this.#endItem();
  }

  /** One leased item from a whole `Delivery` (a token kept as a string). */
  leasedDelivery(delivery: Delivery): void {
    this.#beginItem();
    this.#text(delivery.token);
    this.#deliveries(delivery.deliveries);
    this.#bytes(delivery.body);
    this.#endItem();
  }

  leasedItemText(messageId: string, delivery: number, nonce: string, body: string, byteLength: number): void {
    this.#leasedHead(messageId, delivery, nonce);
    this.#textOfLength(body, byteLength);
    this.#endItem();
  }

  /**
   * Ends the open batch reply. Throws `RangeError` if the items written are not the count
   * announced (a programming error; the batch is dropped).
   */
  endBatch(): boolean {
    const count = this.#batchCount;
    if (count === NO_BATCH) throw new RangeError('endBatch without beginMessages or beginLeased');
    const items = this.#batchItems;
    const failed = this.#batchFailed;
    this.#batchCount = NO_BATCH;
    if (items !== count || failed) {
      this.#length = this.#open.pop() as number;
      if (items !== count) throw new RangeError(`batch reply announced ${count} items and got ${items}`);
      return false;
    }
    return this.#end();
  }

  /** A ready-made reply payload (e.g. one kept while storage flushed). */
  raw(payload: Uint8Array): boolean {
    this.#begin();
    this.#bytes(payload);
    return this.#end();
  }

  /** A position to `rollback` to: take it between replies. */
  mark(): number {
    return this.#length;
  }

  /** Drops every reply written from `mark` on, and any reply still open (half-written). */
  rollback(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > this.#length) throw new RangeError(`no such mark: ${String(mark)}`);
    let to = mark;
    const firstOpen = this.#open[0];
    if (firstOpen !== undefined && firstOpen < to) to = firstOpen;
    this.#open.length = 0;
    this.#batchCount = NO_BATCH;
    this.#length = to;
    const cuts = this.#cuts;
    while (cuts.length > 0 && (cuts[cuts.length - 1] as number) >= to) cuts.pop();
    this.#datagramStart = cuts.length === 0 ? 0 : (cuts[cuts.length - 1] as number);
  }

  /** Drops the reply still open (a reply that failed half way), if any. */
  abandon(): void {
    if (this.#open.length > 0) this.rollback(this.#length);
  }

  /** The bytes written from `start` to `end` (a copy), e.g. to keep replies across an await. */
  copy(start: number, end: number = this.#length): Uint8Array {
    return this.#buffer.slice(start, end);
  }

  /** Hands each datagram (a copy the callee may keep) to `send`, then starts over empty. */
  flush(send: (datagram: Uint8Array) => void): void {
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
    this.#batchCount = NO_BATCH;
  }

  // ---- the grammar's pieces ----------------------------------------------------------------

  /** Starts a typed reply frame: `[#id ]` then the status word. */
  #head(id: string | undefined, status: string): void {
    this.#begin();
    if (id !== undefined) {
      this.#byte(HASH);
      this.#text(id);
      this.#byte(SPACE);
    }
    this.#text(status);
  }

  #messageHead(id: string | undefined, seed: boolean): void {
    if (seed) {
      this.#begin();
      return;
    }
    this.#head(id, 'MSG');
    this.#byte(COLON);
  }

  #beginBatch(id: string | undefined, status: string, count: number): void {
    if (this.#batchCount !== NO_BATCH) throw new RangeError('a batch reply is already open');
    this.#head(id, status);
    this.#decimal(count);
    this.#byte(COLON);
    this.#batchCount = count;
    this.#batchItems = 0;
    this.#batchFailed = false;
  }

  #leasedHead(messageId: string, delivery: number, nonce: string): void {
    this.#beginItem();
    this.#text(messageId);
    this.#byte(DOT);
    this.#decimal(delivery);
    this.#byte(DOT);
    this.#text(nonce);
    this.#deliveries(delivery);
  }

  /** ` <deliveries>:`, after an item's token. */
  #deliveries(deliveries: number): void {
    this.#byte(SPACE);
    this.#decimal(deliveries);
    this.#byte(COLON);
  }

  #beginItem(): void {
    if (this.#batchCount === NO_BATCH) throw new RangeError('a batch item outside beginMessages or beginLeased');
    this.#begin();
  }

  #endItem(): void {
    this.#batchItems++;
    if (!this.#end()) this.#batchFailed = true;
  }

  // ---- bytes -------------------------------------------------------------------------------

  /** Starts a frame, inside the one begun last if it is not ended yet. */
  #begin(): void {
    this.#reserve(this.#room);
    this.#open.push(this.#length);
    this.#length += this.#room;
  }

  /** Ends the frame begun last; false (and the frame dropped) when it is larger than a datagram. */
  #end(): boolean {
    const start = this.#open.pop() as number;
    const payloadAt = start + this.#room;
    const n = this.#length - payloadAt;
    const digits = hexDigitCount(n);
    const limit = this.#limit;
    if (1 + digits + n > limit) {
      this.#length = start;
      return false;
    }
    const buffer = this.#buffer;
    writeHeader(buffer, start, n, digits);
    if (1 + digits < this.#room) buffer.copyWithin(start + 1 + digits, payloadAt, this.#length);
    this.#length = start + 1 + digits + n;
    if (this.#open.length === 0 && this.#length - this.#datagramStart > limit) {
      // The frame starts the next datagram (it fits one on its own).
      this.#cuts.push(start);
      this.#datagramStart = start;
    }
    return true;
  }

  #byte(value: number): void {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
  }

  /** An integer in decimal (as `String(value)` writes any number). */
  #decimal(value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) {
      this.#text(String(value));
      return;
    }
    this.#reserve(decimalLength(value));
    this.#length = writeDecimal(this.#buffer, this.#length, value);
  }

  #bytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buffer.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** A string as UTF-8. */
  #text(text: string): void {
    this.#reserve(text.length * 3);
    this.#length = writeText(this.#buffer, this.#length, text);
  }

  /** A string as UTF-8, known to take `byteLength` bytes. */
  #textOfLength(text: string, byteLength: number): void {
    this.#reserve(byteLength);
    this.#length = writeTextOfLength(this.#buffer, this.#length, text, byteLength);
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.#length), 0);
    this.#buffer = grown;
  }
}
