/**
 * Segment files and how to read them (docs/durability.md has the picture).
 *
 * Format 2: the 9-byte magic `SPYLOG2\n\0` (byte 6 is the format version), then records, each
 * COBS-encoded with its CRC-32 and closed by a 0x00 (records.ts). The first record is a header,
 * the last one of a sealed segment a seal. Format 1 (the 0.1 release): the magic `SPYLOG1\n`,
 * then records framed as `u32 LE length | u32 LE CRC | payload`; still read, no longer written.
 *
 * Reading never stops at damage: it reports every damaged byte range and, in format 2, goes on at
 * the next record boundary (the next 0x00), so one bad record costs only itself.
 */
import { crc32 } from 'node:zlib';
import { cobsDecode } from './cobs.js';
import type { RecoveredBody } from '../engine.js';
import type { LogRecord } from './records.js';
import { decodePayload } from './records.js';

export const FORMAT_VERSION = 2;
export const SEGMENT_MAGIC = Buffer.from('SPYLOG2\n\0', 'latin1');
export const SEGMENT_MAGIC_V1 = Buffer.from('SPYLOG1\n', 'latin1');
const V1_FRAME_HEADER_BYTES = 8;
/** Sanity bound checked before trusting a format-1 length prefix (a corrupt length must not allocate). */
const V1_MAX_RECORD_BYTES = 256 * 1024 * 1024;

const SEGMENT_NAME = /^(\d{16})\.seg$/;

export function segmentFileName(id: number): string {
  return `${String(id).padStart(16, '0')}.seg`;
}

/** The segment id of a file name, or undefined for files that are not segments. */
export function segmentIdOf(fileName: string): number | undefined {
  const match = SEGMENT_NAME.exec(fileName);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Bytes that do not hold valid records, and about how many records they held. */
export interface DamagedRange {
  readonly start: number;
  readonly end: number;
  readonly records: number;
  readonly reason: string;
}

export type HeaderRecord = Extract<LogRecord, { type: 'header' }>;

export interface SegmentScan {
  /** The format the file is in; undefined when it is not a segment of any known format. */
  readonly version: 1 | 2 | undefined;
  readonly size: number;
  /** Valid records read. */
  readonly records: number;
  /** Where the last valid record (or the magic) ends. */
  readonly validEnd: number;
  /** Every damaged range, in file order. */
  readonly damage: readonly DamagedRange[];
  /** The last damaged range when it runs to the end of the file, with nothing valid after it. */
  readonly tail: DamagedRange | undefined;
  /** The header record (format 2), when the file starts with a valid one. */
  readonly header: HeaderRecord | undefined;
  /** True when the file ends with a seal record (it was closed when the next segment started). */
  readonly sealed: boolean;
  /** Seal records whose checksum or byte count disagrees with the bytes they cover. */
  readonly sealMismatches: readonly string[];
  /** Set when the header names another segment: its records were not read (a misplaced file). */
  readonly foreign: string | undefined;
}

class DamageList {
  readonly ranges: DamagedRange[] = [];

  add(start: number, end: number, records: number, reason: string): void {
    const last = this.ranges.at(-1);
    if (last !== undefined && last.end === start) this.ranges[this.ranges.length - 1] = { ...last, end, records: last.records + records };
    else this.ranges.push({ start, end, records, reason });
  }
}

/**
 * Reads a segment file's bytes, calling `visit` for each valid record in order. `bodiesAsText`:
 * message bodies come as text (records.ts decodePayload), else as copies of their bytes.
 */
export function scanSegment(bytes: Buffer, segmentId: number, visit: (record: LogRecord<RecoveredBody>) => void, bodiesAsText = false): SegmentScan {
  if (bytes.subarray(0, SEGMENT_MAGIC_V1.length).equals(SEGMENT_MAGIC_V1)) return scanV1(bytes, visit, bodiesAsText);
  return scanV2(bytes, segmentId, visit, bodiesAsText);
}

function isPrefixOf(bytes: Buffer, magic: Buffer): boolean {
  return bytes.length < magic.length && magic.subarray(0, bytes.length).equals(bytes);
}

function scanV2(bytes: Buffer, segmentId: number, visit: (record: LogRecord<RecoveredBody>) => void, bodiesAsText: boolean): SegmentScan {
  const damage = new DamageList();
  const sealMismatches: string[] = [];
  const base = { size: bytes.length, sealMismatches, foreign: undefined };
  if (bytes.length < SEGMENT_MAGIC.length && (isPrefixOf(bytes, SEGMENT_MAGIC) || isPrefixOf(bytes, SEGMENT_MAGIC_V1))) {
    // A crash while the segment was being created.
    const tail = bytes.length === 0 ? undefined : { start: 0, end: bytes.length, records: 0, reason: 'segment shorter than its header' };
    return { ...base, version: 2, records: 0, validEnd: 0, damage: tail === undefined ? [] : [tail], tail, header: undefined, sealed: false };
  }
  let at = SEGMENT_MAGIC.length;
  const magicOk = bytes.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC);
  if (!magicOk) {
    // A damaged magic costs only itself: records are still found after the first boundary.
    const zero = bytes.indexOf(0);
    at = zero === -1 ? bytes.length : zero + 1;
    damage.add(0, at, 0, 'bad magic');
  }
  let records = 0;
  let validEnd = magicOk ? at : 0;
  let header: HeaderRecord | undefined;
  let sealEnd = -1;
  let crcEnd = 0;
  let crcValue = 0;
  while (at < bytes.length) {
    const zero = bytes.indexOf(0, at);
    if (zero === at) {
      damage.add(at, at + 1, 0, 'stray zero byte');
      at++;
      continue;
    }
    const end = zero === -1 ? bytes.length : zero + 1;
    const record = zero === -1 ? 'record without its closing zero' : readRecord(bytes, at, zero, bodiesAsText);
    if (typeof record === 'string') {
      damage.add(at, end, 1, record);
      at = end;
      continue;
    }
    if (records === 0 && at === SEGMENT_MAGIC.length && record.type === 'header') {
      header = record;
      if (record.segment !== segmentId) {
        const foreign = `its header says it is segment ${record.segment}`;
        return { ...base, foreign, version: 2, records: 0, validEnd: at, damage: [{ start: 0, end: bytes.length, records: 0, reason: foreign }], tail: undefined, header, sealed: false };
      }
    }
    if (record.type === 'seal') {
      crcValue = crc32(bytes.subarray(crcEnd, at), crcValue);
      crcEnd = at;
      if (record.covered !== at || record.crc !== crcValue) sealMismatches.push(`the seal at byte ${at} covers ${record.covered} bytes with CRC ${record.crc}, the file has CRC ${crcValue} over its first ${at}`);
      sealEnd = end;
    }
    visit(record);
    records++;
    validEnd = end;
    at = end;
  }
  if (records === 0 && header === undefined && damage.ranges.length > 0 && damage.ranges[0]?.reason === 'bad magic') {
    return { ...base, version: undefined, records: 0, validEnd: 0, damage: [{ start: 0, end: bytes.length, records: 0, reason: 'not a segment (unknown magic, no valid record)' }], tail: undefined, header: undefined, sealed: false };
  }
  const last = damage.ranges.at(-1);
  const tail = last !== undefined && last.end === bytes.length && last.start >= validEnd ? last : undefined;
  return { ...base, version: 2, records, validEnd, damage: damage.ranges, tail, header, sealed: sealEnd === bytes.length };
}

/**
 * Every record is decoded into this one buffer, grown as records need: a fresh buffer per record
 * (60 KB bodies: below malloc's mmap threshold) stays in malloc's arenas once freed, about doubling
 * what a recovered log costs in RSS. Bodies leave it as text or copies (decodePayload), never views.
 * Reading is synchronous, so one buffer serves every segment scanned.
 */
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

function scratchOf(length: number): Buffer {
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * scratch.length));
  return scratch;
}

/** The record encoded in `bytes[start, zero)`, or why it is not one. */
function readRecord(bytes: Buffer, start: number, zero: number, bodiesAsText: boolean): LogRecord<RecoveredBody> | string {
  const decoded = cobsDecode(bytes, start, zero, scratchOf(zero - start));
  if (decoded === undefined || decoded.length < 5) return 'malformed record encoding';
  const payload = Buffer.from(decoded.buffer, decoded.byteOffset, decoded.length - 4);
  const stored = Buffer.from(decoded.buffer, decoded.byteOffset + decoded.length - 4, 4).readUInt32LE(0);
  if (crc32(payload) !== stored) return 'checksum mismatch';
  return decodePayload(payload, false, bodiesAsText);
}

/**
 * Format 1 has no record boundaries to find again: reading stops at the first bad record and
 * the rest of the file is one damaged range.
 */
function scanV1(bytes: Buffer, visit: (record: LogRecord<RecoveredBody>) => void, bodiesAsText: boolean): SegmentScan {
  let at = SEGMENT_MAGIC_V1.length;
  let records = 0;
  let stop: string | undefined;
  while (at < bytes.length) {
    stop = v1Record(bytes, at, visit, bodiesAsText);
    if (stop !== undefined) break;
    at += V1_FRAME_HEADER_BYTES + bytes.readUInt32LE(at);
    records++;
  }
  const tail = stop === undefined ? undefined : { start: at, end: bytes.length, records: 1, reason: `${stop} (format 1: the rest of the file is unreadable)` };
  return {
    version: 1,
    size: bytes.length,
    records,
    validEnd: at,
    damage: tail === undefined ? [] : [tail],
    tail,
    header: undefined,
    sealed: false,
    sealMismatches: [],
    foreign: undefined,
  };
}

function v1Record(bytes: Buffer, at: number, visit: (record: LogRecord<RecoveredBody>) => void, bodiesAsText: boolean): string | undefined {
  if (bytes.length - at < V1_FRAME_HEADER_BYTES) return 'incomplete record header';
  const length = bytes.readUInt32LE(at);
  if (length === 0 || length > V1_MAX_RECORD_BYTES) return `implausible record length ${length}`;
  if (bytes.length - at - V1_FRAME_HEADER_BYTES < length) return 'incomplete record';
  // One CRC over the length prefix and the payload, skipping the CRC field itself.
  const payloadStart = at + V1_FRAME_HEADER_BYTES;
  const payload = bytes.subarray(payloadStart, payloadStart + length);
  const checksum = (crc32(payload) ^ crc32(bytes.subarray(at, at + 4))) >>> 0;
  if (checksum !== bytes.readUInt32LE(at + 4)) return 'checksum mismatch';
  const record = decodePayload(payload, false, bodiesAsText);
  if (typeof record === 'string') return record;
  visit(record);
  return undefined;
}
