// The worker's Prometheus metrics (served by the CLI's --metrics-address): read from worker.stats()
// at scrape time, plus the two histograms the worker observes into on the hot path.
import { LatencyHistogram, StatsMetrics, type MetricSpec } from '@streampy/runtime';
import type { WorkerStats } from './report.js';

/** Observed on the hot path: `observeSince(startMs)` costs about a counter increment. */
export interface WorkerHistograms {
  /** From the call of the function to its result collected (sync or async). */
  readonly functionTime: LatencyHistogram;
  /** From the message taken from its input to its results sent and its lease acked. */
  readonly endToEnd: LatencyHistogram;
}

export function newWorkerHistograms(): WorkerHistograms {
  return { functionTime: new LatencyHistogram(), endToEnd: new LatencyHistogram() };
}

type Counted = Exclude<keyof WorkerStats, 'inFlight'>;

const COUNTERS: readonly [Counted, string, string][] = [
  ['received', 'received', 'Messages taken from the inputs.'],
  ['processed', 'processed', 'Messages whose results were all sent (and acked, when leased).'],
  ['rejected', 'rejected', 'Messages the function threw on.'],
  ['sent', 'sent', 'Output messages delivered.'],
  ['dropped', 'dropped', 'Output messages given up on.'],
  ['timeouts', 'timeouts', 'Requests that got no reply after the client retries (timed out, or the node unreachable).'],
  ['backoffs', 'retries', 'Waits: idle polling backoff and retries of a put to a full output.'],
  ['acked', 'acks', 'Leases acknowledged.'],
  ['nacked', 'nacks', 'Leases given back.'],
];

export const WORKER_METRICS: readonly MetricSpec<WorkerStats>[] = [
  ...COUNTERS.map(([field, name, help]): MetricSpec<WorkerStats> => ({ name: `streampy_worker_${name}_total`, help, type: 'counter', read: (stats) => stats[field] })),
  { name: 'streampy_worker_in_flight_messages', help: 'Messages taken and not yet finished.', type: 'gauge', read: (stats) => stats.inFlight },
];

export function workerMetrics(stats: () => WorkerStats, histograms: WorkerHistograms): StatsMetrics<WorkerStats> {
  return new StatsMetrics(stats, WORKER_METRICS, [
    { name: 'streampy_worker_function_seconds', help: 'Time the function took per message.', read: () => [{ labels: {}, histogram: histograms.functionTime }] },
    { name: 'streampy_worker_end_to_end_seconds', help: 'Time from a message taken to its results sent and its lease settled.', read: () => [{ labels: {}, histogram: histograms.endToEnd }] },
  ]);
}
