/**
 * The dedup window keeps its word at the node (issue 8, point 7): a keyed put retried inside its
 * window is never stored twice, after the segments holding it are reclaimed, after a restart,
 * and after more keys than the table holds (then it is DUP, or refused FULL, never stored).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@streampy/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { DedupWindow } from '../src/local/dedup.js';
import { createLogEngine, createQueueNode, type LogEngine, type QueueNode, type QueueNodeOptions } from '../src/index.js';
import { TestPeer, silentLogger, text, waitFor } from './udp.js';

const WINDOW_MS = 300_000;
const dirs: string[] = [];
const nodes: QueueNode[] = [];
const peers: TestPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.close();
  for (const node of nodes.splice(0)) await node.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A node whose queues are logs of small segments under `dir`, on `clock`; `engines` collects them. */
async function logNode(dir: string, clock: ManualClock, engines: LogEngine[], options: QueueNodeOptions = {}): Promise<QueueNode> {
  const node = await createQueueNode({
    logger: silentLogger(),
    clock,
    dedupWindowMs: WINDOW_MS,
    engine: (name) => {
      const engine = createLogEngine({ dir: join(dir, name), fsync: 'never', segmentBytes: 2048, keyWindowMs: WINDOW_MS, now: () => clock.now(), logger: silentLogger() });
      engines.push(engine);
      return engine;
    },
    ...options,
  });
  nodes.push(node);
  return node;
}

async function peer(): Promise<TestPeer> {
  const opened = await TestPeer.open();
  peers.push(opened);
  return opened;
}

describe('dedup window at the node', () => {
  it('answers DUP to a retried keyed put after its segment was reclaimed and after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-dedup-'));
    dirs.push(dir);
    const clock = new ManualClock(1_800_000_000_000);
    const engines: LogEngine[] = [];
    const client = await peer();
    let node = await logNode(dir, clock, engines);
    const keys = Array.from({ length: 30 }, (_, i) => `order-${i}`);
    for (const key of keys) expect(text(await client.exchange(node.address, `PUT key=${key} q=jobs:${key}`))).toMatch(/^PUT \d+ bytes$/);
    // Consumed, and more traffic after them: the segments holding the keyed puts are deleted.
    for (let i = 0; i < keys.length; i++) expect(text(await client.exchange(node.address, 'GET q=jobs'))).toMatch(/^MSG:order-/);
    const jobs = engines.at(-1) as LogEngine;
    for (let i = 0; i < 200 && jobs.stats().segmentsDeleted === 0; i++) {
      expect(text(await client.exchange(node.address, `PUT q=jobs:${'x'.repeat(200)}`))).toBe('PUT 200 bytes');
      expect(text(await client.exchange(node.address, 'GET q=jobs'))).toHaveLength('MSG:'.length + 200);
    }
    await waitFor(() => jobs.stats().segmentsDeleted > 0, { what: 'a reclaimed segment' });
    clock.advance(WINDOW_MS - 1_000);
    for (const key of keys) expect(text(await client.exchange(node.address, `PUT key=${key} q=jobs:${key}`))).toMatch(/^PUT \d+ bytes DUP$/);
    expect(text(await client.exchange(node.address, 'SIZE q=jobs'))).toBe('SIZE 0');

    await node.close();
    nodes.length = 0;
    node = await logNode(dir, clock, engines);
    for (const key of keys) expect(text(await client.exchange(node.address, `PUT key=${key} q=jobs:${key}`))).toMatch(/^PUT \d+ bytes DUP$/);
    expect(text(await client.exchange(node.address, 'SIZE q=jobs'))).toBe('SIZE 0');
    // Once the window is over the key is free again.
    clock.advance(1_000);
    expect(text(await client.exchange(node.address, 'PUT key=order-0 q=jobs:again'))).toBe('PUT 5 bytes');
  });

  it('never stores a retried put twice after more keys than the table holds, across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-dedup-'));
    dirs.push(dir);
    const clock = new ManualClock(1_800_000_000_000);
    const client = await peer();
    let node = await logNode(dir, clock, [], { maxDedupKeys: 50 });
    const stored = new Set<string>();
    const put = async (key: string): Promise<string> => {
      const reply = text(await client.exchange(node.address, `PUT key=${key}:${key}`));
      if (/^PUT \d+ bytes$/.test(reply)) {
        expect(stored.has(key)).toBe(false);
        stored.add(key);
      }
      return reply;
    };
    for (let i = 0; i < 200; i++) await put(`k${i}`);
    expect(stored.size).toBe(50);
    // Every retry, of a key taken or refused: DUP for the first, FULL for the rest, never stored again.
    for (let i = 0; i < 200; i++) expect(await put(`k${i}`)).toMatch(i < 50 ? /^PUT \d+ bytes DUP$/ : /^ERR FULL queue default key table is full/);
    node = await (async () => {
      await node.close();
      nodes.length = 0;
      return logNode(dir, clock, [], { maxDedupKeys: 20 });
    })();
    // A smaller table after the restart still keeps every key inside its window.
    for (let i = 0; i < 200; i++) expect(await put(`k${i}`)).toMatch(i < 50 ? /^PUT \d+ bytes DUP$/ : /^ERR FULL /);
    expect(text(await client.exchange(node.address, 'SIZE'))).toBe('50');
    expect(node.stats().queues.default?.duplicates).toBe(50);
  });
});

describe('DedupWindow', () => {
  it('remembers keys for their window, refuses at its bound, drops expired keys first and charges every key', () => {
    let charged = 0;
    const account = { key: (key: string) => 100 + key.length, charge: (n: number) => void (charged += n), release: (n: number) => void (charged -= n) };
    const window = new DedupWindow(1_000, 2, account);
    for (const [key, at] of [['a', 0], ['b', 10]] as const) {
      expect(window.hasRoom(at)).toBe(true);
      charged += window.costOf(key);
      window.record(key, at);
    }
    expect(charged).toBe(202);
    expect(window.has('a', 999)).toBe(true);
    expect(window.hasRoom(999)).toBe(false);
    expect(window.has('a', 999)).toBe(true);
    // At 1000 `a` is over: it goes, and makes room.
    expect(window.hasRoom(1_000)).toBe(true);
    expect(window.size).toBe(1);
    expect(charged).toBe(101);
    // A key known already costs nothing more; a forgotten one gives its charge back.
    expect(window.costOf('b')).toBe(0);
    window.forget('b');
    expect(charged).toBe(0);
    // Restored keys inside their window all stay, beyond the bound; expired ones are not loaded.
    window.restore(new Map([['old', -5_000], ['c', 900], ['d', 950], ['e', 990]]), 1_000);
    expect(window.size).toBe(3);
    expect(window.has('c', 1_000)).toBe(true);
    expect(window.hasRoom(1_000)).toBe(false);
    expect(charged).toBe(303);
    window.expire(1_950);
    expect(window.size).toBe(1);
    // maxKeys 0: nothing is remembered.
    const off = new DedupWindow(1_000, 0, account);
    expect(off.hasRoom(0)).toBe(true);
    expect(off.costOf('z')).toBe(0);
    off.record('z', 0);
    expect(off.has('z', 1)).toBe(false);
  });
});
