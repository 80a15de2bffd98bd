import type { NodeStats as WireNodeStats, QueueStats } from '@streampy/codec';
import { newAuthFailureCounts, type AuthFailureCounts } from '@streampy/runtime';
import type { MemoryBudgetStats } from './budget.js';

export type { QueueStats } from '@streampy/codec';

/** A node's STATS: the codec's fields and the access-control counters (PROTOCOL.md, "Access control"). */
export interface NodeStats extends WireNodeStats {
  readonly oversizedReplies: number;
  readonly deniedDatagrams: number;
  readonly authFailures: Readonly<AuthFailureCounts>;
  /** The node's memory budget: its limit, what is accounted now and at most, puts it refused (README, "Memory budget"). */
  readonly memory?: MemoryBudgetStats;
}

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
  /** Replies the socket failed to send, whatever the error (oversized ones included). */
  sendErrors: number;
  /** Replies the OS refused as larger than it sends (EMSGSIZE): dropped, logged. */
  oversizedReplies: number;
  /** Datagrams from sources outside the allowlist: dropped unanswered. */
  deniedDatagrams: number;
  /** Datagrams refused by authentication, by reason: dropped unanswered. */
  readonly authFailures: AuthFailureCounts;
}

export function newCounters(): NodeCounters {
  return {
    datagramsIn: 0,
    datagramsOut: 0,
    framesIn: 0,
    badFrames: 0,
    unknownVerbs: 0,
    badRequests: 0,
    errors: 0,
    sendErrors: 0,
    oversizedReplies: 0,
    deniedDatagrams: 0,
    authFailures: newAuthFailureCounts(),
  };
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
  /** Left out of STATS for an untrusted source (PROTOCOL.md, "STATS and message bodies"). */
  readonly recent: RecentBodies | undefined;
  readonly memory?: MemoryBudgetStats;
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
    // A copy: a caller keeping this object must not see the live counts move.
    authFailures: { ...sources.counters.authFailures },
    deadLettersForwarded: sources.deadLettersForwarded,
    deadLettersPending: sources.deadLettersPending,
    queues,
    ...(sources.memory === undefined ? {} : { memory: sources.memory }),
    ...(sources.recent === undefined ? {} : { recent: sources.recent.list() }),
  };
}
