import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MEMORY_COSTS, MemoryBudget, bodyCost, defaultMaxMemory } from '../src/budget.js';
import { createLogEngine, createQueueNode, type QueueNode } from '../src/index.js';
import { dispatchHarness } from './dispatch-harness.js';
import { TestPeer, silentLogger, text } from './udp.js';

const KIB = 1024;
const body = (bytes: number, fill = 'x'): string => fill.repeat(bytes);

describe('memory budget: accounting', () => {
  it('defaults to the smaller of 512 MiB and a quarter of the heap limit', () => {
    const limit = defaultMaxMemory();
    expect(limit).toBeLessThanOrEqual(512 * 1024 * 1024);
    expect(limit).toBeGreaterThan(0);
  });

  it('admits within the limit, refuses beyond it, and sweeps before refusing', () => {
    const budget = new MemoryBudget(1_000);
    expect(budget.admit(600, 1)).toBe(true);
    const swept: number[] = [];
    const stop = budget.onPressure((now) => {
      swept.push(now);
      if (swept.length === 1) budget.release(300);
    });
    // The sweep makes room: admitted.
    expect(budget.admit(600, 2)).toBe(true);
    expect(budget.used).toBe(900);
    // Swept at most once per clock tick, then refused and counted.
    expect(budget.admit(600, 3)).toBe(false);
    expect(budget.admit(600, 3)).toBe(false);
    expect(swept).toEqual([2, 3]);
    stop();
    budget.charge(500);
    expect(budget.stats()).toEqual({ limit: 1_000, used: 1_400, peak: 1_400, refused: 2 });
  });

  it('charges text that is not ASCII two bytes a character', () => {
    expect(bodyCost(5, 5)).toBe(5);
    expect(bodyCost('héllo'.length, Buffer.byteLength('héllo'))).toBe(10);
  });
});

describe('memory budget: the node refuses puts beyond it, across every queue', () => {
  it('says which bound refused a put, and takes puts again once messages leave', async () => {
    const harness = await dispatchHarness({ maxMemory: 256 * KIB });
    const { budget, one } = harness;
    const base = budget.used;
    let stored = 0;
    let refusal = '';
    // 4 KiB bodies spread over 20 queues: each queue is far from any bound of its own.
    for (let i = 0; i < 200 && refusal === ''; i++) {
      const reply = await one(`#p${i} PUT q=q${i % 20}:${body(4 * KIB)}`);
      if (reply.startsWith(`#p${i} PUT `)) stored++;
      else refusal = reply;
    }
    expect(refusal).toMatch(/^#p\d+ ERR FULL the node memory budget is used up \(\d+ of 262144 bytes accounted across all queues\); retry later$/);
    expect(stored).toBeGreaterThan(30);
    expect(budget.used).toBeLessThanOrEqual(256 * KIB);
    // Each message was charged its body plus its bookkeeping and lease, and each new queue its share.
    const perMessage = 4 * KIB + MEMORY_COSTS.message + MEMORY_COSTS.lease;
    expect(budget.used - base).toBeGreaterThanOrEqual(stored * perMessage + 19 * MEMORY_COSTS.queue);
    // Leasing the messages costs nothing more: it was charged with the put.
    const before = budget.used;
    const leased = await harness.reserve('RESERVE max=5 q=q1');
    expect(leased.length).toBeGreaterThan(0);
    expect(budget.used).toBe(before);
    expect(await one('PUT q=q1:tiny')).toMatch(/^ERR FULL the node memory budget/);
    // Acks and GETs give it back.
    for (const delivery of leased) expect(await one(`ACK ${delivery.token} q=q1`)).toBe('OK');
    expect(await one('GET max=10 q=q2')).toMatch(/^MSGS \d+:/);
    expect(budget.used).toBeLessThan(before);
    expect(await one('PUT q=q1:tiny')).toBe('PUT 4 bytes');
    expect(harness.stats().queues.q1?.rejectedFull).toBe(1);
  });

  it('names the queue bounds and the key table in their refusals', async () => {
    const harness = await dispatchHarness({ limits: { maxMessages: 2, maxBytes: 10, maxDedupKeys: 1, dedupWindowMs: 1_000 } });
    const { one } = harness;
    expect(await one('PUT key=a:12345')).toBe('PUT 5 bytes');
    expect(await one('PUT key=b:1')).toMatch(/^ERR FULL queue default key table is full \(1 keys inside their 1000 ms window\); retry later$/);
    expect(await one('PUT:123456')).toMatch(/^ERR FULL queue default is full: its byte bound \(10 bytes, 5 held\) is reached; retry later$/);
    expect(await one('PUT:1')).toBe('PUT 1 bytes');
    expect(await one('PUT:1')).toMatch(/^ERR FULL queue default is full: its message bound \(2 messages\) is reached; retry later$/);
  });

  it('drops expired keys node-wide before refusing a put for memory', async () => {
    const harness = await dispatchHarness({ maxMemory: 64 * KIB, limits: { dedupWindowMs: 1_000 } });
    const { budget, clock, one } = harness;
    // Keys cost memory even once their messages are gone.
    let keys = 0;
    for (; keys < 2_000; keys++) {
      const reply = await one(`PUT key=k${keys} q=keys:x`);
      if (!reply.startsWith('PUT ')) break;
      expect(await one('GET q=keys')).toBe('MSG:x');
    }
    expect(keys).toBeGreaterThan(100);
    expect(keys).toBeLessThan(2_000);
    expect(await one('PUT q=other:x')).toMatch(/^ERR FULL the node memory budget/);
    const full = budget.used;
    // Their window over, the next put that needs room drops them, whichever queue it is for.
    clock.advance(1_000);
    expect(await one('PUT q=other:x')).toBe('PUT 1 bytes');
    expect(budget.used).toBeLessThan(full / 2);
    // Keys still inside their window are never dropped for room: the retry is still a duplicate.
    expect(await one('PUT key=fresh q=keys:x')).toBe('PUT 1 bytes');
    expect(await one('PUT key=fresh q=keys:x')).toBe('PUT 1 bytes DUP');
  });
});

describe('memory budget: recovery', () => {
  const dirs: string[] = [];
  const nodes: QueueNode[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('starts a durable node holding more than its budget: serves all of it, refuses puts until consumers make room', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-budget-'));
    dirs.push(dir);
    const peer = await TestPeer.open();
    try {
      const writer = await createQueueNode({ logger: silentLogger(), dataDir: dir, fsync: 'never' });
      for (let i = 0; i < 48; i++) expect(text(await peer.exchange(writer.address, `PUT:${String(i).padStart(3, '0')}${body(60 * KIB - 3)}`))).toBe(`PUT ${60 * KIB} bytes`);
      await writer.close();

      // 2.8 MiB of messages, a 1 MiB budget.
      const node = await createQueueNode({ logger: silentLogger(), dataDir: dir, fsync: 'never', maxMemory: 1024 * KIB });
      nodes.push(node);
      const memory = node.stats().memory;
      expect(memory?.used).toBeGreaterThan(48 * 60 * KIB);
      expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('48');
      expect(text(await peer.exchange(node.address, 'PUT:more'))).toMatch(/^ERR FULL the node memory budget is used up/);
      // Served in order, all of them.
      for (let i = 0; i < 40; i++) expect(text(await peer.exchange(node.address, 'GET')).slice(0, 3)).toBe(String(i).padStart(3, '0'));
      expect(text(await peer.exchange(node.address, 'PUT:more'))).toBe('PUT 4 bytes');
      expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('9');
    } finally {
      await peer.close();
    }
  });
});

describe('memory budget: every charge is given back', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  const ops = fc.array(
    fc.oneof(
      {
        arbitrary: fc.record({ op: fc.constant('put' as const), queue: fc.constantFrom('a', 'b'), key: fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { nil: undefined }), text: fc.constantFrom('x', 'héllo', 'yyyyyyyy') }),
        weight: 4,
      },
      { arbitrary: fc.record({ op: fc.constantFrom('get' as const, 'reserve' as const, 'reserve' as const), queue: fc.constantFrom('a', 'b') }), weight: 3 },
      { arbitrary: fc.record({ op: fc.constantFrom('ack' as const, 'ack' as const, 'nack' as const, 'nackLater' as const) }), weight: 3 },
      { arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(50, 500, 1_000) }), weight: 1 },
    ),
    { minLength: 10, maxLength: 40 },
  );

  for (const engine of ['memory', 'log'] as const) {
    it(`on the ${engine} engine: leases, delays, dead letters and keys leave nothing charged`, async () => {
      const seen = { acks: 0, nacks: 0, deadLettered: 0 };
      await fc.assert(
        fc.asyncProperty(ops, async (steps) => {
          const dir = await mkdtemp(join(tmpdir(), 'streampy-budget-'));
          dirs.push(dir);
          const harness = await dispatchHarness({
            limits: { maxDeliveries: 2, dedupWindowMs: 1_000 },
            leaseMs: 700,
            ...(engine === 'log' ? { engine: (name: string) => createLogEngine({ dir: join(dir, name), fsync: 'never', logger: silentLogger() }) } : {}),
          });
          const { budget, clock, one, registry } = harness;
          const idle = (): number => {
            // What open queues cost holding nothing: themselves and their ring's slots (16 each while small).
            const perQueue = MEMORY_COSTS.queue + (engine === 'log' ? 4096 : 0) + 16 * MEMORY_COSTS.ringSlot;
            return registry.names().length * perQueue;
          };
          const tokens: string[] = [];
          const settled = { ack: 0, nack: 0, nackLater: 0 };
          for (const step of steps) {
            if (step.op === 'put') await one(`PUT${step.key === undefined ? '' : ` key=${step.key}`} q=${step.queue}:${step.text}`);
            else if (step.op === 'get') await one(`GET q=${step.queue}`);
            else if (step.op === 'reserve') {
              for (const delivery of await harness.reserve(`RESERVE q=${step.queue}`)) tokens.push(`${delivery.token} q=${step.queue}`);
            } else if (step.op === 'advance') {
              clock.advance(step.ms);
              await settle();
            } else {
              const token = tokens.shift();
              if (token === undefined) continue;
              const reply = await one(`${step.op === 'ack' ? 'ACK' : 'NACK'} ${token}${step.op === 'nackLater' ? ' delay=200' : ''}`);
              if (reply === 'OK') settled[step.op]++;
            }
          }
          // Every lease and delay over, every message taken, every key's window over.
          for (let round = 0; round < 4; round++) {
            clock.advance(5_000);
            await settle();
            for (const queue of registry.names()) while ((await one(`GET max=100 q=${queue}`)) !== 'MSGS 0:');
          }
          expect(budget.admit(Number.MAX_SAFE_INTEGER, clock.now())).toBe(false);
          expect(budget.used).toBe(idle());
          seen.acks += settled.ack;
          seen.nacks += settled.nack + settled.nackLater;
          seen.deadLettered += harness.stats().queues.dead?.puts ?? 0;
          await registry.close();
          expect(budget.used).toBe(0);
        }),
        { numRuns: engine === 'log' ? 40 : 80, seed: 8 },
      );
      // The runs did what they are about.
      expect(seen.acks).toBeGreaterThan(5);
      expect(seen.nacks).toBeGreaterThan(5);
      expect(seen.deadLettered).toBeGreaterThan(0);
    });
  }
});

/** Lets promise callbacks and the log writer's immediate run (dead letters stored, rounds committed). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}
