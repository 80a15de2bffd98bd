import { mkdir, readFile, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredMessage } from '../engine.js';
import { LogCorruptionError } from './errors.js';
import type { LogRecord, ScanStop } from './format.js';
import { SEGMENT_MAGIC, scanSegment, segmentFileName, segmentIdOf } from './format.js';
import type { SegmentInfo } from './ledger.js';
import { SegmentLedger } from './ledger.js';

export interface ReplayedLog {
  readonly ledger: SegmentLedger;
  /** Live messages by seq, in the order they were appended. */
  readonly messages: Map<number, StoredMessage>;
  readonly keys: Map<string, number>;
  /** Above every seq ever appended, as far as the log still shows. */
  readonly seqFloor: number;
  /** The last segment (where appends continue), if any exists. */
  readonly lastSegment: SegmentInfo | undefined;
  /** The torn or corrupt tail cut off the last segment, if there was one. */
  readonly cutTail: (ScanStop & { readonly file: string; readonly bytesCut: number }) | undefined;
}

/** Reads every segment of `dir` in order and rebuilds the state they describe. */
export async function replayLog(dir: string): Promise<ReplayedLog> {
  await mkdir(dir, { recursive: true });
  const ids = (await readdir(dir))
    .map(segmentIdOf)
    .filter((id): id is number => id !== undefined)
    .sort((a, b) => a - b);
  const ledger = new SegmentLedger();
  const messages = new Map<number, StoredMessage>();
  const keys = new Map<string, number>();
  let seqFloor = 0;
  let lastSegment: SegmentInfo | undefined;
  let cutTail: ReplayedLog['cutTail'];

  const apply = (segment: SegmentInfo, record: LogRecord): void => {
    switch (record.type) {
      case 'append': {
        const { message } = record;
        ledger.append(message.seq, segment.id);
        messages.set(message.seq, message);
        if (message.key !== undefined) keys.set(message.key, message.enqueuedAt);
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
        seqFloor = Math.max(seqFloor, record.nextSeq);
        break;
    }
  };

  for (const [index, id] of ids.entries()) {
    const file = join(dir, segmentFileName(id));
    const bytes = await readFile(file);
    const segment = ledger.addSegment(id, bytes.length);
    const stop = scanSegment(bytes, (record) => apply(segment, record));
    segment.removesInto.delete(id);
    lastSegment = segment;
    if (stop === undefined) continue;
    const isLast = index === ids.length - 1;
    // A crash can only tear the end of the segment being written. Anything else, or a last
    // segment whose complete header is wrong, is damage we must not paper over.
    const torn = isLast && !(stop.offset === 0 && bytes.length >= SEGMENT_MAGIC.length);
    if (!torn) throw new LogCorruptionError(file, stop.offset, stop.reason);
    const keptBytes = stop.offset < SEGMENT_MAGIC.length ? 0 : stop.offset;
    await truncate(file, keptBytes);
    segment.size = keptBytes;
    cutTail = { ...stop, file, bytesCut: bytes.length - keptBytes };
  }
  return { ledger, messages, keys, seqFloor, lastSegment, cutTail };
}
