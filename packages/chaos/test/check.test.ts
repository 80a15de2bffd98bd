import { createClient } from '@streampy/client';
import { createLogger } from '@streampy/runtime';
import { createQueueNode, type QueueNode } from '@streampy/mq';
import { afterEach, describe, expect, it } from 'vitest';
import { createFaultProxy, encodeCheckMessage, runCheck, verifyCheckMessage } from '../src/index.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const quiet = createLogger({ name: 'test', level: 'error' });

async function node(): Promise<QueueNode> {
  const started = await createQueueNode({ address: '127.0.0.1:0', logger: quiet, maxDeliveries: 1000 });
  cleanups.push(async () => {
    await started.close();
  });
  return started;
}

describe('check messages', () => {
  it('round-trip, and any single flipped byte is caught', () => {
    const body = encodeCheckMessage('run1', 1234, 20);
    expect(verifyCheckMessage(body, 'run1')).toEqual({ kind: 'valid', n: 1234 });
    expect(verifyCheckMessage(body, 'other')).toEqual({ kind: 'foreign', runId: 'run1' });
    for (let i = 0; i < body.length; i++) {
      for (const mask of [0x01, 0x20, 0x80, 0xff]) {
        const damaged = Uint8Array.from(body);
        damaged[i] = (damaged[i] as number) ^ mask;
        expect(verifyCheckMessage(damaged, 'run1').kind).toBe('corrupt');
      }
    }
    expect(verifyCheckMessage(new Uint8Array(0), 'run1').kind).toBe('corrupt');
  });
});

describe('runCheck', () => {
  it('finds nothing lost or duplicated when the source is the sink', async () => {
    const queue = await node();
    const report = await runCheck({ source: queue.address, sink: queue.address, messages: 300, settleMs: 2000, tailMs: 200 });
    expect(report).toMatchObject({ messages: 300, sent: 300, delivered: 300, unique: 300, lost: 0, duplicated: 0, corrupted: 0, timedOut: false });
  });

  it('drains with destructive GETs too', async () => {
    const queue = await node();
    const report = await runCheck({ source: queue.address, sink: queue.address, messages: 100, drain: 'get', settleMs: 2000, tailMs: 200 });
    expect(report).toMatchObject({ sent: 100, unique: 100, lost: 0, duplicated: 0 });
  });

  it('counts an extra copy, a missing message, a corrupted body and a leftover of another run', async () => {
    const source = await node();
    const sink = await node();
    const runId = 'tampered';
    const client = await createClient({ address: sink.address });
    cleanups.push(() => client.close());
    for (let n = 0; n < 10; n++) {
      if (n === 5) continue; // missing
      const body = encodeCheckMessage(runId, n, 16);
      if (n === 7) body[body.length - 12] = (body[body.length - 12] as number) ^ 0x01; // corrupted
      await client.put(body);
      if (n === 3) await client.put(body); // an extra copy
    }
    await client.put(encodeCheckMessage('earlier-run', 1, 16));
    const report = await runCheck({ source: source.address, sink: sink.address, messages: 10, runId, settleMs: 500, tailMs: 200 });
    expect(report).toMatchObject({ sent: 10, delivered: 10, unique: 8, lost: 2, duplicated: 1, corrupted: 1, foreign: 1, redelivered: 0 });
  });

  it('waits for the watched nodes between source and sink to hold nothing', async () => {
    const queue = await node();
    const middle = await node();
    const client = await createClient({ address: middle.address });
    cleanups.push(() => client.close());
    await client.put('still on its way');
    // The middle never empties: the run can only end at its deadline, with everything delivered.
    const held = await runCheck({ source: queue.address, sink: queue.address, watch: [middle.address], messages: 20, tailMs: 100, deadlineMs: 1500 });
    expect(held).toMatchObject({ sent: 20, unique: 20, lost: 0, timedOut: true });
    expect(await client.get()).toBeDefined();
    const free = await runCheck({ source: queue.address, sink: queue.address, watch: [middle.address], messages: 20, tailMs: 100, deadlineMs: 30_000 });
    expect(free).toMatchObject({ sent: 20, unique: 20, lost: 0, timedOut: false });
  });

  it('stays exact through a proxy that drops, duplicates and reorders both ways', async () => {
    const queue = await node();
    const faults = { drop: 0.2, duplicate: 0.1, reorder: 0.1, delayMs: [0, 2] as [number, number] };
    const proxy = await createFaultProxy({ target: queue.address, seed: 5, toTarget: faults, toClient: faults });
    cleanups.push(() => proxy.close());
    const report = await runCheck({ source: proxy.address, sink: proxy.address, messages: 400, timeoutMs: 100, leaseMs: 1000, settleMs: 2500, tailMs: 300 });
    expect(report).toMatchObject({ sent: 400, unique: 400, lost: 0, duplicated: 0, corrupted: 0, timedOut: false });
    expect(proxy.stats().toTarget.dropped).toBeGreaterThan(0);
    expect(proxy.stats().toClient.duplicated).toBeGreaterThan(0);
  });
});
