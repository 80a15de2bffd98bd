import { AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerConfig, type StreamConfig } from '@nats-io/jetstream';
import { MqError } from '../errors.js';
import { unavailable, type JetStreamLink } from './link.js';
import { CONSUMER, queueSubject, streamName } from './names.js';

/** The rules a queue's stream and consumer are made with; every node on the stream must agree on them. */
export interface StreamRules {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly dedupWindowMs: number;
  /** The consumer's ack wait: how long a lease lasts when its node stops keeping it alive. */
  readonly ackWaitMs: number;
}

const NANOS = 1_000_000;
/** What the server says when a stream or consumer exists with another configuration. */
const STREAM_IN_USE = 10_058;
const CONSUMER_NOT_FOUND = 10_014;

/** JetStream's "no limit" for a bound given as "as large as can be". */
const limitOf = (value: number): number => (value >= Number.MAX_SAFE_INTEGER ? -1 : value);

function streamConfig(link: JetStreamLink, queue: string, rules: StreamRules, bounded: boolean): StreamConfig {
  const { prefix, replicas } = link.config;
  return {
    name: streamName(prefix, queue),
    subjects: [queueSubject(prefix, queue)],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    discard: DiscardPolicy.New,
    max_msgs: bounded ? limitOf(rules.maxMessages) : -1,
    // Never max_bytes: nats-server 2.9.10 checks discard-new against the body's size but stores
    // more (its per-message overhead), then evicts the oldest message to fit, acknowledged or
    // not (measured: see docs/jetstream.md). The node bounds the bytes itself (JetStreamBackend).
    max_bytes: -1,
    // 0 would mean JetStream's default (2 minutes): a 0 ms window is the shortest it keeps.
    duplicate_window: Math.max(rules.dedupWindowMs, 1) * NANOS,
    description: `streampy queue ${queue}`,
  } as StreamConfig;
}

function consumerConfig(rules: StreamRules): Partial<ConsumerConfig> {
  return {
    durable_name: CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: rules.ackWaitMs * NANOS,
    // streampy dead-letters by itself: the server must never park a message.
    max_deliver: -1,
    max_ack_pending: -1,
  };
}

/** The fields two nodes must agree on, as `name: mine vs theirs`, for an error that says what differs. */
function differences(mine: Readonly<Record<string, unknown>>, theirs: Readonly<Record<string, unknown>>, fields: readonly string[]): string[] {
  const out: string[] = [];
  for (const field of fields) {
    const a = JSON.stringify(mine[field]);
    const b = JSON.stringify(theirs[field]);
    if (a !== b) out.push(`${field} ${b} (this node: ${a})`);
  }
  return out;
}

const STREAM_FIELDS = ['subjects', 'retention', 'num_replicas', 'discard', 'max_msgs', 'duplicate_window'] as const;
const CONSUMER_FIELDS = ['ack_policy', 'ack_wait', 'max_deliver'] as const;

function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

/**
 * Makes the stream and the shared consumer of `queue`, or finds them as another node made
 * them: creating with the same configuration is idempotent on the server, so nodes racing to
 * create a queue all succeed; one made with other rules is a clear `ERR_BAD_OPTION`.
 */
export async function ensureQueue(link: JetStreamLink, queue: string, rules: StreamRules, bounded: boolean): Promise<void> {
  link.check(`open queue ${queue}`);
  const stream = streamConfig(link, queue, rules, bounded);
  try {
    await link.jsm.streams.add(stream);
  } catch (error) {
    if (apiCode(error) !== STREAM_IN_USE) throw unavailable(`create stream ${stream.name}`, error);
    const found = await link.jsm.streams.info(stream.name).catch((cause: unknown) => {
      throw unavailable(`describe stream ${stream.name}`, cause);
    });
    const differ = differences(stream, found.config, STREAM_FIELDS);
    throw new MqError('ERR_BAD_OPTION', `stream ${stream.name} exists with other rules: ${differ.join(', ') || (error as Error).message}; give every node the same --replicas, --max-messages and --dedup-window`, { cause: error });
  }
  const consumer = consumerConfig(rules);
  // Looked up first: nats-server 2.9 takes an add with another ack wait as an update of the
  // shared consumer, which would change every node's leases behind their backs.
  const found = await link.jsm.consumers.info(stream.name, CONSUMER).catch((error: unknown) => {
    if (apiCode(error) === CONSUMER_NOT_FOUND) return undefined;
    throw unavailable(`describe consumer ${CONSUMER} on ${stream.name}`, error);
  });
  if (found === undefined) {
    try {
      await link.jsm.consumers.add(stream.name, consumer);
      return;
    } catch (error) {
      throw unavailable(`create consumer ${CONSUMER} on ${stream.name}`, error);
    }
  }
  const differ = differences(consumer, found.config, CONSUMER_FIELDS);
  if (differ.length > 0) {
    throw new MqError('ERR_BAD_OPTION', `consumer ${CONSUMER} on stream ${stream.name} exists with other rules: ${differ.join(', ')}; give every node the same --lease-ms`);
  }
}
