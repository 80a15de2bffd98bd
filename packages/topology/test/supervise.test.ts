import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@streampy/client';
import { formatHostPort } from '@streampy/runtime';
import { waitFor } from '@streampy/testing';
import { loadTopology, startTopology, type RunningTopology } from '../src/index.js';
import { isAlive, killLeftovers, pids, topologyFile } from './processes.js';

const stops: RunningTopology[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((running) => running.stop()));
  killLeftovers();
});

/** Labels of the children in the order they exited. */
const exits: string[] = [];

async function start(text: string): Promise<RunningTopology> {
  exits.length = 0;
  const running = await startTopology(await loadTopology(topologyFile(text)), {
    sampleIntervalMs: 100,
    childLog: () => {},
    track: (child) => {
      pids.add(child.pid);
      void child.exited.then(() => exits.push(child.name));
    },
  });
  stops.push(running);
  return running;
}

describe('a supervised topology', () => {
  it('restarts a worker killed with SIGKILL, counts and logs it, and the ball keeps bouncing', async () => {
    const running = await start('queues:\n  court: { initial-messages: [ping] }\nworkers:\n  pong: { function: pong, inputs: [court], outputs: [court], lease-ms: 500 }\n');
    const worker = running.process('worker', 'pong');
    const first = worker.pid as number;
    expect(isAlive(first)).toBe(true);
    // Every status a subscriber (the web view) is shown, however short it lasted.
    const shown: string[] = [];
    running.snapshots.subscribe((snapshot) => shown.push(snapshot.workers[0]?.replicas[0]?.status ?? '-'));
    process.kill(first, 'SIGKILL');
    await waitFor(() => worker.restarts === 1 && worker.status === 'running', { what: 'the worker restarted', timeoutMs: 20_000 });
    expect(worker.pid).not.toBe(first);
    expect(isAlive(worker.pid as number)).toBe(true);
    expect(shown).toContain('restarting');
    expect(shown.at(-1)).toBe('running');
    const snapshot = await running.sample();
    expect(snapshot.workers[0]?.replicas[0]).toMatchObject({ status: 'running', restarts: 1, pid: worker.pid });
    expect(snapshot.events.map((event) => event.text)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^worker pong \(pid \d+\) exited unasked \(signal SIGKILL\).*; restarting in 100 ms$/), expect.stringMatching(/^worker pong restarted \(pid \d+, restart 1\)$/)]),
    );
    // The lease of the ball in the dead worker's hand ran out: the ball is played again.
    await waitFor(async () => ((await running.sample()).queues[0]?.putsPerSecond ?? 0) > 0, { what: 'rounds after the restart', timeoutMs: 20_000 });
    const summary = await running.stop();
    expect(summary.restarts).toBe(1);
    expect(summary.pids).toContain(first);
    expect(summary.pids.filter(isAlive)).toEqual([]);
  });

  it('restarts a killed queue node on the same address and data dir, its messages recovered', async () => {
    const running = await start('queues:\n  store: { data-dir: ./data, fsync: always }\n');
    const address = formatHostPort(running.queueAddress('store'));
    const client = await createClient({ address, timeoutMs: 300, retries: 3 });
    try {
      for (let i = 0; i < 5; i++) await client.put(`message ${i}`, { key: `m${i}` });
      const queue = running.process('queue', 'store');
      const first = queue.pid as number;
      process.kill(first, 'SIGKILL');
      await waitFor(() => queue.restarts === 1 && queue.status === 'running', { what: 'the queue restarted', timeoutMs: 20_000 });
      expect(queue.pid).not.toBe(first);
      expect(formatHostPort(running.queueAddress('store'))).toBe(address);
      // The same client, the same address: the restarted node answers with what it recovered.
      expect(await client.size()).toBe(5);
      const body = await client.get();
      expect(body === undefined ? undefined : Buffer.from(body).toString('utf8')).toBe('message 0');
    } finally {
      await client.close();
    }
  });

  it('stops the processes in order and leaves none behind, whatever state they are in', async () => {
    const running = await start(`queues:
  a: {}
  b: { dead-letter: dead-b }
  dead-b: {}
workers:
  w: { function: passthrough, inputs: [a], outputs: [b], replicas: 3 }
faults:
  - { from: w, to: b, delay: 1 }
`);
    // A dead-letter queue starts before the queue that sends to it.
    const processes = running.processes();
    expect(processes.map((info) => info.label)).toEqual(['queue a', 'queue dead-b', 'queue b', 'proxy w->b', 'worker w#0', 'worker w#1', 'worker w#2']);
    expect(processes.every((info) => info.status === 'running' && info.pid !== null && isAlive(info.pid))).toBe(true);
    const ready = running.ready();
    expect(ready.proxies['w->b']?.target).toBe(ready.queues.b?.address);
    const summary = await running.stop();
    expect(summary.pids).toHaveLength(7);
    expect(summary.pids.filter(isAlive)).toEqual([]);
    expect(running.processes().every((info) => info.status === 'stopped' && info.pid === null)).toBe(true);
    // Workers first (their messages in hand finished), then the proxy, then the queues newest first.
    expect(exits.slice(0, 3).sort()).toEqual(['worker w#0', 'worker w#1', 'worker w#2']);
    expect(exits.slice(3)).toEqual(['proxy w->b', 'queue b', 'queue dead-b', 'queue a']);
    // Idempotent.
    expect(await running.stop()).toBe(summary);
  });
});

describe('a topology with a shared key file', () => {
  it('signs every process and the runner with it: the ball bounces and STATS answers', async () => {
    const file = topologyFile('auth-key-file: ./keys\nqueues:\n  court: { initial-messages: [ping] }\nworkers:\n  pong: { function: pong, inputs: [court], outputs: [court] }\n');
    writeFileSync(join(dirname(file), 'keys'), `k1 ${'ab'.repeat(32)}\n`, { mode: 0o600 });
    const running = await startTopology(await loadTopology(file), { sampleIntervalMs: 100, childLog: () => {}, track: (child) => pids.add(child.pid) });
    stops.push(running);
    await waitFor(async () => ((await running.sample()).queues[0]?.putsPerSecond ?? 0) > 0, { what: 'signed rounds', timeoutMs: 20_000 });
    const summary = await running.stop();
    expect(summary.queues.court?.puts).toBeGreaterThan(1);
  });
});
