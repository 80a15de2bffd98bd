import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { requestStop } from '@streampy/runtime';
import { isAlive, launch, waitFor, type Running } from '@streampy/testing';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Generous: the machine is shared; a run that takes this long is broken, not slow. */
const RUN_DEADLINE_MS = 25_000;

interface Summary {
  rounds: number;
  seconds: number;
  roundsPerSecond: number;
  ballsSeeded: number;
  ballsAtEnd: number;
  guarantee: string;
  faults: unknown;
  pids: number[];
}

/** Every process a test started or learned of, killed by PID after each test if still alive. */
const started = new Set<number>();

afterEach(() => {
  for (const pid of started) {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  started.clear();
});

function demo(args: string[], ipc = false): Running {
  return launch(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, deadlineMs: RUN_DEADLINE_MS, track: (pid) => started.add(pid), ipc });
}

/** The JSON summary: the last stdout line that is an object (pnpm prints its own lines first). */
function summaryOf(stdout: string): Summary {
  const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`no JSON summary in stdout: ${stdout.slice(-1000)}`);
  return JSON.parse(line) as Summary;
}

/** The demo waits for its children's exits, so they must be gone the moment it has exited. */
function expectAllDead(pids: readonly number[]): void {
  for (const pid of pids) started.add(pid);
  expect(pids.filter(isAlive)).toEqual([]);
}

async function expectConservedRun(args: string[], balls: number, processes = 2): Promise<Summary> {
  const run = await demo([...args, '--json']).finished;
  expect(run.stderr).not.toMatch(/"level":"(warn|error)"/);
  expect(run.code, run.stderr).toBe(0);
  const summary = summaryOf(run.stdout);
  // The queue node and the worker, and a fault proxy per edge of the loop when faulty.
  expect(summary.pids).toHaveLength(processes);
  expectAllDead(summary.pids);
  expect(summary.rounds).toBeGreaterThan(0);
  expect(summary.ballsSeeded).toBe(balls);
  expect(summary.ballsAtEnd).toBe(balls);
  return summary;
}

describe('pong-demo, as a real process with a real queue node and worker', () => {
  it('plays for --duration and conserves its ball without faults', async () => {
    const summary = await expectConservedRun(['--duration', '3'], 1);
    expect(summary.guarantee).toBe('at-least-once');
    expect(summary.faults).toBeNull();
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.roundsPerSecond).toBeGreaterThan(0);
  });

  it("runs through pnpm's start script with pnpm's literal -- in argv", async () => {
    const run = await launch('pnpm', ['--filter', 'pong-demo', 'start', '--', '--duration', '2', '--json'], { cwd: REPO_ROOT, deadlineMs: RUN_DEADLINE_MS, track: (pid) => started.add(pid) }).finished;
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run.stdout);
    expectAllDead(summary.pids);
    expect(summary.rounds).toBeGreaterThan(0);
    expect(summary.ballsAtEnd).toBe(summary.ballsSeeded);
  });

  it('conserves 3 balls', async () => {
    await expectConservedRun(['--duration', '2', '--balls', '3'], 3);
  });

  it('conserves the balls under exactly-once through a proxy that drops and duplicates', async () => {
    const summary = await expectConservedRun(['--duration', '3', '--balls', '2', '--guarantee', 'exactly-once', '--drop', '0.1', '--dup', '0.1', '--seed', '7'], 2, 4);
    expect(summary.faults).toMatchObject({ drop: 0.1, duplicate: 0.1, seed: 7 });
    const proxy = (summary.faults as { proxy: { toTarget: { dropped: number; duplicated: number }; toClient: { dropped: number } } }).proxy;
    // The faults really happened: otherwise conservation would prove nothing.
    expect(proxy.toTarget.dropped + proxy.toClient.dropped).toBeGreaterThan(0);
    expect(proxy.toTarget.duplicated).toBeGreaterThan(0);
  });

  // Stopped two ways: the IPC stop message (every OS; how streampy-run or a test stops it), and
  // Ctrl-C (where signals exist).
  it('stops itself and every child on the IPC stop message mid-run, exit 0, balls conserved', () => stopMidRun('message'));
  it.skipIf(process.platform === 'win32')('stops itself and every child on SIGINT mid-run, exit 0, balls conserved', () => stopMidRun('SIGINT'));

  async function stopMidRun(how: 'message' | 'SIGINT'): Promise<void> {
    const run = demo([], how === 'message');
    // Plain progress lines (stdout is no TTY): wait until rounds are being played.
    await waitFor(() => /rounds=[1-9]/.test(run.stdout()), { what: 'a progress line with rounds played', timeoutMs: RUN_DEADLINE_MS });
    const seeded = /"event":"balls seeded".*?"queue":(\d+),"worker":(\d+)/.exec(run.stderr());
    expect(seeded, run.stderr()).not.toBeNull();
    const pids = [Number(seeded?.[1]), Number(seeded?.[2])];
    for (const pid of pids) started.add(pid);
    expect(pids.every(isAlive)).toBe(true);
    if (how === 'message') expect(requestStop(run.process)).toBe(true);
    else run.process.kill('SIGINT');
    const finished = await run.finished;
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stderr).toMatch(new RegExp(`"event":"stopping","reason":"${how}"`));
    expect(finished.stdout).toMatch(/balls: 1 seeded, 1 at the end: conserved/);
    expectAllDead(pids);
  }

  it('fails with exit 1 when the worker dies mid-run, and stops the queue node too', async () => {
    const run = demo(['--json']);
    await waitFor(() => run.stderr().includes('"event":"balls seeded"'), { what: 'the balls to be seeded', timeoutMs: RUN_DEADLINE_MS });
    const seeded = /"queue":(\d+),"worker":(\d+)/.exec(run.stderr());
    const [queue, worker] = [Number(seeded?.[1]), Number(seeded?.[2])];
    started.add(queue).add(worker);
    process.kill(worker, 'SIGKILL');
    const finished = await run.finished;
    expect(finished.code).toBe(1);
    expect(finished.stdout).toBe('');
    expect(finished.stderr).toMatch(/pong-demo: pong worker \(pid \d+\) exited unexpectedly \(signal SIGKILL\)/);
    expectAllDead([queue, worker]);
  });

  it('prints help with exit 0 and rejects a bad flag with exit 2', async () => {
    const help = await demo(['--help']).finished;
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pong-demo/);
    const bad = await demo(['--bogus']).finished;
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^pong-demo: .*bogus/);
    const badValue = await demo(['--', '--guarantee', 'twice']).finished;
    expect(badValue.code).toBe(2);
  });
});
