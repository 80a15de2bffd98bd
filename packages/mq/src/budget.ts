import { getHeapStatistics } from 'node:v8';

/**
 * What the budget charges per item, in bytes of live heap beside the bytes of the item itself,
 * measured on the local backend with `node --expose-gc packages/mq/scripts/measure-costs.mjs`
 * (heapUsed + external before and after 200,000 and 1,000,000 items), rounded up.
 */
export const MEMORY_COSTS = {
  /** A message beside its body's characters: the string's header and its slot in the queue (measured 19-22). */
  message: 24,
  /** One slot of a queue's ring of ready messages (id, time, size, delivery count, body pointer): charged per slot allocated. */
  ringSlot: 30,
  /**
   * What a lease or a NACK delay adds to a message (its record, map entry, deadline slot, id and
   * nonce strings; measured 228-230). Charged from the put on: RESERVE is never refused for
   * memory, so every message is charged as if leased.
   */
  lease: 240,
  /** A remembered idempotency key beside its characters (map entry, string header; measured 91-101). */
  key: 112,
  /** An open queue holding nothing (ring, maps, counters; measured 2.5-2.8 KiB). */
  queue: 4096,
} as const;

/**
 * How far above its budget a node's RSS may go: 256 MiB plus three quarters of the budget,
 * documented (README, "Memory budget") and held by scripts/flood.mjs and
 * test/flood-memory.test.ts. It covers what the budget does not count: the runtime (50-60 MiB
 * at start), the garbage collector's young generation and headroom, and the C heap of
 * datagram buffers (freed 64 KiB receive buffers fragment malloc's arenas, which do not shrink).
 * Measured (scripts/flood.mjs, defaults): 512 MiB budget, 30 s of full-size PUTs then 30 s of keyed
 * PUTs from 6 sockets over 60 queues: RSS peaked at 879 MiB, 367 MiB over (the slack is 640 MiB).
 * Node 24 holds more garbage before it collects than Node 20: test/flood-memory.test.ts (48 MiB
 * budget) peaked at 293 MiB there, within 244 MiB on Node 20, hence the 256 MiB (was 160).
 */
export function rssSlackFor(maxMemory: number): number {
  return 256 * 1024 * 1024 + Math.ceil(maxMemory * 0.75);
}

/** The default budget's ceiling: 512 MiB. */
export const DEFAULT_MAX_MEMORY_CEILING = 512 * 1024 * 1024;

/** The default `maxMemory`: the smaller of 512 MiB and a quarter of V8's heap limit. */
export function defaultMaxMemory(): number {
  return Math.min(DEFAULT_MAX_MEMORY_CEILING, Math.floor(getHeapStatistics().heap_size_limit / 4));
}

/** The bytes a message body costs held as a string: one byte a character when it is ASCII, two otherwise. */
export function bodyCost(characters: number, bytes: number): number {
  return characters === bytes ? bytes : 2 * characters;
}

/** Called when a put would not fit: drops what no promise needs any more (expired keys), at `now`. */
export type Sweeper = (now: number) => void;

export interface MemoryBudgetStats {
  /** The budget, bytes (`maxMemory`). */
  readonly limit: number;
  /** Bytes accounted now across every queue. */
  readonly used: number;
  /** The most ever accounted. */
  readonly peak: number;
  /** Puts refused because they would have passed the budget. */
  readonly refused: number;
}

/**
 * The node-wide memory budget: one account of everything clients can make a node hold, across
 * every queue: message bodies, their bookkeeping, leases and delays (charged with the message),
 * idempotency keys and the queues themselves. A put that would pass it is refused (`ERR FULL`);
 * what is accepted already (recovered messages, dead letters) is charged without asking, so the
 * account can stand above the limit until consumers take messages away.
 */
export class MemoryBudget {
  readonly limit: number;
  #used = 0;
  #peak = 0;
  #refused = 0;
  readonly #sweepers = new Set<Sweeper>();
  #sweptAt = Number.NaN;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  /**
   * Charges `bytes` if the account stays within the limit, after expired keys are dropped
   * node-wide (at most once per clock tick); false, charging nothing, when they do not fit.
   */
  admit(bytes: number, now: number): boolean {
    if (this.#used + bytes > this.limit && now !== this.#sweptAt) {
      this.#sweptAt = now;
      for (const sweep of this.#sweepers) sweep(now);
    }
    if (this.#used + bytes > this.limit) {
      this.#refused++;
      return false;
    }
    this.charge(bytes);
    return true;
  }

  /** Charges what cannot be refused (recovered state, dead letters, queue bookkeeping). */
  charge(bytes: number): void {
    this.#used += bytes;
    if (this.#used > this.#peak) this.#peak = this.#used;
  }

  release(bytes: number): void {
    this.#used -= bytes;
  }

  /** Registers a sweeper for `admit`; the returned function unregisters it. */
  onPressure(sweep: Sweeper): () => void {
    this.#sweepers.add(sweep);
    return () => void this.#sweepers.delete(sweep);
  }

  /** The sentence of an `ERR FULL` this budget caused. */
  refusal(): string {
    return `the node memory budget is used up (${this.#used} of ${this.limit} bytes accounted across all queues); retry later`;
  }

  stats(): MemoryBudgetStats {
    return { limit: this.limit, used: this.#used, peak: this.#peak, refused: this.#refused };
  }
}
