import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import type { EdgeView, QueueView, SnapshotSource, TopologySnapshot, WorkerView } from '../src/snapshot.js';

/** Debian's Chromium (`apt-get install -y chromium`); .ci/run installs it. Never a downloaded browser. */
export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`web view browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}

/** A SnapshotSource the test drives by hand: `publish` is one update from the runner. */
export class ScriptedSource implements SnapshotSource {
  #snapshot: TopologySnapshot;
  readonly #listeners = new Set<(snapshot: TopologySnapshot) => void>();

  constructor(first: TopologySnapshot) {
    this.#snapshot = first;
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  current(): TopologySnapshot {
    return this.#snapshot;
  }

  subscribe(listener: (snapshot: TopologySnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  publish(next: TopologySnapshot): void {
    this.#snapshot = next;
    for (const listener of this.#listeners) listener(next);
  }
}

export function queue(name: string, port: number, fields: Partial<QueueView> = {}): QueueView {
  return {
    name, address: `127.0.0.1:${port}`, pid: 4000 + port % 1000, status: 'running', restarts: 0,
    ready: 0, leased: 0, delayed: 0, deadLetters: 0, putsPerSecond: 0, takesPerSecond: 0, errors: 0, metrics: null,
    ...fields,
  };
}

export function worker(name: string, fn: string, inputs: string[], outputs: string[], pids: number[], fields: Partial<WorkerView> = {}): WorkerView {
  return {
    name, function: fn, guarantee: 'exactly-once', inputs, outputs,
    replicas: pids.map((pid) => ({ pid, status: 'running' as const, restarts: 0, metrics: null })),
    ...fields,
  };
}

export function edge(from: string, to: string, kind: EdgeView['kind'], messagesPerSecond: number, faults: EdgeView['faults'] = null): EdgeView {
  return { id: `${from}->${to}`, from, to, kind, messagesPerSecond, faults };
}

const START = Date.parse('2026-12-01T14:00:00Z');

/**
 * The word-count pipeline of the README picture: source -> split (2 replicas) -> counts, lines it cannot
 * parse routed to a dead-letter queue, a fault proxy (drop, dup) on split -> counts, a replica and a queue
 * that were restarted (the runner's own event texts), and dead letters parked on `source`.
 */
export function wordCount(rate = 1): TopologySnapshot {
  const at = START + 754_000;
  return {
    name: 'word-count',
    at,
    uptimeMs: 754_000,
    queues: [
      queue('source', 40101, { ready: 1840, leased: 32, deadLetters: 7, putsPerSecond: 412 * rate, takesPerSecond: 398 * rate }),
      queue('counts', 40102, { pid: 4103, restarts: 1, ready: 12_480, putsPerSecond: 2871 * rate, errors: 3 }),
      queue('dead-letters', 40103, { ready: 21, putsPerSecond: 1.5 * rate }),
    ],
    workers: [
      worker('split', 'words', ['source'], ['counts', 'dead-letters'], [4211, 4388], {
        guarantee: 'exactly-once',
        replicas: [
          { pid: 4211, status: 'running', restarts: 0, metrics: null },
          { pid: 4388, status: 'running', restarts: 1, metrics: null },
        ],
      }),
    ],
    edges: [
      edge('source', 'split', 'input', 398 * rate),
      edge('split', 'counts', 'output', 2871 * rate, { drop: 0.02, dup: 0.05 }),
      edge('split', 'dead-letters', 'output', 1.5 * rate),
    ],
    events: [
      { at: START + 95_000, level: 'warn', text: 'queue counts (pid 4096) exited unasked (signal SIGKILL); restarting in 100 ms' },
      { at: START + 95_400, level: 'info', text: 'queue counts restarted (pid 4103, restart 1)' },
      { at: START + 402_000, level: 'warn', text: 'worker split#1 (pid 4102) exited unasked (signal SIGKILL); restarting in 100 ms' },
      { at: START + 402_700, level: 'info', text: 'worker split#1 restarted (pid 4388, restart 1)' },
    ],
  };
}

/** The pong demo's self-loop: one queue, one worker reading from it and writing back to it. */
export function pong(): TopologySnapshot {
  return {
    name: 'pong',
    at: START + 5_000,
    uptimeMs: 5_000,
    queues: [queue('table', 40201, { ready: 1, leased: 1, putsPerSecond: 2210, takesPerSecond: 2210 })],
    workers: [worker('paddle', 'pong', ['table'], ['table'], [5101], { guarantee: 'at-least-once' })],
    edges: [edge('table', 'paddle', 'input', 2210), edge('paddle', 'table', 'output', 2210, { drop: 0.1 })],
    events: [],
  };
}

/** A wide fan-out and fan-in: one source, four workers of two replicas each, two sinks. */
export function fanOut(): TopologySnapshot {
  const names = ['parse', 'enrich', 'score', 'audit'];
  return {
    name: 'fan-out',
    at: START + 60_000,
    uptimeMs: 60_000,
    queues: [queue('in', 40301, { putsPerSecond: 800 }), queue('good', 40302), queue('bad', 40303)],
    workers: names.map((n, i) => worker(n, n, ['in'], i % 2 === 0 ? ['good'] : ['good', 'bad'], [5200 + 2 * i, 5201 + 2 * i])),
    edges: names.flatMap((n, i) => [
      edge('in', n, 'input', 200),
      edge(n, 'good', 'output', 180),
      ...(i % 2 === 0 ? [] : [edge(n, 'bad', 'output', 20)]),
    ]),
    events: [],
  };
}

/**
 * The little of the page these tests read inside the browser, typed by hand: this package type-checks
 * without the DOM library. Page-side code must be functions (the page's Content-Security-Policy forbids
 * the eval that string predicates need): `(globalThis as unknown as PageGlobals).document...`.
 */
export interface PageGlobals {
  readonly document: {
    querySelector(selector: string): PageElement | null;
    getElementById(id: string): PageElement | null;
  };
  readonly MutationObserver: new (callback: () => void) => { observe(target: PageElement, options: Record<string, unknown>): void };
  __statuses?: (string | null)[];
}

export interface PageElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
}
