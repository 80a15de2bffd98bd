import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { formatHostPort, parseHostPort, type HostPort } from './address.js';

/*
 * Prometheus metrics of a node, read at scrape time. The node keeps its counters as it always
 * has (the ones STATS reports); a scrape takes one stats snapshot and every metric reads from
 * it, so the hot path pays nothing for metrics and /metrics agrees with STATS by construction.
 * Only histograms need an observation per event: a LatencyHistogram costs one index
 * computation and two additions (no allocation, no search).
 */

/** Label values of one sample, by label name. */
export type MetricLabels = Readonly<Record<string, string>>;

/** One value of a labelled metric. */
export interface MetricSample {
  readonly labels: MetricLabels;
  readonly value: number;
}

/** A counter or gauge whose value(s) are read from a stats snapshot at each scrape. */
export interface MetricSpec<S> {
  /** `streampy_...`; a counter's name ends in `_total`, a duration's in `_seconds`. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  /** Label names the samples carry, e.g. `['queue']`. Default none. */
  readonly labelNames?: readonly string[];
  /** The value, or one sample per label set. */
  readonly read: (stats: S) => number | Iterable<MetricSample>;
}

/** A histogram whose counts live in LatencyHistograms the node observes into. */
export interface HistogramSpec<S> {
  /** `streampy_..._seconds`. */
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  /** The histograms to show, one per label set. */
  readonly read: (stats: S) => Iterable<{ readonly labels: MetricLabels; readonly histogram: LatencyHistogram }>;
}

/** Bucket upper bounds are 2^k microseconds, k = 0..BUCKETS-1 (1 us .. about 16.8 s), then +Inf. */
const BUCKETS = 25;

/**
 * Counts of durations in fixed exponential buckets (upper bounds 1 us, 2 us, 4 us, ... 16.8 s,
 * +Inf). `observe` is the hot-path call: it finds the bucket with `Math.clz32` and adds to a
 * Float64Array, so it costs about what a counter increment does.
 */
export class LatencyHistogram {
  /** Per bucket (not cumulative); the last is +Inf. */
  readonly counts = new Float64Array(BUCKETS + 1);
  sum = 0;
  count = 0;

  /** Records one duration, in seconds. Negative and NaN durations count as 0. */
  observe(seconds: number): void {
    const micros = seconds > 0 ? Math.ceil(seconds * 1e6) : 0;
    // ceil(log2(micros)) for micros >= 2, bucket 0 for 0..1 us; past 2^31 us, +Inf.
    const index = micros <= 1 ? 0 : micros > 0x7fffffff ? BUCKETS : Math.min(BUCKETS, 32 - Math.clz32(micros - 1));
    this.counts[index] = (this.counts[index] as number) + 1;
    this.sum += seconds > 0 ? seconds : 0;
    this.count++;
  }

  /** Records the time since `startMs` (a `performance.now()` reading), in seconds. */
  observeSince(startMs: number, nowMs: number = performance.now()): void {
    this.observe((nowMs - startMs) / 1000);
  }

  /** The bucket upper bounds in seconds, +Inf last. */
  static bounds(): readonly number[] {
    return [...Array.from({ length: BUCKETS }, (_, k) => 2 ** k / 1e6), Number.POSITIVE_INFINITY];
  }
}

const BOUNDS = LatencyHistogram.bounds();
const BOUND_LABELS = BOUNDS.map((bound) => (bound === Number.POSITIVE_INFINITY ? '+Inf' : String(bound)));

/** What prom-client's registry reads of a metric: a hand-made histogram is one of these. */
interface CollectedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: { metricName: string; labels: Record<string, string | number>; value: number }[] }>;
}

/**
 * A prom-client Registry over a stats function: every scrape calls `stats()` once and each
 * metric reads its values from that one snapshot.
 */
export class StatsMetrics<S> {
  readonly registry = new Registry();
  readonly #stats: () => S;
  #current: S | undefined;

  constructor(stats: () => S, metrics: readonly MetricSpec<S>[], histograms: readonly HistogramSpec<S>[] = []) {
    this.#stats = stats;
    const snapshot = (): S => {
      // Outside a scrape (prom-client's own get() on one metric), a fresh snapshot.
      return this.#current ?? this.#stats();
    };
    for (const spec of metrics) this.#register(spec, snapshot);
    for (const spec of histograms) this.registry.registerMetric(histogramMetric(spec, snapshot) as unknown as Metric);
  }

  #register(spec: MetricSpec<S>, snapshot: () => S): void {
    const labelNames = [...(spec.labelNames ?? [])];
    const common = { name: spec.name, help: spec.help, labelNames, registers: [this.registry] };
    if (spec.type === 'counter') {
      new Counter({
        ...common,
        collect() {
          this.reset();
          // inc(0) still makes the series, so a scraper sees a counter from its start.
          for (const sample of samples(spec.read(snapshot()))) this.inc(sample.labels, Math.max(0, sample.value));
        },
      });
    } else {
      new Gauge({
        ...common,
        collect() {
          this.reset();
          for (const sample of samples(spec.read(snapshot()))) this.set(sample.labels, sample.value);
        },
      });
    }
  }

  /** The Prometheus text of one scrape. */
  async metrics(): Promise<string> {
    this.#current = this.#stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.#current = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function samples(value: number | Iterable<MetricSample>): Iterable<MetricSample> {
  return typeof value === 'number' ? [{ labels: {}, value }] : value;
}

function histogramMetric<S>(spec: HistogramSpec<S>, snapshot: () => S): CollectedMetric {
  const { name, help } = spec;
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const { labels, histogram } of spec.read(snapshot())) {
        let cumulative = 0;
        for (let k = 0; k < BOUND_LABELS.length; k++) {
          cumulative += histogram.counts[k] as number;
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: BOUND_LABELS[k] as string }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels: { ...labels }, value: histogram.sum });
        values.push({ metricName: `${name}_count`, labels: { ...labels }, value: histogram.count });
      }
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
  };
}

export interface MetricsServer {
  readonly address: HostPort;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** Where to listen, `host:port`; port 0 lets the OS pick. Default `127.0.0.1:0` (loopback only). */
  readonly address?: string | HostPort;
  readonly metrics: { metrics(): Promise<string>; readonly contentType: string };
}

/**
 * Serves `GET /metrics` (Prometheus text) over node:http; anything else is 404, other methods
 * 405. A scrape that fails answers 500 and never takes the node down.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const listen = typeof options.address === 'string' ? parseHostPort(options.address, 'metrics address') : (options.address ?? { host: '127.0.0.1', port: 0 });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    options.metrics.metrics().then(
      (text) => response.writeHead(200, { 'content-type': options.metrics.contentType }).end(request.method === 'HEAD' ? undefined : text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`),
    );
  });
  // A scraper's idle keep-alive connection must not hold a stopping node open.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: listen.host, port: bound.port };
  return {
    address,
    url: `http://${formatHostPort(address)}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
