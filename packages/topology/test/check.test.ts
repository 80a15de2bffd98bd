import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requestStop } from '@streampy/runtime';
import { waitFor } from '@streampy/testing';
import { TopologyError, checkTopology, loadTopology, startTopology, type RunningTopology } from '../src/index.js';
import { isAlive, jsonLines, killLeftovers, pids, run, topologyFile } from './processes.js';

const stops: RunningTopology[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((running) => running.stop()));
  killLeftovers();
});

async function start(text: string): Promise<RunningTopology> {
  const running = await startTopology(await loadTopology(topologyFile(text)), { sampleIntervalMs: 100, childLog: () => {}, track: (child) => pids.add(child.pid) });
  stops.push(running);
  return running;
}

interface CheckLine {
  source: string;
  sink: string;
  promised: string;
  held: boolean;
  messages: number;
  sent: number;
  lost: number;
  duplicated: number;
  corrupted: number;
}

describe('--check on a running topology', () => {
  it('still holds when a worker and a durable queue are killed with SIGKILL mid-check', async () => {
    const running = await start(`queues:
  source: { data-dir: ./source, fsync: always }
  middle: { data-dir: ./middle, fsync: always }
  sink: { data-dir: ./sink, fsync: always }
workers:
  first: { function: passthrough, inputs: [source], outputs: [middle], guarantee: exactly-once, lease-ms: 2000, timeout-ms: 200 }
  second: { function: passthrough, inputs: [middle], outputs: [sink], guarantee: exactly-once, lease-ms: 2000, timeout-ms: 200, replicas: 2 }
`);
    const checking = checkTopology(running, { messages: 3000 });
    const moved = async (queue: string, atLeast: number): Promise<boolean> => ((await running.sample()).queues.find((view) => view.name === queue)?.putsPerSecond ?? 0) > 0 && (running.snapshots.stats(queue)?.queues.default?.puts ?? 0) >= atLeast;
    await waitFor(() => moved('sink', 200), { what: 'messages reaching the sink', timeoutMs: 30_000 });
    const worker = running.process('worker', 'second', 1);
    process.kill(worker.pid as number, 'SIGKILL');
    await waitFor(() => worker.restarts === 1 && worker.status === 'running', { what: 'the worker restarted', timeoutMs: 20_000 });
    const middle = running.process('queue', 'middle');
    process.kill(middle.pid as number, 'SIGKILL');
    await waitFor(() => middle.restarts === 1 && middle.status === 'running', { what: 'the middle queue restarted', timeoutMs: 20_000 });
    const result = await checking;
    expect(result).toMatchObject({ source: 'source', sink: 'sink', promised: 'exactly-once' });
    expect(result.report).toMatchObject({ messages: 3000, sent: 3000, lost: 0, duplicated: 0, corrupted: 0, timedOut: false });
    expect(result.verdict.held).toBe(true);
    const summary = await running.stop();
    expect(summary.restarts).toBe(2);
    expect(summary.pids.filter(isAlive)).toEqual([]);
  });

  it('needs one source and one sink, or names them', async () => {
    const running = await start('queues:\n  a: {}\n  b: {}\n');
    await expect(checkTopology(running, { messages: 1 })).rejects.toThrow(TopologyError);
    await expect(checkTopology(running, { messages: 1 })).rejects.toThrow('--check needs one source (a queue no worker writes to); this topology has 2: a, b');
    const result = await checkTopology(running, { messages: 50, source: 'b', sink: 'b' });
    expect(result.report).toMatchObject({ sent: 50, unique: 50, lost: 0 });
    expect(result.promised).toBe('exactly-once');
  });

  it('exits 1 when the edges promised more than the run kept', async () => {
    // A function that drops every odd message: the edges promise at-least-once, the sink sees half.
    const file = topologyFile(`queues:
  in: {}
  out: {}
workers:
  w: { function: ./drop-odd.mjs, inputs: [in], outputs: [out], guarantee: at-least-once }
`);
    writeFileSync(join(dirname(file), 'drop-odd.mjs'), "export default (message) => (Number(message.split('|')[1]) % 2 === 1 ? null : message);\n");
    const finished = await run([file, '--check', '100', '--json', '--check-settle-ms', '500'], 60_000).finished;
    const check = jsonLines(finished.stdout).get('summary')?.check as CheckLine | undefined;
    expect(check, finished.stderr.slice(-2000)).toMatchObject({ promised: 'at-least-once', held: false, sent: 100, lost: 50, duplicated: 0 });
    expect(finished.code).toBe(1);
    const text = await run([file, '--check', '100', '--check-settle-ms', '500'], 60_000).finished;
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^check in -> out: 100\/100 sent, 50 arrived; lost 50, duplicated 0, corrupted 0 \(\d+\.\d s\)$/m);
    expect(text.stdout).toMatch(/^check: at-least-once NOT held: nothing is lost; duplicates are allowed$/m);
  });
});

describe('the examples', () => {
  it('orders.yaml: --check 2000 proves exactly-once with faults on the edge', async () => {
    const finished = await run(['examples/orders.yaml', '--check', '2000', '--json']).finished;
    expect(finished.code, finished.stderr.slice(-2000)).toBe(0);
    const summary = jsonLines(finished.stdout).get('summary') as { check: CheckLine; proxies: Record<string, { toTarget: { dropped: number; duplicated: number }; toClient: { dropped: number; duplicated: number } }>; pids: number[] };
    expect(summary.check).toMatchObject({ source: 'orders', sink: 'valid', promised: 'exactly-once', held: true, messages: 2000, sent: 2000, lost: 0, duplicated: 0, corrupted: 0 });
    const proxy = summary.proxies['validate->valid'];
    // The faults happened: otherwise 0 lost and 0 duplicated would prove nothing.
    expect((proxy?.toTarget.dropped ?? 0) + (proxy?.toClient.dropped ?? 0)).toBeGreaterThan(0);
    expect((proxy?.toTarget.duplicated ?? 0) + (proxy?.toClient.duplicated ?? 0)).toBeGreaterThan(0);
    expect(summary.pids.filter(isAlive)).toEqual([]);
  });

  it('orders.yaml: the poison order ends in the dead-letter queue', async () => {
    const running = run(['examples/orders.yaml', '--json'], 90_000, true);
    await waitFor(() => jsonLines(running.stdout()).get('ready'), { what: 'the ready line', timeoutMs: 30_000 });
    const { createClient } = await import('@streampy/client');
    const ready = jsonLines(running.stdout()).get('ready') as { queues: Record<string, { address: string }> };
    const dead = await createClient({ address: ready.queues['dead-orders']?.address ?? '' });
    const valid = await createClient({ address: ready.queues.valid?.address ?? '' });
    try {
      await waitFor(async () => (await dead.size()) === 1 && (await valid.size()) === 2, { what: 'two valid orders and one dead letter', timeoutMs: 30_000 });
      const body = await dead.get();
      expect(body === undefined ? undefined : Buffer.from(body).toString()).toBe('poison order 3');
    } finally {
      await Promise.all([dead.close(), valid.close()]);
    }
    // Stopped as streampy-run's own parent would, on any OS.
    expect(requestStop(running.process)).toBe(true);
    expect((await running.finished).code).toBe(0);
  });

  it('words.yaml: --check through two partitions and back loses nothing', async () => {
    const finished = await run(['examples/words.yaml', '--check', '500', '--json']).finished;
    expect(finished.code, finished.stderr.slice(-2000)).toBe(0);
    const summary = jsonLines(finished.stdout).get('summary') as { check: CheckLine; queues: Record<string, { puts: number }> };
    expect(summary.check).toMatchObject({ source: 'lines', sink: 'words', promised: 'at-least-once', held: true, sent: 500, lost: 0, corrupted: 0 });
    // Both partitions carried some of them: the fan-out spread the words.
    expect(summary.queues['part-0']?.puts).toBeGreaterThan(0);
    expect(summary.queues['part-1']?.puts).toBeGreaterThan(0);
  });

  it('pong.yaml: the ball bounces until stopped', async () => {
    const finished = await run(['examples/pong.yaml', '--duration', '2', '--json']).finished;
    expect(finished.code, finished.stderr.slice(-2000)).toBe(0);
    const summary = jsonLines(finished.stdout).get('summary') as { queues: Record<string, { puts: number; ready: number; leased: number }> };
    expect(summary.queues.court?.puts).toBeGreaterThan(10);
    expect(summary.queues.court).toMatchObject({ ready: 1, leased: 0 });
  });
});
