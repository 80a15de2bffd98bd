import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requestStop } from '@streampy/runtime';
import { waitFor } from '@streampy/testing';
import { isAlive, jsonLines, killLeftovers, pids, run, topologyFile } from './processes.js';

afterEach(killLeftovers);

const PONG = `queues:
  court:
    initial-messages: [ping]
workers:
  pong: { function: pong, inputs: [court], outputs: [court], lease-ms: 1000 }
`;

interface Ready {
  queues: Record<string, { address: string; pid: number; metrics: string | null }>;
  workers: Record<string, { pid: number; metrics: string | null }[]>;
  web: string | null;
}

interface Summary {
  pids: number[];
  restarts: number;
  queues: Record<string, { puts: number; ready: number; leased: number }>;
  workers: Record<string, { processed: number }[]>;
}

describe('streampy-run as a process', () => {
  // The same run stopped two ways: the IPC stop message (every OS), and Ctrl-C (where signals exist).
  it('starts every process, prints the ready line, and on the IPC stop message stops them all (workers first), exit 0', () => runAndStop('message'));
  it.skipIf(process.platform === 'win32')('starts every process, prints the ready line, and on SIGINT stops them all (workers first), exit 0', () => runAndStop('SIGINT'));

  async function runAndStop(how: 'message' | 'SIGINT'): Promise<void> {
    const file = topologyFile(PONG);
    const running = run([file, '--json'], 90_000, how === 'message');
    await waitFor(() => jsonLines(running.stdout()).get('ready'), { what: 'the ready line', timeoutMs: 30_000 });
    const ready = jsonLines(running.stdout()).get('ready') as unknown as Ready;
    expect(ready.queues.court?.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(ready.queues.court?.address.endsWith(':0')).toBe(false);
    expect(ready.web).toBeNull();
    const started = [ready.queues.court?.pid as number, ...(ready.workers.pong ?? []).map((replica) => replica.pid)];
    expect(started).toHaveLength(2);
    for (const pid of started) pids.add(pid);
    expect(started.every(isAlive)).toBe(true);
    if (how === 'message') expect(requestStop(running.process)).toBe(true);
    else running.process.kill('SIGINT');
    const finished = await running.finished;
    expect(finished.code, finished.stderr).toBe(0);
    const summary = jsonLines(finished.stdout).get('summary') as unknown as Summary;
    expect(summary.pids.sort()).toEqual([...started].sort());
    expect(summary.pids.filter(isAlive)).toEqual([]);
    // The worker stopped first and put its ball back: the queue holds it, nothing leased.
    expect(summary.queues.court).toMatchObject({ ready: 1, leased: 0 });
    expect(summary.queues.court?.puts).toBeGreaterThan(1);
    expect(summary.workers.pong?.[0]?.processed).toBeGreaterThan(0);
    expect(summary.restarts).toBe(0);
  }

  it('leaves no child behind when the runner itself is killed (SIGKILL): their IPC channel closes and they stop', async () => {
    const running = run([topologyFile(PONG), '--json']);
    await waitFor(() => jsonLines(running.stdout()).get('ready'), { what: 'the ready line', timeoutMs: 30_000 });
    const ready = jsonLines(running.stdout()).get('ready') as unknown as Ready;
    const started = [ready.queues.court?.pid as number, ...(ready.workers.pong ?? []).map((replica) => replica.pid)];
    for (const pid of started) pids.add(pid);
    expect(started.every(isAlive)).toBe(true);
    // Nothing of the runner runs after SIGKILL: no exit handler, no stop in order.
    running.process.kill('SIGKILL');
    expect((await running.finished).signal).toBe('SIGKILL');
    await waitFor(() => !started.some(isAlive), { what: 'the orphaned children to stop', timeoutMs: 30_000 });
  });

  it('stops by itself after --duration and prints where each process listens', async () => {
    const finished = await run([topologyFile(PONG), '--duration', '1']).finished;
    expect(finished.code, finished.stderr).toBe(0);
    expect(finished.stdout).toMatch(/^streampy-run: topology ready in \d+\.\d s$/m);
    expect(finished.stdout).toMatch(/^ {2}queue {2}court {2}127\.0\.0\.1:\d+ {2}pid \d+/m);
    expect(finished.stdout).toMatch(/^ {2}worker pong {2}pid \d+/m);
    expect(finished.stdout).toMatch(/^streampy-run: topology stopped after \d+\.\d s; 0 restarts$/m);
  });

  it('exits 2 listing every problem of a bad file, and --validate accepts a good one', async () => {
    const bad = await run([topologyFile('queues:\n  q: { max-messages: lots }\nworkers:\n  w: { function: pong, inputs: [q], outputs: [nowhere] }\n')]).finished;
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^streampy-run: .*topology\.yaml:2: queues\.q\.max-messages: must be an integer >= 1, got "lots"$/m);
    const good = await run([topologyFile(PONG), '--validate']).finished;
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/topology\.yaml: ok \(1 queues, 1 workers, 0 faulty edges\)/);
    const usage = await run(['--check', 'x']).finished;
    expect(usage.code).toBe(2);
  });

  it('fails to start with exit 1 when a process cannot start, and leaves none behind', async () => {
    const file = topologyFile('queues:\n  q: {}\nworkers:\n  w: { function: ./broken.mjs, inputs: [q], outputs: [q] }\n');
    writeFileSync(join(dirname(file), 'broken.mjs'), 'export const notAFunction = 1;\n');
    const finished = await run([file, '--json', '--log-level', 'info']).finished;
    expect(finished.code).toBe(1);
    expect(finished.stderr).toMatch(/streampy-run: worker w exited before it was ready \(exit code 2\)/);
    const queuePid = Number(/"event":"queue ready".*?"pid":(\d+)/.exec(finished.stderr)?.[1]);
    expect(queuePid).toBeGreaterThan(0);
    pids.add(queuePid);
    expect(isAlive(queuePid)).toBe(false);
  });
});
