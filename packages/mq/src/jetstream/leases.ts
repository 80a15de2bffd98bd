import type { Msg } from '@nats-io/transport-node';
import type { LeaseToken } from '@streampy/codec';
import type { Clock } from '@streampy/runtime';
import type { Deadline, Scheduler } from '../scheduler.js';
import type { SharedReady } from './ready.js';

/** What a lease's node does when its lease needs the server: keep it alive, or end it at its deadline. */
export interface LeaseActions {
  /** The lease outlives the consumer's ack wait: tell the server the work goes on (`+WPI`). */
  keepAlive(lease: Lease): void;
  /** The deadline passed: give the message back, or dead-letter it on its last delivery. */
  expired(lease: Lease): void;
}

/**
 * One JetStream delivery this node handed out: leased to a consumer until `deadline`, or given
 * back with a delay (the server redelivers it at `dueAt`; until then it is counted delayed).
 */
export class Lease implements Deadline {
  dueAt = 0;
  heapIndex = -1;
  state: 'leased' | 'delayed' = 'leased';
  deadline = 0;
  /** When the server last heard of this lease: the fetch or the last keep-alive. */
  touchedAt = 0;
  readonly messageId: string;

  constructor(
    readonly table: LeaseTable,
    /** The delivery as fetched: its reply subject is where acks go. */
    readonly msg: Msg,
    readonly seq: number,
    readonly deliveries: number,
    /** This node's id and random characters: see `issuerOf`. */
    readonly nonce: string,
  ) {
    this.messageId = seq.toString(36);
  }

  get bytes(): number {
    return this.msg.data.byteLength;
  }

  expire(): void {
    this.table.due(this);
  }
}

/**
 * The deliveries a node holds on one queue and their deadlines on the node's scheduler (one
 * timer for all); what it gives back is told to every node through the queue's `SharedReady`.
 */
export class LeaseTable {
  readonly #clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #actions: LeaseActions;
  /** Keep-alives go out at this period: half the consumer's ack wait. */
  readonly #keepAliveMs: number;
  readonly #bySeq = new Map<number, Lease>();
  readonly #ready: SharedReady;
  leased = 0;
  delayed = 0;

  constructor(clock: Clock, scheduler: Scheduler, ackWaitMs: number, actions: LeaseActions, ready: SharedReady) {
    this.#ready = ready;
    this.#clock = clock;
    this.#scheduler = scheduler;
    this.#actions = actions;
    this.#keepAliveMs = Math.max(1, Math.floor(ackWaitMs / 2));
  }

  /** Messages given back (by any node on the queue) and not fetched again since. */
  get readyAgain(): number {
    return this.#ready.size;
  }

  /** Bytes of the bodies held: leased and delayed. */
  get bytes(): number {
    let bytes = 0;
    for (const lease of this.#bySeq.values()) bytes += lease.bytes;
    return bytes;
  }

  /** A fresh delivery of `seq`, leased for `leaseMs`; an older lease of the same message (the server redelivered it) ends. */
  hold(msg: Msg, seq: number, deliveries: number, nonce: string, leaseMs: number): Lease {
    const old = this.#bySeq.get(seq);
    if (old !== undefined) this.release(old);
    const lease = new Lease(this, msg, seq, deliveries, nonce);
    const now = this.#clock.now();
    lease.touchedAt = now;
    lease.deadline = now + leaseMs;
    this.#bySeq.set(seq, lease);
    this.leased++;
    this.#arm(lease);
    return lease;
  }

  /** The lease a token names, if this node holds that delivery's lease now. */
  find(token: LeaseToken): Lease | undefined {
    const id = token.messageId;
    // Only the canonical id names a message: no leading zeros.
    if (id.length > 1 && id.charCodeAt(0) === 0x30) return undefined;
    const lease = this.#bySeq.get(parseInt(id, 36));
    if (lease === undefined || lease.state !== 'leased' || lease.nonce !== token.nonce || Math.min(lease.deliveries, 65_535) !== token.delivery) return undefined;
    return lease;
  }

  extend(lease: Lease, leaseMs: number): void {
    lease.deadline = this.#clock.now() + leaseMs;
    this.#arm(lease);
  }

  /** The lease was given back with `delayMs`: counted delayed until the server redelivers it. */
  delay(lease: Lease, delayMs: number): void {
    this.leased--;
    this.delayed++;
    lease.state = 'delayed';
    lease.dueAt = this.#clock.now() + delayMs;
    this.#scheduler.schedule(lease);
  }

  /** The lease was given back without delay: ready again at once. */
  giveBack(lease: Lease): void {
    this.release(lease);
    this.#ready.add(lease.seq);
  }

  /** A message fetched and given back before it was leased: ready again. */
  markReady(seq: number): void {
    this.#ready.add(seq);
  }

  /** The lease ends (acked, dead-lettered, given back): out of the table and the deadlines. */
  release(lease: Lease): void {
    if (this.#bySeq.get(lease.seq) !== lease) return;
    this.#bySeq.delete(lease.seq);
    this.#scheduler.cancel(lease);
    if (lease.state === 'leased') this.leased--;
    else this.delayed--;
  }

  /** An ACK of `lease` did not reach the server: held again, unless the message was fetched anew meanwhile. */
  reinstate(lease: Lease): void {
    if (this.#bySeq.has(lease.seq) || lease.state !== 'leased') return;
    this.#bySeq.set(lease.seq, lease);
    this.leased++;
    this.#arm(lease);
  }

  /** A keep-alive went out for `lease`. */
  touched(lease: Lease): void {
    lease.touchedAt = this.#clock.now();
    this.#arm(lease);
  }

  /** Called by the scheduler. */
  due(lease: Lease): void {
    if (lease.state === 'delayed') {
      this.giveBack(lease);
      return;
    }
    if (this.#clock.now() >= lease.deadline) this.#actions.expired(lease);
    else this.#actions.keepAlive(lease);
  }

  /** Drops every lease and deadline (the node is closing; the server redelivers what was held after its ack wait). */
  clear(): Lease[] {
    const held = [...this.#bySeq.values()];
    for (const lease of held) this.release(lease);
    return held;
  }

  /** The next deadline of a leased message: its end, or the next keep-alive before it. */
  #arm(lease: Lease): void {
    lease.dueAt = Math.min(lease.deadline, lease.touchedAt + this.#keepAliveMs);
    this.#scheduler.schedule(lease);
  }
}
