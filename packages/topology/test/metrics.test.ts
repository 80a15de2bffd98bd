// Every process's /metrics parses as Prometheus text and agrees with STATS.
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '@streampy/client';
import { metricFamilies, metricValue as value, scrapeMetrics as scrape, waitFor } from '@streampy/testing';
import { loadTopology, startTopology, type RunningTopology } from '../src/index.js';
import { killLeftovers, pids, topologyFile } from './processes.js';

const stops: RunningTopology[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((running) => running.stop()));
  killLeftovers();
});

describe('/metrics of every process', () => {
  it('parses as Prometheus text, and its counters agree with STATS', async () => {
    const running = await startTopology(
      await loadTopology(topologyFile('queues:\n  q: { initial-messages: [ping] }\nworkers:\n  w: { function: pong, inputs: [q], outputs: [q], replicas: 2 }\n')),
      { childLog: () => {}, track: (child) => pids.add(child.pid) },
    );
    stops.push(running);
    const ready = running.ready();
    const queueUrl = ready.queues.q?.metrics;
    expect(queueUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const workerUrls = (ready.workers.w ?? []).map((replica) => replica.metrics);
    expect(workerUrls).toHaveLength(2);
    for (const url of workerUrls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await waitFor(async () => ((await running.sample()).queues[0]?.putsPerSecond ?? 0) > 0, { what: 'rounds', timeoutMs: 20_000 });
    // Stop the workers' traffic so STATS and /metrics see the same counts: stop the workers first.
    const client = await createClient({ address: ready.queues.q?.address ?? '' });
    try {
      for (const replica of [0, 1]) await running.process('worker', 'w', replica).stop();
      const stats = await client.stats();
      const text = await scrape(queueUrl as string);
      const queue = stats.queues.default;
      expect(value(text, 'streampy_queue_puts_total', { queue: 'default' })).toBe(queue?.puts);
      expect(value(text, 'streampy_queue_acks_total', { queue: 'default' })).toBe(queue?.acks);
      expect(value(text, 'streampy_queue_reserves_total', { queue: 'default' })).toBe(queue?.reserves);
      expect(value(text, 'streampy_queue_ready_messages', { queue: 'default' })).toBe(queue?.size);
      expect(value(text, 'streampy_node_bad_frames_total')).toBe(stats.badFrames);
      // The runner's own STATS requests keep the frame counter moving: it lies between two STATS read around the scrape.
      const after = await client.stats();
      const frames = value(text, 'streampy_node_frames_received_total') ?? -1;
      expect(frames).toBeGreaterThanOrEqual(stats.framesIn);
      expect(frames).toBeLessThan(after.framesIn);
      expect(metricFamilies(text).find((family) => family.name === 'streampy_queue_put_to_get_seconds')?.type).toBe('HISTOGRAM');
    } finally {
      await client.close();
    }
  });
});
