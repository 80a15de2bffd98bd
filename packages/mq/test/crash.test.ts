import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runJsonScript } from '@streampy/testing';

const CRASH_CHECK = fileURLToPath(new URL('../scripts/crash-check.mjs', import.meta.url));
const SOAK = fileURLToPath(new URL('../scripts/soak.mjs', import.meta.url));

interface CrashSummary {
  readonly cycles: number;
  readonly sent: number;
  readonly accepted: number;
  readonly recovered: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly unackedRecovered: number;
  readonly orderViolations: number;
  readonly garbage: number;
}

interface SoakSummary {
  readonly cycles: number;
  readonly acknowledged: number;
  readonly consumed: number;
  readonly lost: number;
  readonly lostBeyondUnansweredGets: number;
  readonly duplicated: number;
  readonly resurrected: number;
  readonly vanished: number;
  readonly garbage: number;
}

// The scripts run the real CLI (dist/cli.js: build first); SIGTERM at the deadline lets them
// SIGKILL the node they run before they exit.
describe('durable node under SIGKILL', () => {
  it(
    "--fsync always: every acknowledged put survives 20 kills, exactly once and in order",
    async () => {
      const { code, result: summary, stderr } = await runJsonScript<CrashSummary>(CRASH_CHECK, ['--json', '--cycles', '20', '--fsync', 'always', '--seed', '20261127', '--max-load-ms', '150'], 150_000);
      expect(stderr).toBe('');
      expect(summary.cycles).toBe(20);
      expect(summary.accepted).toBeGreaterThan(20);
      expect(summary.lost).toBe(0);
      expect(summary.recovered).toBe(summary.accepted);
      expect(summary.duplicated).toBe(0);
      expect(summary.orderViolations).toBe(0);
      expect(summary.garbage).toBe(0);
      // Only puts that were sent can come back unacknowledged, at most those in flight per kill.
      expect(summary.unackedRecovered).toBeLessThanOrEqual(summary.sent - summary.accepted);
      expect(code).toBe(0);
    },
    180_000,
  );

  it(
    '--fsync always under PUT, GET and RESERVE/ACK at once: nothing lost beyond GETs in flight, nothing duplicated, resurrected or vanished',
    async () => {
      const { code, result: summary, stderr } = await runJsonScript<SoakSummary>(SOAK, ['--json', '--cycles', '10', '--fsync', 'always', '--seed', '11', '--max-seconds', '120'], 170_000);
      expect(stderr).toBe('');
      expect(summary.cycles).toBe(10);
      expect(summary.acknowledged).toBeGreaterThan(20);
      expect(summary.consumed).toBeGreaterThanOrEqual(summary.acknowledged - summary.lost);
      // A GET in flight at the kill may take its message along (at-most-once); one per kill at most.
      expect(summary.lost).toBeLessThanOrEqual(summary.cycles);
      expect(summary.lostBeyondUnansweredGets).toBe(0);
      expect(summary.duplicated).toBe(0);
      expect(summary.resurrected).toBe(0);
      expect(summary.vanished).toBe(0);
      expect(summary.garbage).toBe(0);
      expect(code).toBe(0);
    },
    180_000,
  );
});
