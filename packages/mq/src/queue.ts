import { DedupWindow } from './dedup.js';
import type { Timed } from './heap.js';
import { MessageRing, type RingSlot } from './ring.js';
import type { RecoveredState, StorageEngine } from './storage/engine.js';

/** A message out of the ready ring: leased to a consumer, or waiting out a NACK delay. */
export class HeldMessage implements Timed {
  dueAt = 0;
  heapIndex = -1;
  state: 'leased' | 'delayed' = 'leased';

  constructor(
    readonly queue: Queue,
    readonly seq: number,
    readonly body: string,
    readonly bytes: number,
    readonly enqueuedAt: number,
    public deliveries: number,
  ) {}

  /** The lease token of the current delivery: `<messageId>.<delivery>`. */
  get token(): string {
    return `${messageIdOf(this.seq)}.${this.deliveries}`;
  }
}

/** What a queue needs from its node: the shared deadline heap and the dead-letter route. */
export interface QueueContext {
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxDeliveries: number;
  readonly dedupWindowMs: number;
  readonly maxDedupKeys: number;
  schedule(message: HeldMessage): void;
  unschedule(message: HeldMessage): void;
  /** Takes a message that used up its deliveries; the node removes it from `from.engine` once it is safe elsewhere. */
  deadLetter(from: Queue, message: HeldMessage): void;
}

export interface QueueStats {
  /** Ready messages: what GET could return now (the SIZE reply). */
  readonly size: number;
  readonly leased: number;
  readonly delayed: number;
  /** Body bytes of every message held: ready, leased and delayed. */
  readonly bytes: number;
  readonly puts: number;
  readonly gets: number;
  readonly reserves: number;
  readonly acks: number;
  readonly nacks: number;
  readonly redeliveries: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly rejectedFull: number;
}

export type PutOutcome = 'stored' | 'duplicate' | 'full';

/** Largest delivery count kept per message (and the largest `maxDeliveries`). */
export const MAX_DELIVERIES = 65_535;

/**
 * The message id of a seq as tokens and dead-letter keys carry it: base 36, shorter than
 * decimal (a clock-based seq of 16 digits takes 10 characters).
 */
export function messageIdOf(seq: number): string {
  return seq.toString(36);
}

/** Canonical base-36 message id (no leading zero), then a delivery count of 1-5 digits. */
const TOKEN_RE = /^([1-9a-z][0-9a-z]{0,10}|0)\.([1-9]\d{0,4})$/;

/**
 * One named queue: its working set in memory (a ring of ready messages plus the leased and
 * delayed ones) and every guarantee rule; the storage engine only records what changed.
 */
export class Queue {
  readonly name: string;
  readonly engine: StorageEngine;
  /** The node's dead-letter queue keeps its messages whatever their delivery count. */
  readonly isDeadLetterQueue: boolean;
  readonly #ready = new MessageRing();
  /** Leased and delayed messages by seq. */
  readonly #held = new Map<number, HeldMessage>();
  readonly #dedup: DedupWindow;
  readonly #context: QueueContext;
  #nextSeq = 1;
  #bytes = 0;
  #leased = 0;
  #delayed = 0;
  readonly counters = {
    puts: 0,
    gets: 0,
    reserves: 0,
    acks: 0,
    nacks: 0,
    redeliveries: 0,
    deadLettered: 0,
    duplicates: 0,
    rejectedFull: 0,
  };

  constructor(name: string, engine: StorageEngine, context: QueueContext, isDeadLetterQueue: boolean) {
    this.name = name;
    this.engine = engine;
    this.isDeadLetterQueue = isDeadLetterQueue;
    this.#context = context;
    this.#dedup = new DedupWindow(context.dedupWindowMs, context.maxDedupKeys);
  }

  /** Ready messages. */
  get size(): number {
    return this.#ready.length;
  }

  /** Every message held: ready, leased and delayed. */
  get held(): number {
    return this.#ready.length + this.#held.size;
  }

  restore(state: RecoveredState, now: number): void {
    let nextSeq = state.nextSeq;
    for (const message of state.messages) {
      const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength).toString('utf8');
      this.#ready.pushBack(message.seq, body, message.body.byteLength, message.enqueuedAt, 0);
      this.#bytes += message.body.byteLength;
      if (message.seq >= nextSeq) nextSeq = message.seq + 1;
    }
    this.#nextSeq = nextSeq;
    this.#dedup.restore(state.keys, now);
  }

  /**
   * Enqueues at the tail. `bounded` is false for dead letters: they were accepted once
   * already, and nothing accepted is dropped.
   */
  put(body: string, raw: Uint8Array, key: string | undefined, now: number, bounded = true): PutOutcome {
    const bytes = raw.byteLength;
    if (key !== undefined && this.#dedup.has(key, now)) {
      this.counters.duplicates++;
      return 'duplicate';
    }
    if (bounded && (this.held + 1 > this.#context.maxMessages || this.#bytes + bytes > this.#context.maxBytes)) {
      this.counters.rejectedFull++;
      return 'full';
    }
    const seq = this.#nextSeq++;
    this.engine.append(key === undefined ? { seq, body: raw, enqueuedAt: now } : { seq, body: raw, key, enqueuedAt: now });
    if (key !== undefined) this.#dedup.record(key, now, now);
    this.#ready.pushBack(seq, body, bytes, now, 0);
    this.#bytes += bytes;
    this.counters.puts++;
    return 'stored';
  }

  /** Byte size of the oldest ready message, or -1 when none is ready. */
  headBytes(): number {
    return this.#ready.length === 0 ? -1 : this.#ready.headBytes();
  }

  /** At-most-once: removes the oldest ready message into `out`. */
  get(out: RingSlot): boolean {
    if (!this.#ready.shift(out)) return false;
    this.engine.remove(out.seq);
    this.#bytes -= out.bytes;
    this.counters.gets++;
    return true;
  }

  /** At-least-once: leases the oldest ready message until `now + leaseMs`. */
  reserve(now: number, leaseMs: number, slot: RingSlot): HeldMessage | undefined {
    if (!this.#ready.shift(slot)) return undefined;
    // Capped to the ring's 16-bit column; only a dead-letter queue, which has no limit, gets near it.
    const deliveries = Math.min(slot.deliveries + 1, MAX_DELIVERIES);
    const message = new HeldMessage(this, slot.seq, slot.body, slot.bytes, slot.enqueuedAt, deliveries);
    message.dueAt = now + leaseMs;
    this.#held.set(message.seq, message);
    this.#leased++;
    this.counters.reserves++;
    if (message.deliveries > 1) this.counters.redeliveries++;
    this.#context.schedule(message);
    return message;
  }

  /** The leased message a token names, if that delivery still holds its lease. */
  leaseOf(token: string): HeldMessage | undefined {
    const match = TOKEN_RE.exec(token);
    if (!match) return undefined;
    const message = this.#held.get(parseInt(match[1] as string, 36));
    if (message?.state !== 'leased' || message.deliveries !== Number(match[2])) return undefined;
    return message;
  }

  ack(message: HeldMessage): void {
    this.#release(message);
    this.engine.remove(message.seq);
    this.counters.acks++;
  }

  /** Gives a lease back: visible again at once or after `delayMs`, or dead-lettered when out of deliveries. */
  nack(message: HeldMessage, delayMs: number, now: number): void {
    this.counters.nacks++;
    if (this.#outOfDeliveries(message)) return this.#deadLetter(message);
    if (delayMs <= 0) return this.#makeVisible(message);
    this.#leased--;
    this.#delayed++;
    message.state = 'delayed';
    message.dueAt = now + delayMs;
    this.#context.schedule(message);
  }

  extend(message: HeldMessage, leaseMs: number, now: number): void {
    message.dueAt = now + leaseMs;
    this.#context.schedule(message);
  }

  /** Called by the node's timer when a lease expires or a NACK delay ends (already out of the heap). */
  onDue(message: HeldMessage): void {
    if (message.state === 'leased' && this.#outOfDeliveries(message)) return this.#deadLetter(message);
    this.#makeVisible(message);
  }

  stats(): QueueStats {
    return { size: this.#ready.length, leased: this.#leased, delayed: this.#delayed, bytes: this.#bytes, ...this.counters };
  }

  #outOfDeliveries(message: HeldMessage): boolean {
    return !this.isDeadLetterQueue && message.deliveries >= this.#context.maxDeliveries;
  }

  #makeVisible(message: HeldMessage): void {
    this.#release(message);
    // The oldest message goes back to the head, so it is the next one handed out.
    this.#ready.pushFront(message.seq, message.body, message.bytes, message.enqueuedAt, message.deliveries);
    this.#bytes += message.bytes;
  }

  #deadLetter(message: HeldMessage): void {
    this.#release(message);
    this.counters.deadLettered++;
    this.#context.deadLetter(this, message);
  }

  /** Takes a leased or delayed message out of this queue's accounting and the heap. */
  #release(message: HeldMessage): void {
    this.#context.unschedule(message);
    this.#held.delete(message.seq);
    if (message.state === 'leased') this.#leased--;
    else this.#delayed--;
    this.#bytes -= message.bytes;
  }
}
