import { isStreampyError } from '@streampy/codec';
import { UsageError } from '@streampy/runtime';
import type { DataDirReport, SegmentDamage } from './storage/log.js';
import { verifyDataDir } from './storage/log.js';

/** One damage entry on one line: kind, file, byte range and records when known, and what it is. */
function damageLine(damage: SegmentDamage): string {
  const range = damage.start === undefined ? '' : ` bytes ${damage.start}-${damage.end ?? '?'}`;
  const records = damage.records === undefined ? '' : ` (${damage.records} record${damage.records === 1 ? '' : 's'})`;
  return `    ${damage.kind} ${damage.file}${range}${records}: ${damage.detail}`;
}

/** The report as people read it: one block per queue, then the verdict. */
export function formatReport(report: DataDirReport): string {
  const lines = [`data dir ${report.dir}: ${report.queues.length} queue${report.queues.length === 1 ? '' : 's'}`];
  for (const queue of report.queues) {
    lines.push(
      `  queue ${queue.queue}: ${queue.segments} segment${queue.segments === 1 ? '' : 's'} (${queue.bytes} bytes, format ${queue.formats.join(', ') || '-'}), ${queue.messages} messages, ${queue.keys} keys${queue.gapCheck === 'unavailable' ? ', missing segments not checkable (format 1 only)' : ''}`,
    );
    for (const damage of queue.damage) lines.push(damageLine(damage));
  }
  const torn = report.tornTails > 0 ? `; ${report.tornTails} torn tail${report.tornTails === 1 ? '' : 's'} (normal after a crash: cut at the next start)` : '';
  lines.push(report.damaged ? `DAMAGED${torn}` : `sound${torn}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `streampy-mq --verify --data-dir DIR [--json]`: reads the data dir without serving or
 * changing a byte and prints what a start would find. Exit 1 when it is damaged (a torn tail
 * alone is not damage), 0 otherwise, 2 when DIR cannot be read.
 */
export async function verifyCommand(dataDir: string | undefined, json: boolean): Promise<number> {
  if (dataDir === undefined) throw new UsageError('--verify needs --data-dir DIR');
  let report: DataDirReport;
  try {
    report = await verifyDataDir(dataDir);
  } catch (error) {
    if (!isStreampyError(error, 'ERR_BAD_OPTION')) throw error;
    process.stderr.write(`streampy-mq: ${error.message}\n`);
    return 2;
  }
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.damaged ? 1 : 0;
}
