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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function count(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Reads the default queue's counts out of a STATS object; undefined when it has none.
 * Counters a node does not report read as 0, so an older node still shows a game.
 */
export function readQueueCounts(stats: unknown): QueueCounts | undefined {
  if (!isRecord(stats) || !isRecord(stats.queues)) return undefined;
  const queue = stats.queues.default;
  if (!isRecord(queue)) return undefined;
  return {
    ready: count(queue, 'size'),
    leased: count(queue, 'leased'),
    delayed: count(queue, 'delayed'),
    puts: count(queue, 'puts'),
    recent: strings(stats.recent ?? queue.recent),
  };
}

/** Balls the queue node holds, whatever state they are in. */
export function ballsHeld(counts: QueueCounts): number {
  return counts.ready + counts.leased + counts.delayed;
}
