import type { SeqInterval } from './records.js';
import { inIntervals } from './records.js';

/** What the engine knows about one segment file without reading it again. */
export interface SegmentInfo {
  readonly id: number;
  /** The file's format: 1 (the 0.1 release, read only) or 2. */
  readonly version: 1 | 2;
  /** Bytes in the file. */
  size: number;
  /** CRC-32 of the file's bytes so far (kept for the active segment: its seal). */
  crc: number;
  /** Seqs appended in this segment and not removed yet. */
  readonly live: Set<number>;
  /**
   * Older segments this one holds removes (or cleared records) for. While such a segment
   * exists, deleting this one would bring its removed messages back, unless a cleared record
   * carries those removes forward first.
   */
  readonly removesInto: Set<number>;
  /**
   * Idempotency keys this segment records (its keyed appends, and keys carried into it), with
   * their enqueue times: deleting it must carry the ones still inside the dedup window forward.
   */
  readonly keys: string[];
  readonly keyTimes: number[];
}

/** Appended but not yet placed in a segment (its batch has not been cut). */
export const UNPLACED = -1;

/** An append waiting to be placed in a segment, as the ledger needs it. */
export interface PendingAppend {
  readonly seq: number;
  readonly key: string | undefined;
  readonly at: number;
}

/** A remove as the ledger recorded it: `from` is the segment that held the message (or UNPLACED). */
export interface PendingRemove {
  readonly seq: number;
  readonly from: number;
}

/**
 * Which segment holds each live message, and what each segment still holds live. Used in the
 * same way by recovery (replaying records) and by the running engine (mirroring what it writes).
 */
export class SegmentLedger {
  readonly segments = new Map<number, SegmentInfo>();
  private readonly segmentOfSeq = new Map<number, number>();

  addSegment(id: number, size: number, version: 1 | 2): SegmentInfo {
    const info: SegmentInfo = { id, version, size, crc: 0, live: new Set(), removesInto: new Set(), keys: [], keyTimes: [] };
    this.segments.set(id, info);
    return info;
  }

  /** Records an append in `segment` (UNPLACED until its batch is cut). */
  append(seq: number, segment: number): void {
    const previous = this.segmentOfSeq.get(seq);
    if (previous !== undefined) this.segments.get(previous)?.live.delete(seq);
    this.segmentOfSeq.set(seq, segment);
    this.segments.get(segment)?.live.add(seq);
  }

  /** Places appends made since the last cut into `segment`; removed ones are skipped (their records are written all the same). */
  place(appends: readonly PendingAppend[], segment: SegmentInfo): void {
    for (const { seq, key, at } of appends) {
      if (key !== undefined) addKey(segment, key, at);
      if (this.segmentOfSeq.get(seq) !== UNPLACED) continue;
      this.segmentOfSeq.set(seq, segment.id);
      segment.live.add(seq);
    }
  }

  /**
   * Undoes a batch that never reached the disk: its appends are forgotten (and the keys placed
   * with them, the last `keysPlaced` of `segment`) and its removes made live again.
   */
  unplace(appends: readonly PendingAppend[], removes: readonly PendingRemove[], segment: SegmentInfo, keysPlaced: number): void {
    for (const { seq } of appends) {
      if (this.segmentOfSeq.get(seq) !== segment.id) continue;
      this.segmentOfSeq.delete(seq);
      segment.live.delete(seq);
    }
    segment.keys.length -= keysPlaced;
    segment.keyTimes.length -= keysPlaced;
    for (const { seq, from } of removes) {
      const holder = this.segments.get(from);
      if (holder === undefined || this.segmentOfSeq.has(seq)) continue;
      this.segmentOfSeq.set(seq, from);
      holder.live.add(seq);
    }
  }

  /** Forgets a live message. Returns the segment that held it, UNPLACED, or undefined if not live. */
  remove(seq: number): number | undefined {
    const segment = this.segmentOfSeq.get(seq);
    if (segment === undefined) return undefined;
    this.segmentOfSeq.delete(seq);
    this.segments.get(segment)?.live.delete(seq);
    return segment;
  }

  /** Applies a cleared record: every live message of `segment` outside `keep` is removed. Returns them. */
  clear(segment: number, keep: readonly SeqInterval[]): number[] {
    const info = this.segments.get(segment);
    if (info === undefined) return [];
    const gone = [...info.live].filter((seq) => !inIntervals(seq, keep));
    for (const seq of gone) this.remove(seq);
    return gone;
  }

  /** Sealed segments (every one but `activeId`) with nothing live: safe to delete once their removes are carried forward. */
  reclaimable(activeId: number): SegmentInfo[] {
    return [...this.segments.values()].filter((info) => info.id !== activeId && info.live.size === 0).sort((a, b) => a.id - b.id);
  }

  /** Segments that `info`'s removes point into, other than itself, that still exist. */
  dependencies(info: SegmentInfo): SegmentInfo[] {
    const result: SegmentInfo[] = [];
    for (const id of info.removesInto) {
      const target = this.segments.get(id);
      if (target !== undefined && id !== info.id) result.push(target);
    }
    return result;
  }

  deleteSegment(id: number): void {
    this.segments.delete(id);
    for (const info of this.segments.values()) info.removesInto.delete(id);
  }
}

export function addKey(segment: SegmentInfo, key: string, at: number): void {
  segment.keys.push(key);
  segment.keyTimes.push(at);
}
