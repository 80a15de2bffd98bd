import type { NodeStats } from '@streampy/codec';

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
  /** The last few message bodies put, oldest first. */
  readonly recent: readonly string[];
}

/** The default queue's counts out of a node's STATS (typed and checked by the codec); undefined before the queue exists. */
export function readQueueCounts(stats: NodeStats): QueueCounts | undefined {
  const queue = stats.queues.default;
  if (queue === undefined) return undefined;
  return { ready: queue.size, leased: queue.leased, delayed: queue.delayed, puts: queue.puts, recent: stats.recent ?? [] };
}

/** Balls the queue node holds, whatever state they are in. */
export function ballsHeld(counts: QueueCounts): number {
  return counts.ready + counts.leased + counts.delayed;
}
