import type { Delivery, NodeStats, Reply, Request } from '@streampy/codec';
import type { AuthFailureCounts, Clock, HostPort, Keyring } from '@streampy/runtime';
import type { ClientError } from './errors.js';
import type { PutResult } from './replies.js';

export type { PutResult } from './replies.js';

export type ClientProtocol = 'extended' | 'seed';

export interface ClientOptions {
  /** The queue node, `host:port` or `{ host, port }`. */
  readonly address: string | HostPort;
  /** Wait for a reply per attempt, in ms. Default 500. */
  readonly timeoutMs?: number;
  /** Extra attempts after a timeout, with exponential backoff and jitter. Default 3. */
  readonly retries?: number;
  /** Backoff before the first retry, doubled for each further one. Default 20 ms. */
  readonly retryBackoffMs?: number;
  /**
   * `extended` (default): correlation ids, typed replies, every command. `seed`: the original
   * prototype's bare `PUT:`, `GET` and `SIZE`, one request at a time, replies matched by order.
   */
  readonly protocol?: ClientProtocol;
  /** Requests issued in the same event-loop turn travel in one datagram. Default true (extended only). */
  readonly coalesce?: boolean;
  /** Largest datagram sent. Default 65,507 (the IPv4 UDP maximum). */
  readonly maxDatagramBytes?: number;
  /** Time and timers of deadlines and retries. Default the system clock; tests pass a manual one. */
  readonly clock?: Clock;
  /**
   * Shared-key authentication (PROTOCOL.md, "Access control"): a keyring, or the path of a key
   * file, `<key id> <64 hex digits>` per line. Every datagram is signed with the first key;
   * replies must be signed with any of them, within the time window and never seen before, or
   * they are dropped and counted (`authFailures`). Needs the extended protocol.
   */
  readonly auth?: Keyring | string;
}

export interface PutOptions {
  /** Idempotency key: a retried or repeated put with the same key is enqueued once. */
  readonly key?: string;
  readonly queue?: string;
  /**
   * Extra attempts for this put, instead of the client's `retries`. `0` for at-most-once: a put
   * without a key that is retried after a lost reply may be enqueued twice.
   */
  readonly retries?: number;
}

export interface QueueOptions {
  readonly queue?: string;
}

export interface ReserveOptions extends QueueOptions {
  readonly max?: number;
  readonly leaseMs?: number;
}

export interface NackOptions extends QueueOptions {
  readonly delayMs?: number;
}

/** One message of `putMany`: the message, or the message with its idempotency key. */
export type PutManyItem = string | Uint8Array | { readonly message: string | Uint8Array; readonly key?: string };

/** The outcome of one message of `putMany`, shaped like `Promise.allSettled`'s. */
export type PutManyResult = { readonly status: 'fulfilled'; readonly value: PutResult } | { readonly status: 'rejected'; readonly reason: ClientError };

export interface QueueClient {
  readonly address: HostPort;
  /** With `auth`: replies dropped because they failed verification, by reason (live counts). */
  readonly authFailures?: Readonly<AuthFailureCounts>;
  put(message: string | Uint8Array, options?: PutOptions): Promise<PutResult>;
  /**
   * Puts every message with one promise: the frames travel packed into as few datagrams as
   * fit, and the result holds one outcome per message, in order. It rejects only when nothing
   * was sent (a bad key or queue name, a message too large, a closed client).
   */
  putMany(messages: readonly PutManyItem[], options?: QueueOptions): Promise<PutManyResult[]>;
  /** Removes and returns the oldest message; `undefined` when the queue is empty. */
  get(options?: QueueOptions): Promise<Uint8Array | undefined>;
  /** Removes and returns up to `max` messages; empty when the queue is empty. */
  getBatch(max: number, options?: QueueOptions): Promise<Uint8Array[]>;
  size(options?: QueueOptions): Promise<number>;
  reserve(options?: ReserveOptions): Promise<Delivery[]>;
  ack(token: string, options?: QueueOptions): Promise<void>;
  nack(token: string, options?: NackOptions): Promise<void>;
  extend(token: string, leaseMs: number, options?: QueueOptions): Promise<void>;
  /** The node's counters, typed and checked by the codec. */
  stats(): Promise<NodeStats>;
  /** Sends any request (its `id` is replaced by a fresh one) and returns the reply; `ERR` replies throw. */
  request(request: Request): Promise<Reply>;
  /** Rejects outstanding requests with `ClientClosedError` and closes the socket. */
  close(): Promise<void>;
}
