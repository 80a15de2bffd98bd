import { afterEach, describe, expect, it } from 'vitest';
import type { QueueClient } from '@streampy/client';
import type { QueueNode } from '@streampy/mq';
import { BUILTIN_FUNCTIONS, createWorker, type Worker, type WorkerFunction, type WorkerOptions } from '../src/index.js';
import { waitFor } from '@streampy/testing';
import { planWorker } from '../src/options.js';
import { addressOf, connect, drain, startListener, startNode } from './helpers.js';

const pong = BUILTIN_FUNCTIONS.pong as WorkerFunction;
const cleanups: (() => Promise<unknown>)[] = [];

function later<T>(cleanup: () => Promise<T>): void {
  cleanups.push(cleanup);
}

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function node(options: Parameters<typeof startNode>[0] = {}): Promise<QueueNode> {
  const started = await startNode(options);
  later(() => started.close());
  return started;
}

async function client(target: QueueNode | string): Promise<QueueClient> {
  const opened = await connect(target);
  later(() => opened.close());
  return opened;
}

async function worker(options: WorkerOptions): Promise<Worker> {
  const created = createWorker({ timeoutMs: 200, retries: 2, ...options });
  await created.start();
  later(() => created.stop());
  return created;
}

describe('pong self-loop', () => {
  for (const guarantee of ['at-most-once', 'at-least-once', 'exactly-once'] as const) {
    it(`plays rounds with one ball and SIZE stays 1 (${guarantee})`, async () => {
      const mq = await node();
      const queue = await client(mq);
      await queue.put('ping');
      const w = await worker({ inputs: [addressOf(mq)], outputs: [addressOf(mq)], fn: pong, guarantee });
      const sizes: number[] = [];
      await waitFor(async () => {
        sizes.push(await queue.size());
        return w.stats().processed >= 200;
      }, { what: '200 rounds' });
      await w.stop();
      expect(Math.max(...sizes)).toBeLessThanOrEqual(1);
      expect(await queue.size()).toBe(1);
      expect(w.stats()).toMatchObject({ rejected: 0, dropped: 0, inFlight: 0 });
      expect(w.stats().sent).toBe(w.stats().processed);
      expect(['ping', 'pong']).toContain(Buffer.from((await queue.get()) ?? []).toString());
    });
  }

  it('plays against a node with the seed protocol', async () => {
    const mq = await node();
    const queue = await client(mq);
    await queue.put('ping');
    const w = await worker({ inputs: [addressOf(mq)], outputs: [addressOf(mq)], fn: pong, protocol: 'seed', concurrency: 1 });
    await waitFor(() => w.stats().processed >= 50, { what: '50 rounds' });
    await w.stop();
    expect(await queue.size()).toBe(1);
  });
});

describe('routing', () => {
  /** Turns an instruction message into the result shape under test. */
  const shapes: WorkerFunction = (message) => {
    const [kind = '', arg = ''] = message.split(':');
    switch (kind) {
      case 'pair':
        return [Number(arg), `pair${arg}`];
      case 'array':
        return arg.split(',');
      case 'pairs':
        return arg.split(',').map((part, index) => [index, part] as const);
      case 'gen':
        return (function* () {
          yield `${arg}-a`;
          yield [2, `${arg}-b`] as const;
          yield null;
        })();
      case 'falsy':
        return [undefined, null, false, ''][Number(arg)] as undefined;
      case 'async':
        return Promise.resolve(`async-${arg}`);
      default:
        return message;
    }
  };

  it('sends plain messages to output 0, pairs to choice mod outputs, lists and generators item by item, falsy nowhere', async () => {
    const mq = await node();
    const queue = await client(mq);
    for (const message of ['pair:0', 'pair:4', 'pair:-1', 'array:x,y', 'pairs:p,q,r,s', 'gen:g', 'falsy:0', 'falsy:1', 'falsy:2', 'falsy:3', 'async:z', 'plain']) {
      await queue.put(message, { queue: 'in' });
    }
    const w = await worker({
      inputs: [addressOf(mq, 'in')],
      outputs: [addressOf(mq, 'o0'), addressOf(mq, 'o1'), addressOf(mq, 'o2')],
      fn: shapes,
      concurrency: 1,
    });
    await waitFor(() => w.stats().processed === 12, { what: 'all inputs processed' });
    await w.stop();
    expect(await drain(queue, 'o0')).toEqual(['pair0', 'x', 'y', 'p', 's', 'g-a', 'async-z', 'plain']);
    expect(await drain(queue, 'o1')).toEqual(['pair4', 'q']);
    expect(await drain(queue, 'o2')).toEqual(['pair-1', 'r', 'g-b']);
    expect(w.stats()).toMatchObject({ processed: 12, sent: 13, rejected: 0 });
  });

  it('a random route with a seed is repeatable, and another seed differs', async () => {
    const mq = await node();
    const queue = await client(mq);
    const run = async (seed: number, prefix: string): Promise<string[][]> => {
      for (let i = 0; i < 30; i++) await queue.put(`m${i}`, { queue: `${prefix}-in` });
      const outputs = [0, 1, 2].map((i) => addressOf(mq, `${prefix}-o${i}`));
      const w = await worker({ inputs: [addressOf(mq, `${prefix}-in`)], outputs, fn: (m) => m, route: 'random', seed, concurrency: 1 });
      await waitFor(() => w.stats().processed === 30, { what: '30 processed' });
      await w.stop();
      return Promise.all([0, 1, 2].map((i) => drain(queue, `${prefix}-o${i}`)));
    };
    const first = await run(42, 'a');
    const again = await run(42, 'b');
    const other = await run(7, 'c');
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    expect(first.flat().sort()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`).sort());
    for (const output of first) expect(output.length).toBeGreaterThan(0);
  });

  it('sends raw payloads to a plain UDP listener with outputType socket', async () => {
    const mq = await node();
    const queue = await client(mq);
    const listener = await startListener();
    later(() => listener.close());
    await queue.put('hello');
    await queue.put('ünïcode');
    await worker({ inputs: [addressOf(mq)], outputs: [listener.address], fn: BUILTIN_FUNCTIONS.upper as WorkerFunction, outputType: 'socket' });
    await waitFor(() => listener.received.length === 2, { what: 'both payloads' });
    expect(listener.received.sort()).toEqual(['HELLO', 'ÜNÏCODE']);
  });
});

describe('polling', () => {
  /** Puts 20 messages on each of queues a and b, runs one worker lane over both, and returns the input of each processed message in order. */
  async function inputOrder(batch: number): Promise<{ order: number[]; queue: QueueClient }> {
    const mq = await node();
    const queue = await client(mq);
    await queue.putMany(Array.from({ length: 20 }, (_, i) => `a${i}`), { queue: 'a' });
    await queue.putMany(Array.from({ length: 20 }, (_, i) => `b${i}`), { queue: 'b' });
    const order: number[] = [];
    const w = await worker({
      inputs: [addressOf(mq, 'a'), addressOf(mq, 'b')],
      outputs: [addressOf(mq, 'out')],
      fn: (message, context) => {
        order.push(context.input);
        return message;
      },
      concurrency: 1,
      batch,
    });
    await waitFor(() => w.stats().processed === 40, { what: '40 processed' });
    return { order, queue };
  }

  it('polls several inputs fairly, round-robin', async () => {
    // Round-robin is per request: one message per request makes it per message.
    const { order } = await inputOrder(1);
    const firstHalf = order.slice(0, 20);
    expect(firstHalf.filter((input) => input === 0).length).toBeGreaterThanOrEqual(8);
    expect(firstHalf.filter((input) => input === 1).length).toBeGreaterThanOrEqual(8);
  });

  it('with batches, takes turns between inputs batch by batch', async () => {
    const { order, queue } = await inputOrder(5);
    // Batches of 5, alternating inputs: a a a a a b b b b b a ...
    const runs = order.join('').match(/0+|1+/g) ?? [];
    expect(runs.map((run) => run.length)).toEqual(Array.from({ length: 8 }, () => 5));
    expect(await drain(queue, 'out')).toHaveLength(40);
  });
});

describe('robustness', () => {
  it('keeps going when pong is given "hello": counted as rejected, the game continues', async () => {
    const mq = await node();
    const queue = await client(mq);
    await queue.put('hello');
    await queue.put('ping');
    const w = await worker({ inputs: [addressOf(mq)], outputs: [addressOf(mq)], fn: pong, guarantee: 'at-most-once' });
    await waitFor(() => w.stats().rejected === 1 && w.stats().processed >= 50, { what: 'rounds after the rejection' });
    await w.stop();
    expect(w.stats().rejected).toBe(1);
    expect(await queue.size()).toBe(1);
  });

  it('continues after its queue node is stopped and restarted on the same port', async () => {
    let mq = await startNode();
    const address = addressOf(mq);
    later(() => mq.close());
    const queue = await client(address);
    await queue.put('ping');
    const w = await worker({ inputs: [address], outputs: [address], fn: pong, timeoutMs: 100, retries: 1 });
    await waitFor(() => w.stats().processed >= 50, { what: 'rounds before the restart' });
    await mq.close();
    await waitFor(() => w.stats().timeouts > 0, { what: 'the worker to notice' });
    const beforeRestart = w.stats().processed;
    mq = await startNode({ address });
    // A memory node forgets its queue: the ball survives only if the worker held it (its put
    // is retried into the new node). Serve a new ball otherwise; the worker must pick it up.
    await waitFor(() => w.stats().processed > beforeRestart || w.stats().inFlight === 0, { what: 'the ball back in play or known lost' });
    if (w.stats().processed === beforeRestart) await queue.put('ping');
    await waitFor(() => w.stats().processed >= beforeRestart + 50, { what: 'rounds after the restart' });
    await w.stop();
    expect(await queue.size()).toBe(1);
  });

  it('stop() finishes the message in hand: its result is put and it is acked', async () => {
    const mq = await node();
    const queue = await client(mq);
    await queue.put('slow', { queue: 'in' });
    let started = false;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const w = await worker({
      inputs: [addressOf(mq, 'in')],
      outputs: [addressOf(mq, 'out')],
      fn: async (message) => {
        started = true;
        await gate;
        return `${message} done`;
      },
    });
    await waitFor(() => started, { what: 'the function to start' });
    // Asked to stop while the message is in hand: the stop waits for it.
    const stopped = w.stop();
    release();
    await stopped;
    expect(await drain(queue, 'out')).toEqual(['slow done']);
    expect(mq.stats().queues.in).toMatchObject({ size: 0, leased: 0, acks: 1 });
  });
});

describe('guarantees', () => {
  it('at-least-once: a function that always throws ends in the dead queue after the delivery limit', async () => {
    const mq = await node({ maxDeliveries: 3 });
    const queue = await client(mq);
    await queue.put('poison', { queue: 'in' });
    await queue.put('fine', { queue: 'in' });
    const w = await worker({
      inputs: [addressOf(mq, 'in')],
      outputs: [addressOf(mq, 'out')],
      fn: (message) => {
        if (message === 'poison') throw new Error('cannot digest');
        return message;
      },
    });
    await waitFor(async () => (await queue.size({ queue: 'dead' })) === 1, { what: 'the poison message in dead' });
    await waitFor(async () => (await queue.size({ queue: 'out' })) === 1, { what: 'the good message through' });
    expect(w.stats().rejected).toBe(3);
    expect(await drain(queue, 'dead')).toEqual(['poison']);
    expect(await drain(queue, 'out')).toEqual(['fine']);
  });

  /**
   * A short lease that is not extended forces a redelivery of every input: each first delivery
   * is held until the node has handed out the same message again.
   */
  async function redeliveryRun(guarantee: 'at-least-once' | 'exactly-once'): Promise<string[]> {
    const mq = await node();
    const queue = await client(mq);
    for (let i = 0; i < 4; i++) await queue.put(`m${i}`, { queue: 'in' });
    const redelivered = new Set<string>();
    const w = await worker({
      inputs: [addressOf(mq, 'in')],
      outputs: [addressOf(mq, 'out')],
      guarantee,
      leaseMs: 100,
      extendLeases: false,
      concurrency: 4,
      fn: async (message, context) => {
        if (context.deliveries === 1) await waitFor(() => redelivered.has(message), { what: `${message} redelivered` });
        else redelivered.add(message);
        return [message, `${message}-copy`];
      },
    });
    await waitFor(() => mq.stats().queues.in?.acks === 4 && w.stats().inFlight === 0, { what: 'every input acked' });
    await w.stop();
    expect(mq.stats().queues.in?.redeliveries).toBeGreaterThanOrEqual(4);
    return (await drain(queue, 'out')).sort();
  }

  it('exactly-once: redelivered inputs produce no duplicate downstream', async () => {
    const out = await redeliveryRun('exactly-once');
    expect(out).toEqual(['m0', 'm0-copy', 'm1', 'm1-copy', 'm2', 'm2-copy', 'm3', 'm3-copy']);
  });

  it('at-least-once: the same redeliveries do duplicate downstream (what exactly-once prevents)', async () => {
    const out = await redeliveryRun('at-least-once');
    expect(out.length).toBeGreaterThan(8);
    expect(new Set(out).size).toBe(8);
  });

  it("keys exactly-once outputs by an input's id when given, so one queue behind two nodes keys alike", () => {
    const fn = (m: string): string => m;
    const through = (input: WorkerOptions['inputs'][number]): string => planWorker({ inputs: [input], outputs: ['127.0.0.1:2'], fn }).inputs[0]?.keyId ?? '';
    expect(through('127.0.0.1:1/jobs')).toBe('127.0.0.1:1/jobs');
    const a = through({ address: '127.0.0.1:1', queue: 'jobs', id: 'nats:SCALEOUT/jobs' });
    const b = through({ address: '127.0.0.1:7', queue: 'jobs', id: 'nats:SCALEOUT/jobs' });
    expect(a).toBe('nats:SCALEOUT/jobs');
    expect(b).toBe(a);
    expect(() => through({ address: '127.0.0.1:1', id: '' })).toThrow(/id must be/);
  });

  it('rejects option combinations it cannot honour', () => {
    const base = { inputs: ['127.0.0.1:1'], outputs: ['127.0.0.1:2'], fn: (m: string) => m };
    expect(() => createWorker({ ...base, protocol: 'seed', guarantee: 'at-least-once' })).toThrow(/seed protocol has no leases/);
    expect(() => createWorker({ ...base, outputType: 'socket', guarantee: 'exactly-once' })).toThrow(/exactly-once needs queue outputs/);
    expect(() => createWorker({ ...base, guarantee: ['at-most-once', 'exactly-once'] })).toThrow(/one per input/);
    expect(() => createWorker({ ...base, inputs: [] })).toThrow(expect.objectContaining({ code: 'ERR_BAD_OPTION' }) as Error);
    expect(() => createWorker({ ...base, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => createWorker({ ...base, inputs: ['nowhere'] })).toThrow(/host:port/);
  });
});
