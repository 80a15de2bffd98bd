import type { CheckReport } from './check.js';

export type Guarantee = 'at-most-once' | 'at-least-once' | 'exactly-once';

export const GUARANTEES: readonly Guarantee[] = ['at-most-once', 'at-least-once', 'exactly-once'];

export function isGuarantee(value: string): value is Guarantee {
  return (GUARANTEES as readonly string[]).includes(value);
}

export interface Verdict {
  readonly guarantee: Guarantee;
  /** What the guarantee promises, in words. */
  readonly promise: string;
  readonly held: boolean;
  /** Why it held or not. */
  readonly detail: string;
}

/**
 * Whether a check report keeps a guarantee's promise. At-most-once promises no redelivery of a
 * message taken, not that nothing is lost or that a network never duplicates a datagram, so
 * nothing in the counts can refute it: its verdict reports and always holds.
 */
export function judge(guarantee: Guarantee, report: CheckReport): Verdict {
  const counts = `lost ${report.lost}, duplicated ${report.duplicated}, corrupted ${report.corrupted}`;
  const incomplete = report.sent < report.messages ? ` (only ${report.sent} of ${report.messages} sent were acknowledged)` : '';
  switch (guarantee) {
    case 'at-most-once':
      return { guarantee, promise: 'nothing is redelivered; losses are allowed', held: true, detail: `${counts}: reported, not judged${incomplete}` };
    case 'at-least-once': {
      const held = report.lost === 0 && report.sent === report.messages;
      return { guarantee, promise: 'nothing is lost; duplicates are allowed', held, detail: `${counts}${incomplete}` };
    }
    case 'exactly-once': {
      const held = report.lost === 0 && report.duplicated === 0 && report.sent === report.messages;
      return { guarantee, promise: 'nothing is lost and nothing is duplicated', held, detail: `${counts}${incomplete}` };
    }
  }
}
