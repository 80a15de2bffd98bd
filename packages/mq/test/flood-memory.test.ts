import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runJsonScript } from '@streampy/testing';
import { rssSlackFor } from '../src/index.js';

const FLOOD = fileURLToPath(new URL('../scripts/flood.mjs', import.meta.url));

interface Phase {
  readonly datagrams: number;
  readonly accepted: number;
  readonly refusedFull: number;
  readonly otherReplies: number;
  readonly other: readonly string[];
  readonly memory?: { readonly limit: number; readonly used: number; readonly refused: number };
}

interface FloodFigures {
  readonly budget: number;
  readonly slack: number;
  readonly peakRss: number;
  readonly puts: Phase;
  readonly drained: number;
  readonly keyed: Phase;
  readonly alive: boolean;
  readonly exit: { readonly code: number | null; readonly signal: string | null } | string;
  readonly withinBudget: boolean;
  readonly onlyFull: boolean;
}

describe('flood: the node-wide memory budget against hostile clients', () => {
  it('keeps a node alive, serving and within its budget plus slack under full-size and keyed PUT floods over 60 queues', async () => {
    const budget = 48 * 1024 * 1024;
    const { code, result: figures, stderr } = await runJsonScript<FloodFigures>(FLOOD, ['--put-ms', '2500', '--keyed-ms', '2000', '--sockets', '4', '--queues', '60', '--max-memory', String(budget)], 90_000);
    expect(stderr).toBe('');
    expect(figures.budget).toBe(budget);
    expect(figures.slack).toBe(rssSlackFor(budget));
    // The floods went beyond the budget: puts were taken up to it, then refused, every refusal ERR FULL.
    expect(figures.puts.accepted).toBeGreaterThan(100);
    expect(figures.puts.refusedFull).toBeGreaterThan(100);
    expect(figures.puts.memory?.used).toBeLessThanOrEqual(budget);
    expect(figures.keyed.accepted).toBeGreaterThan(1_000);
    expect(figures.keyed.refusedFull).toBeGreaterThan(1_000);
    expect(figures.keyed.memory?.used).toBeLessThanOrEqual(budget);
    expect([figures.puts.other, figures.keyed.other]).toEqual([[], []]);
    expect(figures.onlyFull).toBe(true);
    // It served a GET drain between the floods and a SIZE and STATS after them, and stopped cleanly.
    expect(figures.drained).toBeGreaterThanOrEqual(figures.puts.accepted);
    expect(figures.alive).toBe(true);
    expect(figures.exit).toEqual({ code: 0, signal: null });
    expect(figures.peakRss).toBeLessThanOrEqual(budget + rssSlackFor(budget));
    expect(figures.withinBudget).toBe(true);
    expect(code).toBe(0);
  }, 120_000);
});
