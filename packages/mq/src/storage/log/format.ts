/**
 * The on-disk format of the log engine (docs/durability.md has the picture).
 *
 * A segment file is an 8-byte magic followed by framed records:
 *
 *   u32 LE payload length | u32 LE CRC-32 of (length bytes + payload) | payload
 *
 * The payload starts with a one-byte record type. Numbers that are JavaScript numbers in
 * memory (seq, enqueuedAt) are stored as float64 so every value round-trips exactly.
 */
import type { StoredMessage } from '../engine.js';
import { crc32 } from './crc32.js';

export const SEGMENT_MAGIC = Buffer.from('SPYLOG1\n', 'latin1');
export const FRAME_HEADER_BYTES = 8;
/** Sanity bound checked before trusting a length prefix (a corrupt length must not allocate). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
/** Removes per record: keeps one record well under MAX_RECORD_BYTES. */
export const MAX_REMOVES_PER_RECORD = 8192;
const MAX_KEY_BYTES = 0xffff;

const RecordType = { Append: 1, Remove: 2, Cleared: 3, Floor: 4 } as const;

export type LogRecord =
  | { readonly type: 'append'; readonly message: StoredMessage }
  | { readonly type: 'remove'; readonly seqs: readonly number[] }
  /**
   * Every message appended in `segment` is removed except those in the inclusive seq
   * intervals `keep`. Written before a segment holding removes into `segment` is deleted, so
   * deleting it cannot resurrect anything.
   */
  | { readonly type: 'cleared'; readonly segment: number; readonly keep: readonly SeqInterval[] }
  /** Every seq appended from here on is at least `nextSeq`; survives deletion of older segments. */
  | { readonly type: 'floor'; readonly nextSeq: number };

export type SeqInterval = readonly [first: number, last: number];

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentFileName(id: number): string {
  return `${String(id).padStart(16, '0')}.seg`;
}

/** The segment id of a file name, or undefined for files that are not segments. */
export function segmentIdOf(fileName: string): number | undefined {
  const match = SEGMENT_NAME.exec(fileName);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32LE(payload.length, 0);
  payload.copy(out, FRAME_HEADER_BYTES);
  out.writeUInt32LE(frameChecksum(out, 0, payload.length), 4);
  return out;
}

function frameChecksum(bytes: Uint8Array, frameStart: number, payloadLength: number): number {
  // One CRC over the length prefix and the payload, skipping the CRC field itself, so a flipped
  // length bit is caught as surely as a flipped payload bit.
  const lengthCrc = crc32(bytes, frameStart, frameStart + 4);
  const payloadStart = frameStart + FRAME_HEADER_BYTES;
  return (crc32(bytes, payloadStart, payloadStart + payloadLength) ^ lengthCrc) >>> 0;
}

export function encodeAppend(message: StoredMessage): Buffer {
  const key = message.key === undefined ? undefined : Buffer.from(message.key, 'utf8');
  if (key !== undefined && key.length > MAX_KEY_BYTES) throw new RangeError(`idempotency key longer than ${MAX_KEY_BYTES} bytes`);
  const keyLength = key?.length ?? 0;
  const payload = Buffer.allocUnsafe(1 + 1 + 8 + 8 + 2 + keyLength + message.body.length);
  let at = payload.writeUInt8(RecordType.Append, 0);
  at = payload.writeUInt8(key === undefined ? 0 : 1, at);
  at = payload.writeDoubleLE(message.seq, at);
  at = payload.writeDoubleLE(message.enqueuedAt, at);
  at = payload.writeUInt16LE(keyLength, at);
  if (key !== undefined) at += key.copy(payload, at);
  payload.set(message.body, at);
  return frame(payload);
}

export function encodeRemove(seqs: readonly number[]): Buffer {
  const payload = Buffer.allocUnsafe(1 + 4 + 8 * seqs.length);
  let at = payload.writeUInt8(RecordType.Remove, 0);
  at = payload.writeUInt32LE(seqs.length, at);
  for (const seq of seqs) at = payload.writeDoubleLE(seq, at);
  return frame(payload);
}

export function encodeCleared(segment: number, keep: readonly SeqInterval[]): Buffer {
  const payload = Buffer.allocUnsafe(1 + 8 + 4 + 16 * keep.length);
  let at = payload.writeUInt8(RecordType.Cleared, 0);
  at = payload.writeDoubleLE(segment, at);
  at = payload.writeUInt32LE(keep.length, at);
  for (const [first, last] of keep) {
    at = payload.writeDoubleLE(first, at);
    at = payload.writeDoubleLE(last, at);
  }
  return frame(payload);
}

export function encodeFloor(nextSeq: number): Buffer {
  const payload = Buffer.allocUnsafe(1 + 8);
  payload.writeUInt8(RecordType.Floor, 0);
  payload.writeDoubleLE(nextSeq, 1);
  return frame(payload);
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

/** Where and why a scan stopped before the end of its bytes. */
export interface ScanStop {
  readonly offset: number;
  readonly reason: string;
}

/**
 * Calls `visit` for each valid record of a segment's bytes, in order. Returns undefined when
 * every byte was a valid record, else where the first bad or incomplete record starts.
 */
export function scanSegment(bytes: Buffer, visit: (record: LogRecord) => void): ScanStop | undefined {
  if (bytes.length < SEGMENT_MAGIC.length) return { offset: 0, reason: 'segment shorter than its header' };
  if (!bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) return { offset: 0, reason: 'not a segment (bad magic)' };
  let at = SEGMENT_MAGIC.length;
  while (at < bytes.length) {
    if (bytes.length - at < FRAME_HEADER_BYTES) return { offset: at, reason: 'incomplete record header' };
    const length = bytes.readUInt32LE(at);
    if (length === 0 || length > MAX_RECORD_BYTES) return { offset: at, reason: `implausible record length ${length}` };
    if (bytes.length - at - FRAME_HEADER_BYTES < length) return { offset: at, reason: 'incomplete record' };
    if (frameChecksum(bytes, at, length) !== bytes.readUInt32LE(at + 4)) return { offset: at, reason: 'checksum mismatch' };
    const payloadStart = at + FRAME_HEADER_BYTES;
    const record = decodePayload(bytes.subarray(payloadStart, payloadStart + length));
    if (typeof record === 'string') return { offset: at, reason: record };
    visit(record);
    at = payloadStart + length;
  }
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The record in a checksummed payload, or why it is malformed. */
function decodePayload(payload: Buffer): LogRecord | string {
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
      let key: string | undefined;
      if (hasKey) {
        try {
          key = strictUtf8.decode(payload.subarray(fixed, fixed + keyLength));
        } catch {
          return 'append record key is not UTF-8';
        }
      }
      // A copy, so a live message does not pin the whole segment buffer in memory.
      const body = new Uint8Array(payload.subarray(fixed + keyLength));
      return { type: 'append', message: key === undefined ? { seq, enqueuedAt, body } : { seq, enqueuedAt, key, body } };
    }
    case RecordType.Remove: {
      if (payload.length < 5) return 'remove record too short';
      const count = payload.readUInt32LE(1);
      if (payload.length !== 5 + 8 * count) return 'remove record length disagrees with its count';
      const seqs: number[] = [];
      for (let i = 0; i < count; i++) seqs.push(payload.readDoubleLE(5 + 8 * i));
      return { type: 'remove', seqs };
    }
    case RecordType.Cleared: {
      if (payload.length < 13) return 'cleared record too short';
      const segment = payload.readDoubleLE(1);
      const count = payload.readUInt32LE(9);
      if (payload.length !== 13 + 16 * count) return 'cleared record length disagrees with its count';
      const keep: SeqInterval[] = [];
      for (let i = 0; i < count; i++) keep.push([payload.readDoubleLE(13 + 16 * i), payload.readDoubleLE(21 + 16 * i)]);
      return { type: 'cleared', segment, keep };
    }
    case RecordType.Floor:
      if (payload.length !== 9) return 'floor record has the wrong length';
      return { type: 'floor', nextSeq: payload.readDoubleLE(1) };
    default:
      return `unknown record type ${type}`;
  }
}
