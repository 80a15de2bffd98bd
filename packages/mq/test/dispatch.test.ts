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
    // A put is visible only once durable: the GET of the same datagram finds nothing yet.
    await Promise.resolve();
    await Promise.resolve();
    expect(gated.state.flushes).toBe(1);
    expect(h.sent).toHaveLength(0);
    gated.state.release();
    expect(await replies).toEqual(['0', '#1 PUT 1 bytes', '#2 PUT 1 bytes', '#3 PUT 1 bytes', '#4 EMPTY', '0']);
    expect(gated.state.flushes).toBe(1);
    expect(h.sent).toHaveLength(1);
    expect(await h.request('SIZE', '#5 GET max=2')).toEqual(['3', '#5 MSGS 2:11x11y']);
    expect(gated.state.flushes).toBe(2);
  });

  it('serves other datagrams while one waits for its flush; a failed flush undoes its puts', async () => {
    const gated = gatedEngine();
    const h = await dispatchHarness({ engine: gated.engine });
    gated.hold();
    gated.state.fail = true;
    const waiting = h.request('#p PUT key=k:x', '#s SIZE');
    expect(await h.one('#g GET max=5')).toBe('#g MSGS 0:');
    gated.state.release();
    expect(await waiting).toEqual([expect.stringMatching(/^#p ERR INTERNAL storage failed \(disk on fire\); the request changed nothing$/), '#s SIZE 0']);
    gated.state.fail = false;
    expect(h.stats().queues.default).toMatchObject({ puts: 0, size: 0, bytes: 0 });
    // The key of the failed put was forgotten with it: the retry is stored.
    expect(await h.one('#p PUT key=k:x')).toBe('#p PUT 1 bytes');
    expect(await h.one('SIZE')).toBe('1');
  });

  it('answers GET and ACK once their removal is durable, and undoes them when it is not', async () => {
    const gated = gatedEngine();
    const h = await dispatchHarness({ engine: gated.engine });
    expect(await h.request('PUT:a', 'PUT:b', 'PUT:c')).toEqual(['PUT 1 bytes', 'PUT 1 bytes', 'PUT 1 bytes']);
    const [lease] = await h.reserve();
    gated.state.fail = true;
    expect(await h.request('#g GET max=2', `#a ACK ${lease?.token ?? ''}`)).toEqual([
      expect.stringMatching(/^#g ERR INTERNAL storage failed/),
      expect.stringMatching(/^#a ERR INTERNAL storage failed/),
    ]);
    gated.state.fail = false;
    expect(h.stats().queues.default).toMatchObject({ size: 2, leased: 1, gets: 0, acks: 0, bytes: 3 });
    // Nothing changed: the same ACK works, and GET still finds the oldest first.
    expect(await h.one(`#a ACK ${lease?.token ?? ''}`)).toBe('#a OK');
    expect(await h.one('#g GET max=2')).toBe('#g MSGS 2:11b11c');
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
