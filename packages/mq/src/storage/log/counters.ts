/**
 * The log engine's counters and its logger, as plain types with no Node.js type in them: they
 * reach the package's public types (LogEngineStats), and a consumer type-checking without Node's
 * typings (TypeScript 6 loads none by default) must be able to read them.
 */
import type { LogFields } from '@streampy/runtime';

/** The I/O counters the active segment keeps up to date. */
export interface IoCounters {
  writes: number;
  bytesWritten: number;
  fsyncs: number;
}

/** Where the engine reports damage and I/O failures (the node's logger). */
export interface DamageLogger {
  error(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
}

/** Damage found at open(), for the engine's stats. */
export interface DamageCounters {
  /** Segments with damage of any kind (damaged records, torn tail, seal or format problems). */
  damagedSegments: number;
  /** Damaged byte ranges skipped inside segments (valid records after them were served). */
  damagedRanges: number;
  recordsSkipped: number;
  bytesSkipped: number;
  /** Bytes and records of a torn tail cut off the newest segment. */
  tailBytesCut: number;
  tailRecordsCut: number;
  /** Segments the log says must exist that do not. */
  missingSegments: number;
  /** Sealed segments without their seal or failing its checksum, misplaced or unreadable files. */
  segmentProblems: number;
}

export function emptyDamageCounters(): DamageCounters {
  return { damagedSegments: 0, damagedRanges: 0, recordsSkipped: 0, bytesSkipped: 0, tailBytesCut: 0, tailRecordsCut: 0, missingSegments: 0, segmentProblems: 0 };
}

/** Counters since open(); LogEngineStats in log.ts adds the disk figures. */
export interface WriterCounters extends DamageCounters, IoCounters {
  segmentsDeleted: number;
  /** Batches whose write or fsync failed (their flush() callers got ERR_STORAGE). */
  writeFailures: number;
  /** Timed fsyncs, segment rolls and reclaims that failed and are retried later. */
  syncFailures: number;
  rollFailures: number;
  reclaimFailures: number;
  /** Idempotency keys written forward when the segment holding them was deleted. */
  keysCarried: number;
}

