import type { NodeStats } from '@streampy/codec';
import type { Guarantee } from '@streampy/worker';

/** What the demo reads from a queue node's STATS reply. */
export interface QueueCounts {
  /** Ready to be taken. */
  readonly ready: number;
  /** Reserved by a worker and not acked yet: they come back when their lease ends. */
  readonly leased: number;
  /** Nacked with a delay, waiting to become ready. */
  readonly delayed: number;
  /** Every put the node accepted since it started. */
  readonly puts: number;
  /** Leases the worker acknowledged: balls it finished playing. */
  readonly acks: number;
  /** The last few message bodies put, oldest first. */
  readonly recent: readonly string[];
}

/** The default queue's counts out of a node's STATS (typed and checked by the codec); undefined before the queue exists. */
export function readQueueCounts(stats: NodeStats): QueueCounts | undefined {
  const queue = stats.queues.default;
  if (queue === undefined) return undefined;
  return { ready: queue.size, leased: queue.leased, delayed: queue.delayed, puts: queue.puts, acks: queue.acks, recent: stats.recent ?? [] };
}

/** Messages the queue node holds, whatever state they are in. */
export function ballsHeld(counts: QueueCounts): number {
  return counts.ready + counts.leased + counts.delayed;
}

/**
 * Balls in play. Under a lease the worker puts the return before it acks the ball it was
 * given, so for a moment the node holds both: the leased one is already played. Those are the
 * returns put (puts beyond the seeded balls) not yet matched by an ack, at most the leased
 * count. Under at-most-once (GET) the ball in the worker's hand is in no queue at all.
 */
export function ballsInPlay(counts: QueueCounts, seeded: number, guarantee: Guarantee): number {
  if (guarantee === 'at-most-once') return ballsHeld(counts);
  const returnedBeforeAck = Math.min(counts.leased, Math.max(0, counts.puts - seeded - counts.acks));
  return ballsHeld(counts) - returnedBeforeAck;
}
