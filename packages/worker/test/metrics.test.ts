import { afterEach, describe, expect, it } from 'vitest';
import { scrapeMetrics as scrape, waitFor } from '@streampy/testing';
import { createWorker, newWorkerHistograms } from '../src/index.js';
import { addressOf, connect, drain, spawnWorker, startNode } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The value of an unlabelled sample line in Prometheus text (also a histogram's `_count`). */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('worker metrics', () => {
  it('times the function and each message end to end, once per processed message', async () => {
    const node = await startNode();
    cleanups.push(() => node.close());
    const queue = await connect(node);
    cleanups.push(() => queue.close());
    for (let i = 0; i < 30; i++) await queue.put(`m${i}`, { queue: 'in' });
    const histograms = newWorkerHistograms();
    const worker = createWorker({ inputs: [addressOf(node, 'in')], outputs: [addressOf(node, 'out')], fn: (m: string) => m.toUpperCase(), histograms, batch: 4 });
    await worker.start();
    cleanups.push(() => worker.stop());
    await waitFor(() => worker.stats().processed === 30, { what: '30 processed' });
    expect(histograms.functionTime.count).toBe(30);
    expect(histograms.endToEnd.count).toBe(30);
    expect(histograms.endToEnd.sum).toBeGreaterThanOrEqual(histograms.functionTime.sum);
    expect((await drain(queue, 'out')).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `M${i}`).sort());
  });

  it('streampy-worker --metrics-address serves /metrics that agree with its counts', async () => {
    const node = await startNode();
    cleanups.push(() => node.close());
    const queue = await connect(node);
    cleanups.push(() => queue.close());
    for (let i = 0; i < 20; i++) await queue.put(`m${i}`, { queue: 'in' });
    const worker = spawnWorker([addressOf(node, 'in'), addressOf(node, 'out'), '--function', 'passthrough', '--metrics-address', '127.0.0.1:0', '--json', '--log-level', 'warn']);
    cleanups.push(async () => {
      worker.kill('SIGKILL');
      await worker.exited;
    });
    const ready = await waitFor(() => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited: ${worker.stderr()}`);
      const line = worker.stdout().split('\n')[0] ?? '';
      return line.endsWith('}') ? (JSON.parse(line) as { event: string; metrics?: string }) : undefined;
    }, { what: 'the running line' });
    expect(ready.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await waitFor(() => (node.stats().queues.out?.size ?? 0) === 20, { what: '20 results' });
    const text = await waitFor(async () => {
      const scraped = await scrape(ready.metrics as string);
      return sample(scraped, 'streampy_worker_acks_total') === 20 ? scraped : undefined;
    }, { what: 'the 20 acks in /metrics' });
    expect(sample(text, 'streampy_worker_processed_total')).toBe(20);
    expect(sample(text, 'streampy_worker_sent_total')).toBe(20);
    expect(sample(text, 'streampy_worker_function_seconds_count')).toBe(20);
    expect(sample(text, 'streampy_worker_end_to_end_seconds_count')).toBe(20);
    worker.stop();
    expect(await worker.exited).toBe(0);
  });
});
