// The queue node's Prometheus metrics, read from its STATS at scrape time through
// @streampy/runtime's StatsMetrics, so /metrics agrees with STATS by construction.
import type { NodeStats, QueueStats } from '@streampy/codec';
import { StatsMetrics, type LatencyHistogram, type MetricSample, type MetricSpec } from '@streampy/runtime';

/** What one scrape reads: the STATS reply, and the put-to-get histogram of each queue. */
export interface NodeMetricsSource {
  readonly stats: NodeStats;
  readonly latency: ReadonlyMap<string, LatencyHistogram>;
}

/** A numeric field of QueueStats; `extends` is optional (older nodes), so an absent field reads 0. */
type QueueField = Exclude<keyof QueueStats, 'storage'> | 'extends';

function perQueue(field: QueueField): (source: NodeMetricsSource) => MetricSample[] {
  return ({ stats }) =>
    Object.entries(stats.queues).map(([queue, counts]) => ({ labels: { queue }, value: (counts as unknown as Readonly<Record<string, number | undefined>>)[field] ?? 0 }));
}

function queueCounter(name: string, field: QueueField, help: string): MetricSpec<NodeMetricsSource> {
  return { name: `streampy_queue_${name}_total`, help, type: 'counter', labelNames: ['queue'], read: perQueue(field) };
}

function queueGauge(name: string, field: QueueField, help: string): MetricSpec<NodeMetricsSource> {
  return { name: `streampy_queue_${name}`, help, type: 'gauge', labelNames: ['queue'], read: perQueue(field) };
}

function nodeCounter(name: string, read: (stats: NodeStats) => number, help: string): MetricSpec<NodeMetricsSource> {
  return { name: `streampy_node_${name}_total`, help, type: 'counter', read: ({ stats }) => read(stats) };
}

export const NODE_METRICS: readonly MetricSpec<NodeMetricsSource>[] = [
  queueCounter('puts', 'puts', 'Messages put (accepted) to the queue.'),
  queueCounter('gets', 'gets', 'Messages taken by GET.'),
  queueCounter('reserves', 'reserves', 'Messages leased by RESERVE.'),
  queueCounter('acks', 'acks', 'Leases acknowledged.'),
  queueCounter('nacks', 'nacks', 'Leases given back by NACK.'),
  queueCounter('extends', 'extends', 'Leases extended.'),
  queueCounter('redeliveries', 'redeliveries', 'Messages delivered again after a lease ended or a NACK.'),
  queueCounter('dead_lettered', 'deadLettered', 'Messages moved to the dead-letter destination.'),
  queueCounter('duplicates', 'duplicates', 'Puts dropped as duplicates of an idempotency key.'),
  {
    name: 'streampy_queue_refused_total',
    help: 'Puts refused, by reason.',
    type: 'counter',
    labelNames: ['queue', 'reason'],
    read: ({ stats }) => Object.entries(stats.queues).map(([queue, counts]) => ({ labels: { queue, reason: 'full' }, value: counts.rejectedFull })),
  },
  queueGauge('ready_messages', 'size', 'Messages ready to be taken.'),
  queueGauge('leased_messages', 'leased', 'Messages leased and not yet acknowledged.'),
  queueGauge('delayed_messages', 'delayed', 'Messages waiting for their delay to pass.'),
  queueGauge('bytes', 'bytes', 'Body bytes held (ready, leased and delayed).'),
  nodeCounter('datagrams_received', (s) => s.datagramsIn, 'Datagrams received.'),
  nodeCounter('datagrams_sent', (s) => s.datagramsOut, 'Datagrams sent.'),
  nodeCounter('frames_received', (s) => s.framesIn, 'Request frames received.'),
  nodeCounter('bad_frames', (s) => s.badFrames, 'Datagrams that were not a well-formed frame.'),
  {
    name: 'streampy_node_refused_requests_total',
    help: 'Requests refused before reaching a queue, by reason.',
    type: 'counter',
    labelNames: ['reason'],
    read: ({ stats }) => [
      { labels: { reason: 'unknown_verb' }, value: stats.unknownVerbs },
      { labels: { reason: 'bad_request' }, value: stats.badRequests },
    ],
  },
  nodeCounter('error_replies', (s) => s.errors, 'ERR replies sent, whatever their code.'),
  nodeCounter('send_errors', (s) => s.sendErrors, 'Replies the socket failed to send.'),
  nodeCounter('oversized_replies', (s) => s.oversizedReplies ?? 0, 'Replies the operating system refused as too large to send (EMSGSIZE).'),
  nodeCounter('dead_letters_forwarded', (s) => s.deadLettersForwarded, 'Dead letters forwarded to another node.'),
  { name: 'streampy_node_dead_letters_pending', help: 'Dead letters waiting to be forwarded.', type: 'gauge', read: ({ stats }) => stats.deadLettersPending },
  { name: 'streampy_node_uptime_seconds', help: 'Seconds since the node started.', type: 'gauge', read: ({ stats }) => stats.uptimeMs / 1000 },
];

/** The node's metrics over `source` (called once per scrape). */
export function nodeMetrics(source: () => NodeMetricsSource): StatsMetrics<NodeMetricsSource> {
  return new StatsMetrics(source, NODE_METRICS, [
    {
      name: 'streampy_queue_put_to_get_seconds',
      help: 'Time from a message being put to its first GET or RESERVE.',
      labelNames: ['queue'],
      read: ({ latency }) => [...latency].map(([queue, histogram]) => ({ labels: { queue }, histogram })),
    },
  ]);
}
