import type { CheckReport } from './check.js';
import type { DirectionStats, ProxyStats } from './proxy.js';

const DIRECTION_COUNTS: readonly (keyof DirectionStats)[] = [
  'received',
  'forwarded',
  'dropped',
  'duplicated',
  'reordered',
  'delayed',
  'corrupted',
  'pending',
  'discarded',
];

/** Left column padded, the others right-aligned: a plain-text table. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ').trimEnd() + '\n').join('');
}

/** A table of the per-direction counts of one or more proxies, one column per proxy and direction. */
export function formatProxyStats(proxies: Readonly<Record<string, ProxyStats>>): string {
  const names = Object.keys(proxies);
  const header = ['', ...names.flatMap((name) => [`${name} ->target`, `${name} ->client`])];
  const rows = DIRECTION_COUNTS.map((count) => [
    count,
    ...names.flatMap((name) => {
      const stats = proxies[name] as ProxyStats;
      return [String(stats.toTarget[count]), String(stats.toClient[count])];
    }),
  ]);
  return formatTable([header, ...rows]);
}

/** A check report as a two-column table. */
export function formatCheckReport(report: CheckReport): string {
  const rows: [string, string][] = [
    ['messages', String(report.messages)],
    ['sent', String(report.sent)],
    ['delivered', String(report.delivered)],
    ['unique', String(report.unique)],
    ['lost', String(report.lost)],
    ['duplicated', String(report.duplicated)],
    ['corrupted', String(report.corrupted)],
    ['redelivered', String(report.redelivered)],
    ['foreign', String(report.foreign)],
    ['timed out', report.timedOut ? 'yes' : 'no'],
    ['seconds', report.seconds.toFixed(2)],
  ];
  return formatTable(rows);
}
