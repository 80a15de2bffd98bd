import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeStats, QueueStats } from '@streampy/codec';
import { waitFor } from '@streampy/testing';
import { MAX_FAILED_STARTS } from '../src/supervisor.js';
import { Supervised, TopologySampler, backoffMs, parseTopology, promisedGuarantee, sinksOf, sourcesOf, type ProcessPlan } from '../src/index.js';
import { killLeftovers, pids, topologyFile } from './processes.js';

afterEach(killLeftovers);

describe('restart backoff', () => {
  it('doubles from 100 ms to at most 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map(backoffMs)).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it(`gives up (failed) after ${MAX_FAILED_STARTS} failed restarts in a row, each delay as the backoff says`, async () => {
    // Ready at once, then exits: every start "succeeds" and dies young.
    const script = join(dirname(topologyFile('')), 'flaky.mjs');
    writeFileSync(script, "console.log('ready'); setTimeout(() => process.exit(3), 5);\n");
    const delays: number[] = [];
    const events: string[] = [];
    const plan: ProcessPlan = {
      kind: 'worker',
      name: 'flaky',
      replica: 0,
      label: 'worker flaky',
      script,
      args: () => [],
      ready: (line) => (line === 'ready' ? line : undefined),
      onReady: () => {},
      onLine: () => {},
      onStderr: () => {},
      stopGraceMs: 1000,
    };
    const process = new Supervised(plan, {
      readyTimeoutMs: 10_000,
      track: (child) => pids.add(child.pid),
      event: (level, text) => events.push(`${level}: ${text}`),
      // No waiting: the delay asked for is recorded, the restart runs at once.
      setTimer: (fn, ms) => {
        delays.push(ms);
        setImmediate(fn);
        return { cancel: () => {} };
      },
    });
    await process.start();
    await waitFor(() => process.status === 'failed', { what: 'the supervisor to give up', timeoutMs: 30_000 });
    expect(delays).toEqual(Array.from({ length: MAX_FAILED_STARTS }, (_, index) => backoffMs(index + 1)));
    expect(process.restarts).toBe(MAX_FAILED_STARTS);
    expect(process.pids).toHaveLength(MAX_FAILED_STARTS + 1);
    expect(events.at(-1)).toMatch(/^error: worker flaky \(pid \d+\) exited unasked \(exit code 3\); 10 restarts in a row failed: giving up on worker flaky$/);
    expect(events.filter((event) => event.startsWith('warn: '))).toHaveLength(MAX_FAILED_STARTS);
    await process.stop();
    expect(process.status).toBe('failed');
  });
});

const queueStats = (fields: Partial<QueueStats>): QueueStats => ({
  size: 0, leased: 0, delayed: 0, bytes: 0, puts: 0, gets: 0, reserves: 0, acks: 0, nacks: 0, redeliveries: 0, deadLettered: 0, duplicates: 0, rejectedFull: 0, ...fields,
});

const nodeStats = (queues: Record<string, Partial<QueueStats>>, fields: Partial<NodeStats> = {}): NodeStats => ({
  address: '127.0.0.1:1', engine: 'memory', uptimeMs: 1, datagramsIn: 0, datagramsOut: 0, framesIn: 0, badFrames: 0, unknownVerbs: 0, badRequests: 0, errors: 0, sendErrors: 0, deadLettersForwarded: 0, deadLettersPending: 0,
  queues: Object.fromEntries(Object.entries(queues).map(([name, stats]) => [name, queueStats(stats)])),
  ...fields,
});

describe('the topology graph and its snapshot', () => {
  const topology = parseTopology(
    `queues:
  in: { dead-letter: dlq }
  mid: {}
  out: {}
  dlq: {}
workers:
  a: { function: passthrough, inputs: [in], outputs: [mid], replicas: 3, guarantee: exactly-once }
  b: { function: passthrough, inputs: [in], outputs: [mid] }
  c: { function: passthrough, inputs: [mid], outputs: [out], guarantee: at-least-once }
faults:
  - { from: c, to: out, drop: 0.1, delay: 2-5 }
`,
    { file: '/tmp/t.yaml' },
  );

  it('finds sources, sinks and the weakest promise on the way', () => {
    expect(sourcesOf(topology)).toEqual(['in']);
    expect(sinksOf(topology)).toEqual(['out']);
    expect(promisedGuarantee(topology, 'in')).toBe('at-least-once');
    expect(promisedGuarantee(topology, 'mid')).toBe('at-least-once');
    expect(promisedGuarantee(topology, 'out')).toBe('exactly-once');
  });

  it('turns two rounds of STATS into rates per queue and per edge, shared by replicas', () => {
    const fake = { pid: 1, status: 'running' as const, restarts: 0 } as unknown as Supervised;
    const sampler = new TopologySampler(
      {
        topology,
        queue: (name) => ({ address: `127.0.0.1:${name.length}`, metrics: null, process: fake }),
        replicas: (worker) => Array.from({ length: topology.workers.find((spec) => spec.name === worker)?.replicas ?? 0 }, () => ({ metrics: null, process: fake })),
      },
      1000,
    );
    const seen: number[] = [];
    const unsubscribe = sampler.subscribe((snapshot) => seen.push(snapshot.at));
    sampler.update(new Map([['in', nodeStats({ default: { puts: 100, gets: 0, acks: 40 } })]]), 2000);
    sampler.event('warn', 'something restarted', 2500);
    const snapshot = sampler.update(
      new Map([
        ['in', nodeStats({ default: { puts: 300, acks: 120, size: 7, leased: 2 } }, { errors: 1, badFrames: 2 })],
        ['mid', nodeStats({ default: { puts: 50 } })],
        ['out', undefined],
      ]),
      4000,
    );
    unsubscribe();
    sampler.update(new Map(), 5000);
    // Each round and each process event publishes one.
    expect(seen).toEqual([2000, 2500, 4000]);
    expect(snapshot.uptimeMs).toBe(3000);
    const inView = snapshot.queues.find((view) => view.name === 'in');
    expect(inView).toMatchObject({ ready: 7, leased: 2, putsPerSecond: 100, takesPerSecond: 40, errors: 3, deadLetters: 0, address: '127.0.0.1:2' });
    const edges = Object.fromEntries(snapshot.edges.map((edge) => [edge.id, edge]));
    // `in` is read by a (3 replicas) and b (1): 40 takes/s shared 3:1.
    expect(edges['in->a']?.messagesPerSecond).toBe(30);
    expect(edges['in->b']?.messagesPerSecond).toBe(10);
    expect(edges['c->out']).toMatchObject({ kind: 'output', messagesPerSecond: 0, faults: { drop: 0.1, delayMs: 5 } });
    expect(snapshot.workers.find((view) => view.name === 'a')?.replicas).toHaveLength(3);
    expect(snapshot.events).toEqual([{ at: 2500, level: 'warn', text: 'something restarted' }]);
  });
});
