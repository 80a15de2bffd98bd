/**
 * What open() does about damage found by scanQueueDir: report it at error level (file, byte
 * ranges, records skipped or cut), count it, and keep the segment's original bytes in
 * `<segment file>.damaged` before anything is cut. It never widens the damage: only a torn tail
 * of the newest segment is cut, and only once its copy is safe.
 */
import { open, readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DamageCounters, DamageLogger } from './counters.js';
import { describeError } from './errors.js';
import type { DamagedRange } from './format.js';
import type { QueueScan, SegmentReport } from './recover.js';
import { syncDirectory } from './files.js';


/** Copies of one segment kept at most; later damage to it is still reported and cut only with a copy. */
const MAX_COPIES = 10;

function describeRanges(ranges: readonly DamagedRange[]): string {
  return ranges.map((range) => `bytes ${range.start}-${range.end} (${range.records} record${range.records === 1 ? '' : 's'}: ${range.reason})`).join('; ');
}

/** Counts, copies and logs the damage of one scan. Returns whether the torn tail of the newest segment may be cut. */
export async function reportDamage(scan: QueueScan, counters: DamageCounters, logger: DamageLogger): Promise<{ readonly cutTail: boolean }> {
  let cutTail = false;
  for (const segment of scan.segments) {
    if (segment.damage.length === 0 && segment.problems.length === 0 && segment.tornTail === undefined) continue;
    counters.damagedSegments++;
    const copy = await keepCopy(segment, logger);
    if (segment.damage.length > 0 || segment.problems.length > 0) {
      const recordsSkipped = segment.damage.reduce((sum, range) => sum + range.records, 0);
      const bytesSkipped = segment.damage.reduce((sum, range) => sum + range.end - range.start, 0);
      counters.damagedRanges += segment.damage.length;
      counters.recordsSkipped += recordsSkipped;
      counters.bytesSkipped += bytesSkipped;
      counters.segmentProblems += segment.problems.length;
      logger.error('log segment damaged; serving every valid record around the damage', {
        file: segment.file,
        ranges: describeRanges(segment.damage),
        recordsSkipped,
        bytesSkipped,
        recordsServed: segment.records,
        ...(segment.problems.length > 0 ? { problems: segment.problems.join('; ') } : {}),
        copy: copy ?? 'none',
      });
    }
    const tail = segment.tornTail;
    if (tail !== undefined) {
      cutTail = copy !== undefined;
      counters.tailBytesCut += cutTail ? tail.end - tail.start : 0;
      counters.tailRecordsCut += cutTail ? tail.records : 0;
      logger.error(cutTail ? 'log segment ends in a torn write; cutting it' : 'log segment ends in a torn write; no copy could be kept, so it is left in place', {
        file: segment.file,
        range: `bytes ${tail.start}-${tail.end}`,
        recordsCut: cutTail ? tail.records : 0,
        reason: tail.reason,
        copy: copy ?? 'none',
      });
    }
  }
  if (scan.missing.length > 0) {
    counters.missingSegments += scan.missing.length;
    logger.error('log segments missing; serving the rest of the queue (their messages are lost, messages they removed may come back)', {
      dir: scan.dir,
      missing: scan.missing.map((id) => `${String(id).padStart(16, '0')}.seg`).join(', '),
    });
  }
  return { cutTail };
}

/**
 * Keeps the segment's bytes as they are now in `<file>.damaged` (or `.damaged.2`, ...), unless an
 * earlier copy already holds them (the file only grew since). Returns the copy's name, or
 * undefined when none could be kept.
 */
async function keepCopy(segment: SegmentReport, logger: DamageLogger): Promise<string | undefined> {
  // A whole-segment problem needs the whole file; damaged ranges need the bytes up to their end.
  const ends = [...segment.damage, ...(segment.tornTail === undefined ? [] : [segment.tornTail])].map((range) => range.end);
  const needed = segment.problems.length > 0 ? segment.size : Math.max(0, ...ends);
  try {
    const bytes = await readFile(segment.file);
    for (let n = 1; n <= MAX_COPIES; n++) {
      const name = n === 1 ? `${segment.file}.damaged` : `${segment.file}.damaged.${n}`;
      const earlier = await readFile(name).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (earlier === undefined) {
        await writeDurably(name, bytes);
        return basename(name);
      }
      if (earlier.length >= needed && earlier.length <= bytes.length && bytes.subarray(0, earlier.length).equals(earlier)) return basename(name);
    }
    logger.error('log segment copies: too many kept already; not keeping another', { file: segment.file, max: MAX_COPIES });
  } catch (error) {
    logger.error('log segment copy failed', { file: segment.file, error: describeError(error) });
  }
  return undefined;
}

async function writeDurably(file: string, bytes: Buffer): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dirname(file));
}
