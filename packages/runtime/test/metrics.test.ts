import { request } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { LatencyHistogram, StatsMetrics, startMetricsServer, type MetricsServer } from '../src/index.js';

interface FakeStats {
  puts: Record<string, number>;
  ready: Record<string, number>;
  badFrames: number;
  latency: Record<string, LatencyHistogram>;
}

function fakeMetrics(stats: FakeStats, calls: { n: number }): StatsMetrics<FakeStats> {
  return new StatsMetrics<FakeStats>(
    () => {
      calls.n++;
      return stats;
    },
    [
      { name: 'streampy_puts_total', help: 'Messages put.', type: 'counter', labelNames: ['queue'], read: (s) => Object.entries(s.puts).map(([queue, value]) => ({ labels: { queue }, value })) },
      { name: 'streampy_ready_messages', help: 'Messages ready.', type: 'gauge', labelNames: ['queue'], read: (s) => Object.entries(s.ready).map(([queue, value]) => ({ labels: { queue }, value })) },
      { name: 'streampy_bad_frames_total', help: 'Datagrams that were no frame.', type: 'counter', read: (s) => s.badFrames },
    ],
    [
      {
        name: 'streampy_put_to_get_seconds',
        help: 'Time from put to get.',
        labelNames: ['queue'],
        read: (s) => Object.entries(s.latency).map(([queue, histogram]) => ({ labels: { queue }, histogram })),
      },
    ],
  );
}

function get(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.once('error', reject);
    req.end();
  });
}

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('LatencyHistogram', () => {
  it('puts each duration in the first bucket whose bound holds it', () => {
    const histogram = new LatencyHistogram();
    const bounds = LatencyHistogram.bounds();
    for (const seconds of [0, 1e-6, 1.5e-6, 2e-6, 3e-6, 0.001, 0.5, 16, 100, -1, Number.NaN]) histogram.observe(seconds);
    const expected = new Float64Array(bounds.length);
    for (const seconds of [0, 1e-6, 1.5e-6, 2e-6, 3e-6, 0.001, 0.5, 16, 100, -1, Number.NaN]) {
      const value = seconds > 0 ? seconds : 0;
      const index = bounds.findIndex((bound) => value <= bound + 1e-12);
      expected[index] = (expected[index] as number) + 1;
    }
    expect([...histogram.counts]).toEqual([...expected]);
    expect(histogram.count).toBe(11);
    expect(histogram.sum).toBeCloseTo(0 + 1e-6 + 1.5e-6 + 2e-6 + 3e-6 + 0.001 + 0.5 + 16 + 100, 9);
    expect(bounds[0]).toBe(1e-6);
    expect(bounds.at(-1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('startMetricsServer over StatsMetrics', () => {
  it('serves Prometheus text that parses back to the stats, read once per scrape', async () => {
    const latency = new LatencyHistogram();
    latency.observe(0.0005);
    latency.observe(0.003);
    latency.observe(0.003);
    const stats: FakeStats = { puts: { default: 7, dead: 0 }, ready: { default: 3, dead: 0 }, badFrames: 2, latency: { default: latency } };
    const calls = { n: 0 };
    const server = await startMetricsServer({ metrics: fakeMetrics(stats, calls) });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const first = await get(server.url);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(calls.n).toBe(1);
    const families = new Map(parsePrometheusTextFormat(first.body).map((family) => [family.name, family]));
    expect(families.get('streampy_puts_total')?.type).toBe('COUNTER');
    expect(families.get('streampy_puts_total')?.metrics).toEqual([
      { labels: { queue: 'default' }, value: '7' },
      { labels: { queue: 'dead' }, value: '0' },
    ]);
    expect(families.get('streampy_ready_messages')?.type).toBe('GAUGE');
    expect(families.get('streampy_bad_frames_total')?.metrics).toEqual([{ value: '2' }]);
    const histogram = families.get('streampy_put_to_get_seconds');
    expect(histogram?.type).toBe('HISTOGRAM');
    // The parser folds a labelled histogram's buckets into one sample and drops its labels, sum
    // and count: those are read off the text.
    const sample = histogram?.metrics[0];
    expect(first.body).toMatch(/^streampy_put_to_get_seconds_count\{queue="default"\} 3$/m);
    expect(first.body).toMatch(/^streampy_put_to_get_seconds_sum\{queue="default"\} 0\.0065\d*$/m);
    expect(first.body).toMatch(/^streampy_put_to_get_seconds_bucket\{queue="default",le="\+Inf"\} 3$/m);
    // Cumulative: nothing at or below 256 us, one by 512 us, all three by 4096 us.
    expect(sample?.buckets?.['0.000256']).toBe('0');
    expect(sample?.buckets?.['0.000512']).toBe('1');
    expect(sample?.buckets?.['0.004096']).toBe('3');
    expect(sample?.buckets?.['+Inf']).toBe('3');

    // Counters follow the stats: nothing is cached between scrapes.
    stats.puts.default = 9;
    stats.ready.default = 0;
    const second = parsePrometheusTextFormat((await get(server.url)).body);
    expect(calls.n).toBe(2);
    expect(second.find((family) => family.name === 'streampy_puts_total')?.metrics[0]?.value).toBe('9');
    expect(second.find((family) => family.name === 'streampy_ready_messages')?.metrics[0]?.value).toBe('0');
  });

  it('answers 404 off /metrics, 405 to other methods and 500 when the stats fail, and keeps serving', async () => {
    let fail = true;
    const metrics = new StatsMetrics(
      () => {
        if (fail) throw new Error('stats broke');
        return { n: 1 };
      },
      [{ name: 'streampy_n_total', help: 'n', type: 'counter', read: (s: { n: number }) => s.n }],
    );
    const server = await startMetricsServer({ address: '127.0.0.1:0', metrics });
    servers.push(server);
    const base = server.url.replace(/\/metrics$/, '');
    expect((await get(`${base}/`)).status).toBe(404);
    expect((await get(server.url, 'POST')).status).toBe(405);
    const failed = await get(server.url);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatch(/stats broke/);
    fail = false;
    const ok = await get(`${server.url}?x=1`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatch(/^streampy_n_total 1$/m);
  });
});
