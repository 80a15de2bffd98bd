import { encodedFrameLength } from '@streampy/codec';
import type { QueueStats } from './stats.js';

/**
 * The queue semantics behind dispatch, at the level of operations: whatever keeps a queue's
 * state (this process's memory and log, or a server such as NATS JetStream) serves the same
 * requests through this interface, and dispatch reaches queue state through nothing else.
 *
 * Every operation may answer at once or with a Promise. Dispatch calls the operations of one
 * datagram in request order without waiting for one to settle before it calls the next, so
 * a backend must give calls made in order effects in that order (the local backend applies
 * each at once; a remote one chains them). A value returned at once may be read only until
 * the next call: the local backend fills reused objects, so its hot path allocates nothing.
 */
export interface QueueBackend {
  readonly name: string;
  /** What keeps the messages, as STATS reports it: `memory`, `log`, ... */
  readonly kind: string;
  /** Enqueues at the tail; a `key` seen within the dedup window is a duplicate, stored once. */
  put(body: Uint8Array, key: string | undefined, options?: PutOptions): Awaitable<PutResult>;
  /** At-most-once: removes up to `max` messages from the head into `into`, as many as its room allows. */
  get(max: number, into: MessageBatch): Awaitable<void>;
  /** At-least-once: leases up to `max` messages for `leaseMs` into `into`, each with its delivery's token. */
  reserve(max: number, leaseMs: number, into: MessageBatch): Awaitable<void>;
  /** False when `token` names no lease held now (acked, expired, redelivered, forged or never issued). */
  ack(token: string): Awaitable<boolean>;
  /** Gives a lease back: visible again after `delayMs` (0: at once), or dead-lettered when out of deliveries. */
  nack(token: string, delayMs: number): Awaitable<boolean>;
  /** Moves a lease's deadline to `leaseMs` from now. */
  extend(token: string, leaseMs: number): Awaitable<boolean>;
  /** Ready messages: what GET could take now. */
  size(): Awaitable<number>;
  /** The counters this backend keeps in process, at once (STATS and `node.stats()` are synchronous). */
  stats(): QueueStats;
  /** Makes everything durable that the backend promises, and lets go of its resources. */
  close(): Promise<void>;
}

export type Awaitable<T> = T | Promise<T>;

export interface PutOptions {
  /** False for dead letters: accepted once already, they are never refused for space. Default true. */
  readonly bounded?: boolean;
}

export type PutResult = { readonly outcome: 'stored' | 'duplicate' } | { readonly outcome: 'full'; readonly reason: string };

/** The two answers without details, shared, so an accepted put allocates no result. */
export const PUT_STORED: PutResult = Object.freeze({ outcome: 'stored' });
export const PUT_DUPLICATE: PutResult = Object.freeze({ outcome: 'duplicate' });

/** A message body as a backend keeps it: text (the node checked it is UTF-8) or bytes. */
export type Body = string | Uint8Array;

/**
 * The messages one GET or RESERVE hands out, oldest first, in columns (no object per
 * message), with the room of the reply they go into: a backend asks `fits` before it takes
 * each message, and the first always fits. Dispatch owns the batch and sets its room.
 */
export class MessageBatch {
  readonly bodies: Body[] = [];
  /** UTF-8 bytes of each body. */
  readonly sizes: number[] = [];
  /** When each message was enqueued, ms since the epoch. */
  readonly enqueuedAt: number[] = [];
  /** RESERVE only: the parts of each delivery's lease token. */
  readonly messageIds: string[] = [];
  readonly deliveries: number[] = [];
  readonly nonces: string[] = [];
  #room = Infinity;
  #itemOverhead = 0;

  get length(): number {
    return this.bodies.length;
  }

  /** Empties the batch for a reply with `room` bytes for its items, each framed with `itemOverhead` bytes beside its body. */
  reset(room: number, itemOverhead: number): this {
    this.#room = room;
    this.#itemOverhead = itemOverhead;
    this.clear();
    return this;
  }

  /** Bytes left for items in the reply (Infinity when unbounded): a backend that fetches from a server may ask for no more. */
  get room(): number {
    return this.#room;
  }

  /** True when one more message of `bytes` bytes fits the reply. */
  fits(bytes: number): boolean {
    return this.bodies.length === 0 || encodedFrameLength(bytes + this.#itemOverhead) <= this.#room;
  }

  add(body: Body, bytes: number, enqueuedAt: number): void {
    this.#room -= encodedFrameLength(bytes + this.#itemOverhead);
    this.bodies.push(body);
    this.sizes.push(bytes);
    this.enqueuedAt.push(enqueuedAt);
  }

  addLeased(body: Body, bytes: number, enqueuedAt: number, messageId: string, delivery: number, nonce: string): void {
    this.add(body, bytes, enqueuedAt);
    this.messageIds.push(messageId);
    this.deliveries.push(delivery);
    this.nonces.push(nonce);
  }

  /** Lets go of the bodies (a reused batch must not keep them alive). */
  clear(): void {
    this.bodies.length = 0;
    this.sizes.length = 0;
    this.enqueuedAt.length = 0;
    this.messageIds.length = 0;
    this.deliveries.length = 0;
    this.nonces.length = 0;
  }
}

/** True for a pending result; operations answer with native Promises or plain values. */
export function isPending<T>(value: Awaitable<T>): value is Promise<T> {
  return value instanceof Promise;
}
