import { describe, expect, it } from 'vitest';
import type { RecoveredState, StorageEngine } from '../src/index.js';
import { createMemoryEngine } from '../src/index.js';
import { dispatchHarness } from './dispatch-harness.js';

/** A memory engine that says it syncs before acknowledging, with flush() held until the test releases it. */
function gatedEngine() {
  const state = { flushes: 0, fail: false, release: (): void => {} };
  let gate = Promise.resolve();
  const hold = (): void => {
    gate = new Promise<void>((resolve) => (state.release = resolve));
  };
  const engine = (): StorageEngine => ({
    ...createMemoryEngine(),
    kind: 'gated',
    syncBeforeAck: true,
    open: (): Promise<RecoveredState> => Promise.resolve({ messages: [], nextSeq: 1, keys: new Map() }),
    async flush() {
      state.flushes++;
      await gate;
      if (state.fail) throw new Error('disk on fire');
    },
  });
  return { state, engine, hold };
}

describe('dispatch on a manual clock: leases', () => {
  it('keeps a lease extended before its deadline, however long after the first deadline', async () => {
    const h = await dispatchHarness();
    expect(await h.one('PUT:long')).toBe('PUT 4 bytes');
    const [lease] = await h.reserve('RESERVE lease=100');
    const token = lease?.token ?? '';
    h.clock.advance(99);
    expect(await h.one(`EXTEND ${token} lease=60000`)).toBe('OK');
    h.clock.advance(500);
    expect(await h.one('SIZE')).toBe('0');
    expect(h.stats().queues.default).toMatchObject({ leased: 1, redeliveries: 0 });
    h.clock.advance(59_000);
    expect(await h.one(`ACK ${token}`)).toBe('OK');
    expect(await h.one(`EXTEND ${token} lease=100`)).toMatch(/^ERR UNKNOWN_LEASE /);
  });

  it('makes an expired lease visible again at its deadline, at the head, with deliveries + 1', async () => {
    const h = await dispatchHarness();
    await h.request('PUT:a', 'PUT:b');
    const [first] = await h.reserve('RESERVE lease=50');
    h.clock.advance(49);
    expect(await h.one('SIZE')).toBe('1');
    h.clock.advance(1);
    expect(await h.one('SIZE')).toBe('2');
    expect(await h.one(`ACK ${first?.token ?? ''}`)).toMatch(/^ERR UNKNOWN_LEASE /);
    const [again] = await h.reserve();
    expect(again).toMatchObject({ deliveries: 2 });
    expect(again?.token.split('.')[0]).toBe(first?.token.split('.')[0]);
    expect(new TextDecoder().decode(again?.body)).toBe('a');
  });

  it('holds a message nacked with delay= until the delay ends', async () => {
    const h = await dispatchHarness();
    await h.one('PUT:later');
    const [lease] = await h.reserve();
    expect(await h.one(`NACK ${lease?.token ?? ''} delay=300`)).toBe('OK');
    expect(h.stats().queues.default).toMatchObject({ delayed: 1, leased: 0, bytes: 5 });
    h.clock.advance(299);
    expect(await h.one('SIZE')).toBe('0');
    h.clock.advance(1);
    expect(await h.one('SIZE')).toBe('1');
    expect(h.stats().queues.default).toMatchObject({ delayed: 0, size: 1, nacks: 1 });
  });

  it('moves a message to the dead queue after maxDeliveries expired leases', async () => {
    const h = await dispatchHarness({ limits: { maxDeliveries: 2 } });
    await h.one('PUT:poison');
    for (let delivery = 1; delivery <= 2; delivery++) {
      expect((await h.reserve('RESERVE lease=30'))[0]?.deliveries).toBe(delivery);
      h.clock.advance(30);
    }
    expect(await h.one('SIZE')).toBe('0');
    expect(await h.one('SIZE q=dead')).toBe('SIZE 1');
    expect(await h.one('GET q=dead')).toBe('MSG:poison');
    expect(h.stats().queues.default).toMatchObject({ deadLettered: 1, bytes: 0, leased: 0 });
    expect(h.scheduler.size).toBe(0);
  });

  it('forgets an idempotency key once its window has passed', async () => {
    const h = await dispatchHarness({ limits: { dedupWindowMs: 100 } });
    expect(await h.one('PUT key=k:a')).toBe('PUT 1 bytes');
    h.clock.advance(99);
    expect(await h.one('PUT key=k:a')).toBe('PUT 1 bytes DUP');
    h.clock.advance(1);
    expect(await h.one('PUT key=k:a')).toBe('PUT 1 bytes');
    expect(await h.one('SIZE')).toBe('2');
  });
});

describe('dispatch: replies and their order', () => {
  it('answers every frame of a datagram in order, at once on the memory path', async () => {
    const h = await dispatchHarness();
    const replies = h.request('PUT:a', '#2 PUT q=jobs:b', 'SIZE', 'GET', '#5 GET q=jobs', 'NOPE', 'RESERVE max=0');
    expect(await replies).toEqual([
      'PUT 1 bytes',
      '#2 PUT 1 bytes',
      '1',
      'a',
      '#5 MSG:b',
      expect.stringMatching(/^ERR UNKNOWN_VERB /),
      expect.stringMatching(/^ERR BAD_REQUEST /),
    ]);
    expect(h.counters).toMatchObject({ unknownVerbs: 1, badRequests: 1, errors: 2 });
  });

  it('waits for one flush for all the puts of a datagram, then sends every reply in order', async () => {
    const gated = gatedEngine();
    const h = await dispatchHarness({ engine: gated.engine });
    gated.hold();
    const replies = h.request('SIZE', '#1 PUT:x', '#2 PUT:y', '#3 PUT key=k:z', '#4 GET', 'SIZE');
    // The puts were applied at once (the GET took the first); only their replies wait.
    await Promise.resolve();
    await Promise.resolve();
    expect(gated.state.flushes).toBe(1);
    expect(h.sent).toHaveLength(0);
    gated.state.release();
    expect(await replies).toEqual(['0', '#1 PUT 1 bytes', '#2 PUT 1 bytes', '#3 PUT 1 bytes', '#4 MSG:x', '2']);
    expect(gated.state.flushes).toBe(1);
    expect(h.sent).toHaveLength(1);
  });

  it('serves other datagrams while one waits for its flush, and answers ERR INTERNAL when the flush fails', async () => {
    const gated = gatedEngine();
    const h = await dispatchHarness({ engine: gated.engine });
    gated.hold();
    gated.state.fail = true;
    const waiting = h.request('#p PUT:x', '#s SIZE');
    expect(await h.one('#g GET max=5')).toBe('#g MSGS 1:11x');
    gated.state.release();
    // The SIZE ran when its datagram came (before the GET): its reply only waited.
    expect(await waiting).toEqual([expect.stringMatching(/^#p ERR INTERNAL storage failed before the message was durable/), '#s SIZE 1']);
  });

  it('opens a queue on first use before answering, and refuses one beyond maxQueues', async () => {
    const h = await dispatchHarness({ maxQueues: 3 });
    expect(await h.request('PUT q=one:x', 'SIZE q=one')).toEqual(['PUT 1 bytes', 'SIZE 1']);
    expect(await h.one('#t PUT q=two:x')).toMatch(/^#t ERR BAD_REQUEST .*at most 3 queues/);
    expect(h.registry.names().sort()).toEqual(['dead', 'default', 'one']);
  });

  it('answers STATS for the whole node without creating the queue it names', async () => {
    const h = await dispatchHarness();
    const reply = await h.one('#s STATS q=nothing');
    expect(reply.startsWith('#s STATS:{')).toBe(true);
    expect(h.registry.names().sort()).toEqual(['dead', 'default']);
  });
});
