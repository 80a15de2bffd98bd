import type { SeqInterval } from './format.js';
import { inIntervals } from './format.js';

/** What the engine knows about one segment file without reading it again. */
export interface SegmentInfo {
  readonly id: number;
  /** Bytes in the file (valid records only). */
  size: number;
  /** Seqs appended in this segment and not removed yet. */
  readonly live: Set<number>;
  /**
   * Older segments this one holds removes (or cleared records) for. While such a segment
   * exists, deleting this one would bring its removed messages back, unless a cleared record
   * carries those removes forward first.
   */
  readonly removesInto: Set<number>;
}

/** Appended but not yet placed in a segment (its batch has not been cut). */
export const UNPLACED = -1;

/**
 * Which segment holds each live message, and what each segment still holds live. Used in the
 * same way by recovery (replaying records) and by the running engine (mirroring what it writes).
 */
export class SegmentLedger {
  readonly segments = new Map<number, SegmentInfo>();
  private readonly segmentOfSeq = new Map<number, number>();

  addSegment(id: number, size: number): SegmentInfo {
    const info: SegmentInfo = { id, size, live: new Set(), removesInto: new Set() };
    this.segments.set(id, info);
    return info;
  }

  isLive(seq: number): boolean {
    return this.segmentOfSeq.has(seq);
  }

  /** Records an append in `segment` (UNPLACED until its batch is cut). */
  append(seq: number, segment: number): void {
    const previous = this.segmentOfSeq.get(seq);
    if (previous !== undefined) this.segments.get(previous)?.live.delete(seq);
    this.segmentOfSeq.set(seq, segment);
    this.segments.get(segment)?.live.add(seq);
  }

  /** Places appends made since the last cut into `segment`; removed ones are skipped. */
  place(seqs: readonly number[], segment: SegmentInfo): void {
    for (const seq of seqs) {
      if (this.segmentOfSeq.get(seq) !== UNPLACED) continue;
      this.segmentOfSeq.set(seq, segment.id);
      segment.live.add(seq);
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
