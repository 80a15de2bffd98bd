/**
 * The records of the log and their payloads (docs/durability.md has the byte layout). A payload
 * starts with a one-byte type; numbers that are JavaScript numbers in memory (seqs, times,
 * segment ids) are float64 little-endian, so every value round-trips exactly.
 *
 * Format 2 frames a record as COBS(payload, u32 LE CRC-32 of payload) followed by one 0x00
 * (`encode*` return framed records). Format 1 (the 0.1 release) framed the same payloads with a
 * length prefix; it is only read now (format.ts).
 */
import { crc32 } from 'node:zlib';
import type { RecoveredBody, RecoveredMessage, StoredMessage } from '../engine.js';
import { cobsEncode, cobsMaxLength } from './cobs.js';

/** Removes per record: keeps one record small. */
export const MAX_REMOVES_PER_RECORD = 8192;
/** Idempotency keys per `keys` record, so one record stays small. */
export const MAX_KEYS_PER_RECORD = 4096;
const MAX_KEY_BYTES = 0xffff;

const RecordType = { Append: 1, Remove: 2, Cleared: 3, Floor: 4, Header: 5, Seal: 6, Keys: 7, Reclaimed: 8 } as const;

export type SeqInterval = readonly [first: number, last: number];

/** `Body`: message bodies as bytes, or as recovery may decode them (decodePayload's `asText`). */
export type LogRecord<Body = Uint8Array> =
  | { readonly type: 'append'; readonly message: RecoveredMessage<Body> }
  | { readonly type: 'remove'; readonly seqs: readonly number[] }
  /**
   * Every message appended in `segment` is removed except those in the inclusive seq
   * intervals `keep`. Written before a segment holding removes into `segment` is deleted, so
   * deleting it cannot resurrect anything.
   */
  | { readonly type: 'cleared'; readonly segment: number; readonly keep: readonly SeqInterval[] }
  /** Format 1's first record: every seq appended from here on is at least `nextSeq`. */
  | { readonly type: 'floor'; readonly nextSeq: number }
  /**
   * Format 2's first record: which segment this file is, the seq floor (as `floor`), and the ids
   * of the segments that existed when it was created, so a segment missing later is noticed.
   */
  | { readonly type: 'header'; readonly segment: number; readonly nextSeq: number; readonly present: readonly number[] }
  /** Closes a segment: CRC-32 of every byte of the file before this record. */
  | { readonly type: 'seal'; readonly covered: number; readonly crc: number }
  /** Idempotency keys carried forward from a deleted segment, with their enqueue times. */
  | { readonly type: 'keys'; readonly keys: readonly (readonly [key: string, at: number])[] }
  /** These segments are deleted on purpose (written, and synced, before they are unlinked). */
  | { readonly type: 'reclaimed'; readonly segments: readonly number[] };

/** A buffer for a payload of `length` bytes with room for its CRC after it. */
function payloadBuffer(length: number): Buffer {
  return Buffer.allocUnsafe(length + 4);
}

/** Frames a payload written into `buffer` (all but its last 4 bytes): CRC, COBS, closing zero. */
function frame(buffer: Buffer): Buffer {
  const payloadLength = buffer.length - 4;
  buffer.writeUInt32LE(crc32(buffer.subarray(0, payloadLength)), payloadLength);
  const out = Buffer.allocUnsafe(cobsMaxLength(buffer.length) + 1);
  const end = cobsEncode(buffer, out, 0);
  out[end] = 0;
  return out.subarray(0, end + 1);
}

export function encodeAppend(message: StoredMessage): Buffer {
  const key = message.key === undefined ? undefined : Buffer.from(message.key, 'utf8');
  if (key !== undefined && key.length > MAX_KEY_BYTES) throw new RangeError(`idempotency key longer than ${MAX_KEY_BYTES} bytes`);
  const keyLength = key?.length ?? 0;
  const payload = payloadBuffer(1 + 1 + 8 + 8 + 2 + keyLength + message.body.length);
  let at = payload.writeUInt8(RecordType.Append, 0);
  at = payload.writeUInt8(key === undefined ? 0 : 1, at);
  at = payload.writeDoubleLE(message.seq, at);
  at = payload.writeDoubleLE(message.enqueuedAt, at);
  at = payload.writeUInt16LE(keyLength, at);
  if (key !== undefined) at += key.copy(payload, at);
  payload.set(message.body, at);
  return frame(payload);
}

/** A record that is its type and a list of numbers (count u32, then each as f64): REMOVE and RECLAIMED. */
function encodeNumbers(type: (typeof RecordType)[keyof typeof RecordType], numbers: readonly number[]): Buffer {
  const payload = payloadBuffer(1 + 4 + 8 * numbers.length);
  let at = payload.writeUInt8(type, 0);
  at = payload.writeUInt32LE(numbers.length, at);
  for (const n of numbers) at = payload.writeDoubleLE(n, at);
  return frame(payload);
}

export function encodeRemove(seqs: readonly number[]): Buffer {
  return encodeNumbers(RecordType.Remove, seqs);
}

export function encodeCleared(segment: number, keep: readonly SeqInterval[]): Buffer {
  const payload = payloadBuffer(1 + 8 + 4 + 16 * keep.length);
  let at = payload.writeUInt8(RecordType.Cleared, 0);
  at = payload.writeDoubleLE(segment, at);
  at = payload.writeUInt32LE(keep.length, at);
  for (const [first, last] of keep) {
    at = payload.writeDoubleLE(first, at);
    at = payload.writeDoubleLE(last, at);
  }
  return frame(payload);
}

export function encodeHeader(segment: number, nextSeq: number, present: readonly number[]): Buffer {
  const payload = payloadBuffer(1 + 8 + 8 + 4 + 8 * present.length);
  let at = payload.writeUInt8(RecordType.Header, 0);
  at = payload.writeDoubleLE(segment, at);
  at = payload.writeDoubleLE(nextSeq, at);
  at = payload.writeUInt32LE(present.length, at);
  for (const id of present) at = payload.writeDoubleLE(id, at);
  return frame(payload);
}

export function encodeSeal(covered: number, crc: number): Buffer {
  const payload = payloadBuffer(1 + 8 + 4);
  let at = payload.writeUInt8(RecordType.Seal, 0);
  at = payload.writeDoubleLE(covered, at);
  payload.writeUInt32LE(crc, at);
  return frame(payload);
}

export function encodeKeys(keys: readonly (readonly [key: string, at: number])[]): Buffer {
  const encoded = keys.map(([key]) => Buffer.from(key, 'utf8'));
  let length = 1 + 4;
  for (const key of encoded) length += 8 + 2 + key.length;
  const payload = payloadBuffer(length);
  let at = payload.writeUInt8(RecordType.Keys, 0);
  at = payload.writeUInt32LE(keys.length, at);
  for (const [i, key] of encoded.entries()) {
    at = payload.writeDoubleLE(keys[i]![1], at);
    at = payload.writeUInt16LE(key.length, at);
    at += key.copy(payload, at);
  }
  return frame(payload);
}

export function encodeReclaimed(segments: readonly number[]): Buffer {
  return encodeNumbers(RecordType.Reclaimed, segments);
}

/** Sorted seqs as inclusive runs of consecutive integers (a FIFO queue's live set is one run). */
export function toIntervals(seqs: Iterable<number>): SeqInterval[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const seq of sorted) {
    const last = runs.at(-1);
    if (last !== undefined && seq === last[1] + 1) last[1] = seq;
    else runs.push([seq, seq]);
  }
  return runs;
}

export function inIntervals(seq: number, intervals: readonly SeqInterval[]): boolean {
  let low = 0;
  let high = intervals.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const [first, last] = intervals[mid]!;
    if (seq < first) high = mid - 1;
    else if (seq > last) low = mid + 1;
    else return true;
  }
  return false;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The numbers of a record written by `encodeNumbers`, or what is wrong with it. */
function readNumbers(payload: Buffer, what: string): number[] | string {
  if (payload.length < 5) return `${what} record too short`;
  const count = payload.readUInt32LE(1);
  if (payload.length !== 5 + 8 * count) return `${what} record length disagrees with its count`;
  return readDoubles(payload, 5, count);
}

function readDoubles(payload: Buffer, from: number, count: number): number[] {
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(payload.readDoubleLE(from + 8 * i));
  return values;
}

/**
 * The record in a checksummed payload, or why it is malformed. `ownsBuffer`: the payload was
 * decoded into its own memory, so a message body may stay a view of it; else it is copied, so a
 * live message does not pin a whole segment file (or a reused scratch buffer) in memory.
 * `asText`: the body becomes its text at once, with no copy of its bytes at all.
 */
export function decodePayload(payload: Buffer, ownsBuffer: boolean): LogRecord | string;
export function decodePayload(payload: Buffer, ownsBuffer: boolean, asText: boolean): LogRecord<RecoveredBody> | string;
export function decodePayload(payload: Buffer, ownsBuffer: boolean, asText = false): LogRecord<RecoveredBody> | string {
  if (payload.length === 0) return 'empty record';
  const type = payload.readUInt8(0);
  switch (type) {
    case RecordType.Append: {
      const fixed = 1 + 1 + 8 + 8 + 2;
      if (payload.length < fixed) return 'append record too short';
      const hasKey = payload.readUInt8(1) === 1;
      const seq = payload.readDoubleLE(2);
      const enqueuedAt = payload.readDoubleLE(10);
      const keyLength = payload.readUInt16LE(18);
      if (payload.length < fixed + keyLength) return 'append record key overruns it';
      const key = hasKey ? utf8(payload.subarray(fixed, fixed + keyLength)) : undefined;
      if (hasKey && key === undefined) return 'append record key is not UTF-8';
      const view = payload.subarray(fixed + keyLength);
      const body = asText ? { text: view.toString('utf8'), bytes: view.length } : ownsBuffer ? new Uint8Array(view.buffer, view.byteOffset, view.length) : new Uint8Array(view);
      return { type: 'append', message: key === undefined ? { seq, enqueuedAt, body } : { seq, enqueuedAt, key, body } };
    }
    case RecordType.Remove: {
      const seqs = readNumbers(payload, 'remove');
      return typeof seqs === 'string' ? seqs : { type: 'remove', seqs };
    }
    case RecordType.Cleared: {
      if (payload.length < 13) return 'cleared record too short';
      const segment = payload.readDoubleLE(1);
      const count = payload.readUInt32LE(9);
      if (payload.length !== 13 + 16 * count) return 'cleared record length disagrees with its count';
      const bounds = readDoubles(payload, 13, 2 * count);
      const keep: SeqInterval[] = [];
      for (let i = 0; i < count; i++) keep.push([bounds[2 * i]!, bounds[2 * i + 1]!]);
      return { type: 'cleared', segment, keep };
    }
    case RecordType.Floor:
      if (payload.length !== 9) return 'floor record has the wrong length';
      return { type: 'floor', nextSeq: payload.readDoubleLE(1) };
    case RecordType.Header: {
      if (payload.length < 21) return 'header record too short';
      const count = payload.readUInt32LE(17);
      if (payload.length !== 21 + 8 * count) return 'header record length disagrees with its count';
      return { type: 'header', segment: payload.readDoubleLE(1), nextSeq: payload.readDoubleLE(9), present: readDoubles(payload, 21, count) };
    }
    case RecordType.Seal:
      if (payload.length !== 13) return 'seal record has the wrong length';
      return { type: 'seal', covered: payload.readDoubleLE(1), crc: payload.readUInt32LE(9) };
    case RecordType.Keys: {
      if (payload.length < 5) return 'keys record too short';
      const count = payload.readUInt32LE(1);
      const keys: [string, number][] = [];
      let at = 5;
      for (let i = 0; i < count; i++) {
        if (payload.length < at + 10) return 'keys record overruns it';
        const time = payload.readDoubleLE(at);
        const length = payload.readUInt16LE(at + 8);
        at += 10;
        if (payload.length < at + length) return 'keys record overruns it';
        const key = utf8(payload.subarray(at, at + length));
        if (key === undefined) return 'keys record key is not UTF-8';
        keys.push([key, time]);
        at += length;
      }
      if (at !== payload.length) return 'keys record length disagrees with its count';
      return { type: 'keys', keys };
    }
    case RecordType.Reclaimed: {
      const segments = readNumbers(payload, 'reclaimed');
      return typeof segments === 'string' ? segments : { type: 'reclaimed', segments };
    }
    default:
      return `unknown record type ${type}`;
  }
}
