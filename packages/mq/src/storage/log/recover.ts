/**
 * Reading a queue's log directory back: replays every segment in order and says, without
 * changing a byte, what is damaged, what is missing and what a torn write left at the end.
 * The engine's open() acts on this (log/repair.ts); verifyDataDir only reports it.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { RecoveredBody, RecoveredMessage } from '../engine.js';
import type { DamagedRange, SegmentScan } from './format.js';
import { SEGMENT_MAGIC, SEGMENT_MAGIC_V1, scanSegment, segmentFileName, segmentIdOf } from './format.js';
import type { SegmentInfo } from './ledger.js';
import { SegmentLedger, addKey } from './ledger.js';
import type { LogRecord } from './records.js';

/** What reading one segment file found. */
export interface SegmentReport {
  readonly id: number;
  readonly file: string;
  /** 1 or 2; undefined when the file is not a segment of a known format (it is left alone). */
  readonly version: 1 | 2 | undefined;
  readonly size: number;
  /** Valid records served from it. */
  readonly records: number;
  /** Damaged byte ranges whose records were skipped (valid records after them were served). */
  readonly damage: readonly DamagedRange[];
  /** The damaged end of the newest segment with nothing valid after it: a torn write, cut at open. */
  readonly tornTail: DamagedRange | undefined;
  /** Whole-segment problems: a sealed segment without a seal or failing its checksum, a misplaced file. */
  readonly problems: readonly string[];
}

export interface QueueScan {
  readonly dir: string;
  readonly ledger: SegmentLedger;
  /** Live messages by seq, in the order they were appended. */
  readonly messages: Map<number, RecoveredMessage<RecoveredBody>>;
  /** Every idempotency key the segments still record, with its latest enqueue time. */
  readonly keys: Map<string, number>;
  /** Above every seq ever appended, as far as the log still shows. */
  readonly seqFloor: number;
  readonly segments: readonly SegmentReport[];
  /** Segment ids the newest header says must exist that do not. */
  readonly missing: readonly number[];
  /** Whether `missing` could be checked: a format-1 log (0.1) does not record which segments exist. */
  readonly gapCheck: 'checked' | 'unavailable';
  /** The newest readable segment, where appends may continue, with what reading it found. */
  readonly last: { readonly info: SegmentInfo; readonly scan: SegmentScan; readonly crc: number } | undefined;
  /** The highest segment id on disk (readable or not); 0 when there is none. */
  readonly maxId: number;
}

/** Segment files of `dir`, ascending by id; none when it does not exist. */
export async function segmentIds(dir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .map(segmentIdOf)
    .filter((id): id is number => id !== undefined)
    .sort((a, b) => a - b);
}

/**
 * Reads every segment of `dir` in order and rebuilds the state they describe. Changes nothing.
 * `bodiesAsText`: message bodies as text (format.ts scanSegment), else as copies of their bytes.
 */
export async function scanQueueDir(dir: string, bodiesAsText = false): Promise<QueueScan> {
  const ids = await segmentIds(dir);
  const ledger = new SegmentLedger();
  const messages = new Map<number, RecoveredMessage<RecoveredBody>>();
  const keys = new Map<string, number>();
  let seqFloor = 0;
  const reports: SegmentReport[] = [];
  const headers = new Map<number, readonly number[]>();
  const reclaimed = new Map<number, number[]>();
  let last: QueueScan['last'];

  const rememberKey = (segment: SegmentInfo, key: string, at: number): void => {
    addKey(segment, key, at);
    if ((keys.get(key) ?? -Infinity) < at) keys.set(key, at);
  };

  const apply = (segment: SegmentInfo, record: LogRecord<RecoveredBody>): void => {
    switch (record.type) {
      case 'append': {
        const { message } = record;
        ledger.append(message.seq, segment.id);
        messages.set(message.seq, message);
        if (message.key !== undefined) rememberKey(segment, message.key, message.enqueuedAt);
        seqFloor = Math.max(seqFloor, message.seq + 1);
        break;
      }
      case 'remove':
        for (const seq of record.seqs) {
          const from = ledger.remove(seq);
          if (from === undefined) continue;
          messages.delete(seq);
          segment.removesInto.add(from);
        }
        break;
      case 'cleared':
        // A cleared record for a segment already deleted is a no-op: nothing of it is live.
        if (!ledger.segments.has(record.segment)) break;
        for (const seq of ledger.clear(record.segment, record.keep)) messages.delete(seq);
        segment.removesInto.add(record.segment);
        break;
      case 'floor':
      case 'header':
        seqFloor = Math.max(seqFloor, record.nextSeq);
        if (record.type === 'header') headers.set(segment.id, record.present);
        break;
      case 'keys':
        for (const [key, at] of record.keys) rememberKey(segment, key, at);
        break;
      case 'reclaimed':
        reclaimed.set(segment.id, [...(reclaimed.get(segment.id) ?? []), ...record.segments]);
        break;
      case 'seal':
        break;
    }
  };

  for (const [index, id] of ids.entries()) {
    const file = join(dir, segmentFileName(id));
    const bytes = await readFile(file);
    const isNewest = index === ids.length - 1;
    const segment = ledger.addSegment(id, bytes.length, bytes.subarray(0, SEGMENT_MAGIC_V1.length).equals(SEGMENT_MAGIC_V1) ? 1 : 2);
    const scan = scanSegment(bytes, id, (record) => apply(segment, record), bodiesAsText);
    segment.removesInto.delete(id);
    // A file that proved not to be a segment of ours (no record of it was applied) stays out.
    const info = scan.version === undefined || scan.foreign !== undefined ? undefined : segment;
    if (info === undefined) ledger.segments.delete(id);
    reports.push(report(file, id, scan, isNewest));
    if (info !== undefined) {
      const kept = isNewest && scan.tail !== undefined ? scan.tail.start : bytes.length;
      last = { info, scan, crc: isNewest ? crc32(bytes.subarray(0, kept)) : 0 };
    }
  }
  const gaps = missingSegments(ids, headers, reclaimed);
  return { dir, ledger, messages, keys, seqFloor, segments: reports, ...gaps, last, maxId: ids.at(-1) ?? 0 };
}

function report(file: string, id: number, scan: SegmentScan, isNewest: boolean): SegmentReport {
  const problems: string[] = [...scan.sealMismatches];
  if (scan.version === undefined) problems.push('not a segment of a known format; left as it is');
  if (scan.foreign !== undefined) problems.push(`misplaced file: ${scan.foreign}; left as it is`);
  // Only the newest segment can have been torn by a crash: every older one was sealed and
  // synced before the next was created, so damage at its end is damage like any other.
  const tornTail = isNewest && scan.version !== undefined && scan.foreign === undefined ? scan.tail : undefined;
  if (!isNewest && scan.version === 2 && !scan.sealed && scan.foreign === undefined) problems.push('sealed segment does not end with its seal (truncated or damaged at the end)');
  const damage = scan.foreign === undefined && scan.version !== undefined ? scan.damage.filter((range) => range !== tornTail) : [];
  const size = scan.size;
  const records = scan.records;
  return { id, file, version: scan.version, size, records, damage, tornTail, problems };
}

/**
 * The newest segment with a readable header lists the segments that existed when it was
 * created; every one made after it existed too; those deleted on purpose since are named by
 * `reclaimed` records, written before the unlink. Whatever else is absent is missing.
 */
function missingSegments(ids: readonly number[], headers: ReadonlyMap<number, readonly number[]>, reclaimed: ReadonlyMap<number, readonly number[]>): Pick<QueueScan, 'missing' | 'gapCheck'> {
  const newestWithHeader = [...headers.keys()].sort((a, b) => b - a)[0];
  if (newestWithHeader === undefined) return { missing: [], gapCheck: 'unavailable' };
  const expected = new Set(headers.get(newestWithHeader));
  const newest = ids.at(-1) ?? newestWithHeader;
  for (let id = newestWithHeader + 1; id < newest; id++) expected.add(id);
  for (const [holder, deleted] of reclaimed) if (holder >= newestWithHeader) for (const id of deleted) expected.delete(id);
  const present = new Set(ids);
  return { missing: [...expected].filter((id) => !present.has(id)).sort((a, b) => a - b), gapCheck: 'checked' };
}

/** Whether the newest segment holds nothing worth keeping (a crash while creating it): it is started again. */
export function needsRestart(scan: SegmentScan): boolean {
  return scan.version === 2 && scan.records === 0 && scan.validEnd <= SEGMENT_MAGIC.length && scan.damage.every((range) => range === scan.tail);
}
