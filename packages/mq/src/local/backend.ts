import { parseLeaseToken } from '@streampy/codec';
import type { Clock } from '@streampy/runtime';
import type { MemoryBudget } from '../budget.js';
import { PUT_DUPLICATE, PUT_STORED, type Awaitable, type MessageBatch, type PutOptions, type PutResult, type QueueBackend } from '../backend.js';
import type { DeadLetterRoute } from '../dead-letter.js';
import type { Scheduler } from '../scheduler.js';
import type { QueueStats } from '../stats.js';
import type { RecoveredBody, RecoveredState, StorageEngine } from '../storage/engine.js';
import { QueueAccount } from './account.js';
import { DedupWindow } from './dedup.js';
import { HeldMessage, MAX_DELIVERIES, pendingCopies, utf8Text } from './held.js';
import type { NoncePool } from './nonces.js';
import { MessageRing, emptySlot } from './ring.js';
import { Rounds, type Round, type RoundOwner } from './rounds.js';

export { MAX_DELIVERIES, messageIdOf } from './held.js';

/** The rules every local queue of a node shares. */
export interface LocalLimits {
  /** Messages a queue holds at most: ready, leased and delayed. */
  readonly maxMessages: number;
  readonly maxBytes: number;
  readonly maxDeliveries: number;
  readonly dedupWindowMs: number;
  readonly maxDedupKeys: number;
}

/** What a local queue needs from its node: time, the shared deadlines, nonces, the memory budget and the dead-letter route. */
export interface LocalContext {
  readonly clock: Clock;
  readonly budget: MemoryBudget;
  readonly scheduler: Scheduler;
  readonly nonces: NoncePool;
  readonly limits: LocalLimits;
  readonly deadLetters: DeadLetterRoute;
}

/**
 * One named queue kept by this process: its working set in memory (a ring of ready messages
 * plus the leased and delayed ones) and every guarantee rule; the storage engine only records
 * what changed.
 *
 * On a memory engine every operation answers at once. On an engine that must be durable
 * before an answer (`syncBeforeAck`: the log engine), acknowledged means durable both ways: a
 * put becomes visible to GET and RESERVE only once it is durable, and a GET or ACK answers only
 * once the removal is; when the flush fails, the operations of its round are undone (the put
 * forgotten, the message put back, the lease held again) and answer `ERR_STORAGE`.
 */
export class LocalBackend implements QueueBackend, RoundOwner<HeldMessage> {
  readonly name: string;
  readonly kind: string;
  readonly #engine: StorageEngine;
  /** The node's dead-letter queue keeps its messages whatever their delivery count. */
  readonly #isDeadLetterQueue: boolean;
  readonly #context: LocalContext;
  readonly #limits: LocalLimits;
  readonly #ready = new MessageRing();
  /** Leased and delayed messages by seq. */
  readonly #held = new Map<number, HeldMessage>();
  readonly #dedup: DedupWindow;
  /** This queue's share of the node's memory budget. */
  readonly #account: QueueAccount;
  readonly #slot = emptySlot();
  #nextSeq = 1;
  #bytes = 0;
  #leased = 0;
  #delayed = 0;
  #closed = false;
  /** With an engine that syncs before acknowledging: the rounds of operations sharing one flush. */
  readonly #rounds: Rounds<HeldMessage> | undefined;
  /** Puts recorded by the engine, not yet durable (and so not yet visible). */
  #pendingPuts = 0;
  readonly #counters = {
    puts: 0,
    gets: 0,
    reserves: 0,
    acks: 0,
    nacks: 0,
    /** Accepted EXTENDs: lets an observer see a lease kept alive without waiting for a redelivery that must not come. */
    extends: 0,
    redeliveries: 0,
    deadLettered: 0,
    duplicates: 0,
    rejectedFull: 0,
  };

  private constructor(name: string, engine: StorageEngine, context: LocalContext, isDeadLetterQueue: boolean) {
    this.name = name;
    this.kind = engine.kind;
    this.#engine = engine;
    this.#context = context;
    this.#limits = context.limits;
    this.#isDeadLetterQueue = isDeadLetterQueue;
    this.#account = new QueueAccount(context.budget, engine.costs, (now) => this.#dedup.expire(now));
    this.#dedup = new DedupWindow(context.limits.dedupWindowMs, context.limits.maxDedupKeys, this.#account);
    this.#rounds = engine.syncBeforeAck ? new Rounds(engine, this) : undefined;
  }

  /** Opens `engine` and serves what it recovered. */
  static async open(name: string, engine: StorageEngine, context: LocalContext, isDeadLetterQueue: boolean): Promise<LocalBackend> {
    const backend = new LocalBackend(name, engine, context, isDeadLetterQueue);
    try {
      backend.#restore(await engine.open({ bodiesAsText: true }));
    } catch (error) {
      backend.#account.close();
      throw error;
    }
    return backend;
  }

  put(body: Uint8Array, key: string | undefined, options?: PutOptions): Awaitable<PutResult> {
    return this.#put(body, key, options?.bounded !== false);
  }

  get(max: number, into: MessageBatch): Awaitable<void> {
    const ready = this.#ready;
    const slot = this.#slot;
    const round = this.#rounds === undefined || ready.length === 0 ? undefined : this.#rounds.current();
    while (into.length < max && ready.length > 0 && into.fits(ready.headBytes())) {
      ready.shift(slot);
      this.#engine.remove(slot.seq);
      this.#bytes -= slot.bytes;
      this.#counters.gets++;
      into.add(slot.body, slot.bytes, slot.enqueuedAt);
      // On a durable engine the message is held until its removal is (commit releases it).
      if (round === undefined) this.#account.release(this.#account.message(slot.body.length, slot.bytes));
      else round.taken.push({ seq: slot.seq, body: slot.body, bytes: slot.bytes, enqueuedAt: slot.enqueuedAt, deliveries: slot.deliveries });
    }
    slot.body = '';
    this.#account.ring(ready.capacity);
    return round?.done;
  }

  reserve(max: number, leaseMs: number, into: MessageBatch): void {
    const ready = this.#ready;
    const slot = this.#slot;
    const dueAt = this.#context.clock.now() + leaseMs;
    while (into.length < max && ready.length > 0 && into.fits(ready.headBytes())) {
      ready.shift(slot);
      // Capped to the ring's 16-bit column; only a dead-letter queue, which has no limit, gets near it.
      const deliveries = Math.min(slot.deliveries + 1, MAX_DELIVERIES);
      const message = new HeldMessage(this, slot.seq, slot.body, slot.bytes, slot.enqueuedAt, deliveries, this.#context.nonces.next());
      message.dueAt = dueAt;
      this.#held.set(message.seq, message);
      this.#leased++;
      this.#counters.reserves++;
      if (deliveries > 1) this.#counters.redeliveries++;
      this.#context.scheduler.schedule(message);
      into.addLeased(message.body, message.bytes, message.enqueuedAt, message.messageId, deliveries, message.nonce);
    }
    slot.body = '';
    this.#account.ring(ready.capacity);
  }

  ack(token: string): Awaitable<boolean> {
    const message = this.#leaseOf(token);
    if (message === undefined) return false;
    this.#release(message);
    this.#engine.remove(message.seq);
    this.#counters.acks++;
    if (this.#rounds === undefined) {
      this.#account.release(this.#account.message(message.body.length, message.bytes));
      return true;
    }
    const round = this.#rounds.current();
    round.acked.push(message);
    return round.ack();
  }

  nack(token: string, delayMs: number): boolean {
    const message = this.#leaseOf(token);
    if (message === undefined) return false;
    this.#counters.nacks++;
    if (this.#outOfDeliveries(message)) this.#deadLetter(message);
    else if (delayMs <= 0) this.#makeVisible(message);
    else {
      this.#leased--;
      this.#delayed++;
      message.state = 'delayed';
      message.dueAt = this.#context.clock.now() + delayMs;
      this.#context.scheduler.schedule(message);
    }
    return true;
  }

  extend(token: string, leaseMs: number): boolean {
    const message = this.#leaseOf(token);
    if (message === undefined) return false;
    message.dueAt = this.#context.clock.now() + leaseMs;
    this.#context.scheduler.schedule(message);
    this.#counters.extends++;
    return true;
  }

  size(): number {
    return this.#ready.length;
  }

  /** The queue's counters, and its engine's under `storage` when it keeps any (the log engine's I/O and damage counts). */
  stats(): QueueStats & { readonly storage?: Readonly<Record<string, number>> } {
    const stats = { size: this.#ready.length, leased: this.#leased, delayed: this.#delayed, bytes: this.#bytes, ...this.#counters };
    const storage = this.#engine.stats?.();
    return storage === undefined ? stats : { ...stats, storage };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const message of this.#held.values()) this.#context.scheduler.cancel(message);
    try {
      await this.#engine.flush();
    } finally {
      this.#dedup.clear();
      this.#account.close();
      await this.#engine.close();
    }
  }

  /** The round is durable: its puts become visible, in the order they were made. */
  commit(round: Round<HeldMessage>): void {
    const account = this.#account;
    for (const put of round.puts) {
      this.#pendingPuts--;
      this.#ready.pushBack(put.seq, put.body, put.bytes, put.enqueuedAt, 0);
      account.release(pendingCopies(put.bytes));
    }
    for (const taken of round.taken) account.release(account.message(taken.body.length, taken.bytes));
    for (const message of round.acked) account.release(account.message(message.body.length, message.bytes));
    account.ring(this.#ready.capacity);
  }

  /** The round's flush failed: each of its operations is undone, so it changed nothing. */
  revert(round: Round<HeldMessage>): void {
    const account = this.#account;
    for (const put of round.puts) {
      this.#pendingPuts--;
      this.#bytes -= put.bytes;
      this.#counters.puts--;
      account.release(account.message(put.body.length, put.bytes) + pendingCopies(put.bytes));
      if (put.key !== undefined) this.#dedup.forget(put.key);
    }
    // Back at the head, oldest first, as they were.
    for (let i = round.taken.length - 1; i >= 0; i--) {
      const taken = round.taken[i] as (typeof round.taken)[number];
      this.#ready.pushFront(taken.seq, taken.body, taken.bytes, taken.enqueuedAt, taken.deliveries);
      this.#bytes += taken.bytes;
      this.#counters.gets--;
    }
    for (const message of round.acked) {
      // Leased again, with its token and deadline: the consumer may ack again.
      this.#held.set(message.seq, message);
      this.#leased++;
      this.#bytes += message.bytes;
      this.#counters.acks--;
      this.#context.scheduler.schedule(message);
    }
    account.ring(this.#ready.capacity);
  }

  /** Called by the scheduler when a lease expires or a NACK delay ends. */
  expired(message: HeldMessage): void {
    if (message.state === 'leased' && this.#outOfDeliveries(message)) this.#deadLetter(message);
    else this.#makeVisible(message);
  }

  /**
   * Serves what the engine recovered, newest first into the head, popping each message off the
   * engine's array so it is not kept alive beside the queue's copy. Bodies come as text when the
   * engine can decode them so (the log engine, from one scratch buffer): held once, with no
   * per-record buffer left in malloc's arenas; an engine that gives bytes has them turned to text
   * here. Recovered messages are charged to the budget whatever it holds (they were
   * acknowledged); beyond it, puts are refused until consumers take messages away.
   */
  #restore(state: RecoveredState<RecoveredBody>): void {
    let nextSeq = state.nextSeq;
    const messages = state.messages;
    for (let message = messages.pop(); message !== undefined; message = messages.pop()) {
      const recovered = message.body;
      const body = recovered instanceof Uint8Array ? utf8Text(recovered) : recovered.text;
      const bytes = recovered instanceof Uint8Array ? recovered.byteLength : recovered.bytes;
      this.#ready.pushFront(message.seq, body, bytes, message.enqueuedAt, 0);
      this.#bytes += bytes;
      this.#account.charge(this.#account.message(body.length, bytes));
      if (message.seq >= nextSeq) nextSeq = message.seq + 1;
    }
    this.#account.ring(this.#ready.capacity);
    this.#nextSeq = nextSeq;
    this.#dedup.restore(state.keys, this.#context.clock.now());
  }

  /**
   * `bounded` is false for dead letters: they were accepted once already, and nothing accepted
   * is dropped. On a durable engine the answer waits for the round's flush: a duplicate too,
   * since the put it repeats may not be durable yet.
   */
  #put(raw: Uint8Array, key: string | undefined, bounded: boolean): Awaitable<PutResult> {
    const now = this.#context.clock.now();
    const bytes = raw.byteLength;
    if (key !== undefined && this.#dedup.has(key, now)) {
      this.#counters.duplicates++;
      return this.#rounds === undefined ? PUT_DUPLICATE : this.#rounds.current().put(PUT_DUPLICATE);
    }
    const account = this.#account;
    // A refused put changed nothing: it answers at once.
    const refusal = bounded ? this.#refusal(bytes, key, now) : undefined;
    // The bytes as ASCII text, its bookkeeping, its key, and on a durable engine the copies held until written.
    const cost = account.message(bytes, bytes) + (key === undefined ? 0 : this.#dedup.costOf(key)) + (this.#rounds === undefined ? 0 : pendingCopies(bytes));
    if (refusal !== undefined || (bounded && !this.#admit(cost, now))) {
      this.#counters.rejectedFull++;
      return { outcome: 'full', reason: refusal ?? account.refusal() };
    }
    if (!bounded) account.charge(cost);
    const seq = this.#nextSeq++;
    this.#engine.append(key === undefined ? { seq, body: raw, enqueuedAt: now } : { seq, body: raw, key, enqueuedAt: now });
    if (key !== undefined) this.#dedup.record(key, now);
    this.#bytes += bytes;
    this.#counters.puts++;
    const body = utf8Text(raw);
    // Text that is not ASCII takes two bytes a character: charged now that it is known.
    if (body.length !== bytes) account.charge(account.message(body.length, bytes) - account.message(bytes, bytes));
    if (this.#rounds === undefined) {
      this.#ready.pushBack(seq, body, bytes, now, 0);
      account.ring(this.#ready.capacity);
      return PUT_STORED;
    }
    // Visible to GET and RESERVE once durable (Round commit), never before.
    const round = this.#rounds.current();
    round.puts.push({ seq, key, body, bytes, enqueuedAt: now });
    this.#pendingPuts++;
    return round.put(PUT_STORED);
  }

  /** Charges a put's `cost`, and the ring's growth if it must grow for it (charged as slots once it has grown). */
  #admit(cost: number, now: number): boolean {
    const account = this.#account;
    const growth = account.ringGrowth(this.#ready.length + this.#pendingPuts, this.#ready.capacity);
    if (!account.admit(cost + growth, now)) return false;
    account.release(growth);
    return true;
  }

  /** Why a put of `bytes` (with `key`) must be refused by this queue's own bounds, if it must. */
  #refusal(bytes: number, key: string | undefined, now: number): string | undefined {
    const limits = this.#limits;
    const held = this.#ready.length + this.#held.size + this.#pendingPuts;
    if (held + 1 > limits.maxMessages) return `queue ${this.name} is full: its message bound (${limits.maxMessages} messages) is reached; retry later`;
    if (this.#bytes + bytes > limits.maxBytes) return `queue ${this.name} is full: its byte bound (${limits.maxBytes} bytes, ${this.#bytes} held) is reached; retry later`;
    if (key !== undefined && !this.#dedup.hasRoom(now)) {
      return `queue ${this.name} key table is full (${this.#dedup.size} keys inside their ${this.#limits.dedupWindowMs} ms window); retry later`;
    }
    return undefined;
  }

  /** The leased message a token names, if that delivery still holds its lease. */
  #leaseOf(token: string): HeldMessage | undefined {
    const parts = parseLeaseToken(token);
    if (parts === undefined) return undefined;
    const id = parts.messageId;
    // Only the canonical id names a message: no leading zeros.
    if (id.length > 1 && id.charCodeAt(0) === 0x30) return undefined;
    const message = this.#held.get(parseInt(id, 36));
    if (message === undefined || message.state !== 'leased' || message.deliveries !== parts.delivery || message.nonce !== parts.nonce) return undefined;
    return message;
  }

  #outOfDeliveries(message: HeldMessage): boolean {
    return !this.#isDeadLetterQueue && message.deliveries >= this.#limits.maxDeliveries;
  }

  #makeVisible(message: HeldMessage): void {
    this.#release(message);
    // The oldest message goes back to the head, so it is the next one handed out.
    this.#ready.pushFront(message.seq, message.body, message.bytes, message.enqueuedAt, message.deliveries);
    this.#bytes += message.bytes;
  }

  #deadLetter(message: HeldMessage): void {
    this.#release(message);
    this.#counters.deadLettered++;
    const { seq } = message;
    const cost = this.#account.message(message.body.length, message.bytes);
    // The engine keeps the message until its destination holds it: a crash in between redelivers, never loses.
    this.#context.deadLetters.route({ queue: this.name, messageId: message.messageId, body: message.body, deliveries: message.deliveries }, () => {
      if (this.#closed) return;
      this.#engine.remove(seq);
      this.#account.release(cost);
    });
  }

  /** Takes a leased or delayed message out of this queue's accounting and the deadlines. */
  #release(message: HeldMessage): void {
    this.#context.scheduler.cancel(message);
    this.#held.delete(message.seq);
    if (message.state === 'leased') this.#leased--;
    else this.#delayed--;
    this.#bytes -= message.bytes;
  }
}
