/**
 * `verifyDataDir`: what open() would find in a data dir, reported without serving or changing
 * anything (no copy, no cut, no new segment). `streampy-mq --verify --data-dir DIR` prints it.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { MqError } from '../../errors.js';
import { segmentFileName, segmentIdOf } from './format.js';
import type { QueueScan } from './recover.js';
import { scanQueueDir } from './recover.js';

export interface SegmentDamage {
  /** The segment file (a path inside the data dir). */
  readonly file: string;
  /**
   * `records`: a damaged byte range whose records are skipped (every valid record around it is
   * served); `torn-tail`: the end of the newest segment, a torn write, cut at the next start;
   * `segment`: a whole-segment problem (no seal, seal checksum, misplaced or unknown file);
   * `missing`: a segment the log says must exist is gone.
   */
  readonly kind: 'records' | 'torn-tail' | 'segment' | 'missing';
  readonly start?: number;
  readonly end?: number;
  /** Records the range held (at least; a damaged boundary can merge two). */
  readonly records?: number;
  readonly detail: string;
}

export interface QueueVerifyReport {
  readonly queue: string;
  readonly dir: string;
  readonly segments: number;
  readonly bytes: number;
  /** Formats of the segments present (1: the 0.1 release, 2: current). */
  readonly formats: readonly number[];
  /** Live messages and idempotency keys a start would recover. */
  readonly messages: number;
  readonly keys: number;
  readonly damage: readonly SegmentDamage[];
  /** Whether missing segments could be looked for (a log written only by 0.1 does not say which exist). */
  readonly gapCheck: 'checked' | 'unavailable';
  /** True for any damage but a torn tail. */
  readonly damaged: boolean;
}

export interface DataDirReport {
  readonly dir: string;
  readonly queues: readonly QueueVerifyReport[];
  /** True when any queue has damage other than a torn tail: `--verify` exits 1. */
  readonly damaged: boolean;
  /** Torn tails found (normal after a crash: only unacknowledged or, after a power loss, unsynced records). */
  readonly tornTails: number;
}

/**
 * Reads every queue of a data dir (`DIR/<queue>/`, or DIR itself when it holds segments) and
 * reports what is damaged, missing or torn. Throws `ERR_BAD_OPTION` when DIR is not a directory.
 */
export async function verifyDataDir(dir: string): Promise<DataDirReport> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new MqError('ERR_BAD_OPTION', `cannot read data dir ${dir}: ${(error as Error).message}`, { cause: error });
  }
  const queueDirs: string[] = [];
  if (entries.some((entry) => entry.isFile() && segmentIdOf(entry.name) !== undefined)) queueDirs.push(dir);
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const names = await readdir(join(dir, entry.name));
    if (names.some((name) => segmentIdOf(name) !== undefined)) queueDirs.push(join(dir, entry.name));
  }
  const queues: QueueVerifyReport[] = [];
  for (const queueDir of queueDirs) queues.push(verifyQueue(queueDir === dir ? '.' : basename(queueDir), await scanQueueDir(queueDir)));
  const tornTails = queues.reduce((sum, queue) => sum + queue.damage.filter((damage) => damage.kind === 'torn-tail').length, 0);
  return { dir, queues, damaged: queues.some((queue) => queue.damaged), tornTails };
}

function verifyQueue(queue: string, scan: QueueScan): QueueVerifyReport {
  const damage: SegmentDamage[] = [];
  let bytes = 0;
  for (const segment of scan.segments) {
    bytes += segment.size;
    for (const range of segment.damage) damage.push({ file: segment.file, kind: 'records', start: range.start, end: range.end, records: range.records, detail: range.reason });
    for (const problem of segment.problems) damage.push({ file: segment.file, kind: 'segment', detail: problem });
    const tail = segment.tornTail;
    if (tail !== undefined) damage.push({ file: segment.file, kind: 'torn-tail', start: tail.start, end: tail.end, records: tail.records, detail: tail.reason });
  }
  for (const id of scan.missing) damage.push({ file: join(scan.dir, segmentFileName(id)), kind: 'missing', detail: 'the log says this segment exists; it does not' });
  return {
    queue,
    dir: scan.dir,
    segments: scan.segments.length,
    bytes,
    formats: [...new Set(scan.segments.map((segment) => segment.version).filter((version) => version !== undefined))].sort(),
    messages: scan.messages.size,
    keys: scan.keys.size,
    damage,
    gapCheck: scan.gapCheck,
    damaged: damage.some((entry) => entry.kind !== 'torn-tail'),
  };
}
