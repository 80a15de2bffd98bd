import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@streampy/testing';
import { createWorker, type Worker, type WorkerOptions } from '../src/index.js';
import { FakeClient, leased, play, turn } from './fake-client.js';

const workers: Worker[] = [];
afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.stop();
});

async function start(client: FakeClient, options: Partial<WorkerOptions>): Promise<Worker> {
  const worker = createWorker({ inputs: ['127.0.0.1:1/in'], outputs: ['127.0.0.1:1/out'], fn: (m) => m, clock: client.clock, connect: client.connect(), ...options });
  workers.push(worker);
  await worker.start();
  return worker;
}

describe('worker on a manual clock', () => {
  it('extends a lease held past half its length, before it runs out, and acks once done', async () => {
    const clock = new ManualClock();
    const client = new FakeClient(clock);
    client.ready.push(leased('long', '7'));
    let finish: (value: string) => void = () => {};
    const worker = await start(client, { leaseMs: 200, concurrency: 1, fn: () => new Promise<string>((resolve) => (finish = resolve)) });
    await turn();
    expect(client.count('RESERVE')).toBe(1);
    await play(clock, 99);
    // Held for less than half the lease: nothing to extend yet.
    expect(client.count('EXTEND')).toBe(0);
    await play(clock, 101);
    const extends_ = client.calls.filter((call) => call.verb === 'EXTEND');
    expect(extends_.map((call) => call.at)).toEqual([100, 200]);
    expect(extends_.every((call) => call.arg === '7.1.n0nce1')).toBe(true);
    finish('long done');
    await turn();
    expect(client.puts).toEqual(['long done']);
    expect(client.calls.filter((call) => call.verb === 'ACK').map((call) => call.arg)).toEqual(['7.1.n0nce1']);
    // Settled: renewal has nothing left to extend, however long the clock runs.
    await play(clock, 1000);
    expect(client.count('EXTEND')).toBe(2);
    expect(worker.stats()).toMatchObject({ processed: 1, acked: 1, inFlight: 0 });
  });

  it('backs off when idle (doubling up to idle.maxMs) and takes new work within one backoff', async () => {
    const clock = new ManualClock();
    const client = new FakeClient(clock);
    const worker = await start(client, { concurrency: 2, idle: { minMs: 1, maxMs: 100 } });
    await play(clock, 300);
    const before = client.count('RESERVE');
    await play(clock, 1000);
    // Two lanes backing off to 100 ms make 10 requests each per second; a busy poll thousands.
    const idle = client.count('RESERVE') - before;
    expect(idle).toBeGreaterThanOrEqual(18);
    expect(idle).toBeLessThanOrEqual(22);
    expect(worker.stats().backoffs).toBeGreaterThan(0);
    client.ready.push(leased('wake up'));
    const putAt = clock.now();
    await play(clock, 100);
    expect(client.puts).toEqual(['wake up']);
    expect((client.calls.find((call) => call.verb === 'PUT')?.at ?? Infinity) - putAt).toBeLessThanOrEqual(100);
    expect(worker.stats().processed).toBe(1);
  });

  it('retries a put to a full output with growing pauses, and never retries an at-most-once put after a timeout', async () => {
    const clock = new ManualClock();
    const client = new FakeClient(clock);
    const failures = ['ERR_FULL', 'ERR_FULL', 'ERR_FULL'];
    const put = client.put.bind(client);
    client.put = (message) => {
      const code = failures.shift();
      if (code === undefined) return put(message);
      client.calls.push({ verb: 'PUT', at: clock.now() });
      return Promise.reject(Object.assign(new Error(code), { code }));
    };
    client.ready.push(leased('m'));
    const worker = await start(client, { concurrency: 1 });
    await play(clock, 100);
    expect(client.calls.filter((call) => call.verb === 'PUT').map((call) => call.at)).toEqual([0, 5, 15, 35]);
    expect(client.puts).toEqual(['m']);
    expect(worker.stats()).toMatchObject({ sent: 1, dropped: 0, backoffs: expect.any(Number) as number });

    const once = new FakeClient(new ManualClock());
    once.put = () => {
      once.calls.push({ verb: 'PUT', at: once.clock.now() });
      return Promise.reject(Object.assign(new Error('no reply'), { code: 'ERR_TIMEOUT' }));
    };
    once.ready.push(leased('lost'));
    const lossy = await start(once, { concurrency: 1, guarantee: 'at-most-once', batch: 1 });
    await play(once.clock, 5_000);
    expect(once.count('PUT')).toBe(1);
    expect(lossy.stats()).toMatchObject({ dropped: 1, timeouts: 1, sent: 0 });
  });
});
