import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isAlive } from '@streampy/testing';

/*
 * The whole topology as real processes: two queue nodes, a passthrough worker and four fault
 * proxies, driven by scripts/chaos.mjs. Needs the mq, worker and chaos builds.
 */
const script = fileURLToPath(new URL('../../../scripts/chaos.mjs', import.meta.url));

interface ChaosReport {
  guarantee: string;
  sent: number;
  delivered: number;
  unique: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  held: boolean;
  proxies: Record<string, { toTarget: Record<string, number>; toClient: Record<string, number> } | undefined>;
  pids: Record<string, number>;
}

function chaos(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The script bounds itself (its deadline scales with --messages); this is a last resort.
    const timer = setTimeout(() => child.kill('SIGINT'), 170_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function lossyRun(guarantee: string, seed: number): Promise<{ code: number | null; report: ChaosReport }> {
  const { code, stdout, stderr } = await chaos(['--guarantee', guarantee, '--messages', '400', '--deadline-ms', '150000', '--drop', '0.2', '--dup', '0.1', '--reorder', '0.1', '--seed', String(seed), '--json']);
  expect(stderr).not.toMatch(/^chaos: /m);
  const report = JSON.parse(stdout) as ChaosReport;
  expect(report.guarantee).toBe(guarantee);
  expect(report.sent).toBe(400);
  // Every child stopped, by PID.
  expect(Object.keys(report.pids)).toHaveLength(7);
  expect(Object.values(report.pids).filter(isAlive)).toEqual([]);
  // Every link carried traffic through its proxy, and the faults really happened.
  const links = Object.values(report.proxies);
  expect(links).toHaveLength(4);
  for (const counts of links) expect(counts?.toTarget.received).toBeGreaterThan(0);
  const total = (count: string): number => links.reduce((sum, counts) => sum + (counts?.toTarget[count] ?? 0) + (counts?.toClient[count] ?? 0), 0);
  expect(total('dropped')).toBeGreaterThan(0);
  expect(total('duplicated')).toBeGreaterThan(0);
  expect(total('reordered')).toBeGreaterThan(0);
  return { code, report };
}

describe('pnpm chaos (scripts/chaos.mjs)', { timeout: 180_000 }, () => {
  it('at-least-once loses nothing at 20% drop, 10% dup, 10% reorder', async () => {
    const { code, report } = await lossyRun('at-least-once', 11);
    expect(report).toMatchObject({ lost: 0, unique: 400, held: true });
    expect(code).toBe(0);
  });

  it('exactly-once loses nothing and duplicates nothing under the same faults', async () => {
    const { code, report } = await lossyRun('exactly-once', 12);
    expect(report).toMatchObject({ lost: 0, duplicated: 0, unique: 400, delivered: 400, held: true });
    expect(code).toBe(0);
  });

  it('at-most-once reports its losses consistently', async () => {
    const { code, report } = await lossyRun('at-most-once', 13);
    expect(report.unique + report.lost).toBe(report.sent);
    expect(report.delivered).toBe(report.unique + report.duplicated + report.corrupted);
    expect(code).toBe(0);
  });

  it('exits 2 on a bad guarantee', async () => {
    const { code, stderr } = await chaos(['--guarantee', 'twice']);
    expect(code).toBe(2);
    expect(stderr).toContain('--guarantee must be');
  });
});
