import type { NodeStats, QueueStats } from '@streampy/codec';

export type { NodeStats, QueueStats } from '@streampy/codec';

/** What the node counts about its traffic; STATS reports them as they are. */
export interface NodeCounters {
  datagramsIn: number;
  datagramsOut: number;
  framesIn: number;
  badFrames: number;
  unknownVerbs: number;
  badRequests: number;
  /** Every `ERR` reply sent, whatever its code. */
  errors: number;
  sendErrors: number;
}

export function newCounters(): NodeCounters {
  return { datagramsIn: 0, datagramsOut: 0, framesIn: 0, badFrames: 0, unknownVerbs: 0, badRequests: 0, errors: 0, sendErrors: 0 };
}

const RECENT_COUNT = 5;
const RECENT_CHARS = 40;

/**
 * The last bodies put to the default queue, for STATS. Kept as the request's bytes (a view,
 * no copy) and decoded only when STATS asks, so a put pays nothing for it.
 */
export class RecentBodies {
  readonly #bodies: Uint8Array[] = [];
  #next = 0;

  record(body: Uint8Array): void {
    this.#bodies[this.#next] = body;
    this.#next = (this.#next + 1) % RECENT_COUNT;
  }

  /** Oldest first, each cut to 40 characters. */
  list(): string[] {
    const n = this.#bodies.length;
    const texts: string[] = [];
    for (let k = 0; k < n; k++) {
      const body = this.#bodies[(this.#next + k) % n] as Uint8Array;
      const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
      texts.push(text.length > RECENT_CHARS ? text.slice(0, RECENT_CHARS) : text);
    }
    return texts;
  }
}

export interface StatsSources {
  readonly address: string;
  readonly engine: string;
  readonly uptimeMs: number;
  readonly counters: NodeCounters;
  readonly deadLettersForwarded: number;
  readonly deadLettersPending: number;
  readonly queues: Iterable<{ readonly name: string; stats(): QueueStats }>;
  readonly recent: RecentBodies;
}

/** The STATS reply of a node, in the order its fields have always had. */
export function nodeStats(sources: StatsSources): NodeStats {
  const queues: Record<string, QueueStats> = {};
  for (const queue of sources.queues) queues[queue.name] = queue.stats();
  return {
    address: sources.address,
    engine: sources.engine,
    uptimeMs: sources.uptimeMs,
    ...sources.counters,
    deadLettersForwarded: sources.deadLettersForwarded,
    deadLettersPending: sources.deadLettersPending,
    queues,
    recent: sources.recent.list(),
  };
}
