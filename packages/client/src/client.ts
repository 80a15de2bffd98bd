import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_LIMITS,
  encodeText,
  isSeedForm,
  parseReply,
  scanFrames,
  type Delivery,
  type Reply,
  type Request,
} from '@streampy/codec';
import { parseHostPort, type HostPort } from '@streampy/runtime';
import { BadReplyError, ClientClosedError, ClientError, TimeoutError, remoteError } from './errors.js';
import { openConnectedSocket } from './socket.js';
import { NOT_FAST, asciiBytes, encodeRequestFrame, readReply, replyCounter, statusStart, type Expect } from './wire.js';

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

export interface PutResult {
  /** UTF-8 bytes of the message, as the node counted them. */
  readonly bytes: number;
  /** True when the key was already seen and the message was not enqueued again. */
  readonly duplicate: boolean;
}

/** One message of `putMany`: the message, or the message with its idempotency key. */
export type PutManyItem = string | Uint8Array | { readonly message: string | Uint8Array; readonly key?: string };

/** The outcome of one message of `putMany`, shaped like `Promise.allSettled`'s. */
export type PutManyResult = { readonly status: 'fulfilled'; readonly value: PutResult } | { readonly status: 'rejected'; readonly reason: ClientError };

export interface QueueClient {
  readonly address: HostPort;
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
  stats(): Promise<Record<string, unknown>>;
  /** Sends any request (its `id` is replaced by a fresh one) and returns the reply; `ERR` replies throw. */
  request(request: Request): Promise<Reply>;
  /** Rejects outstanding requests with `ClientClosedError` and closes the socket. */
  close(): Promise<void>;
}

/** Marks a reply that is not a possible answer to the request. */
const MISMATCH = Symbol('mismatch');

/** The value of a reply the codec parsed, for the replies the fast reader leaves to it. */
function expected(expect: Expect, r: Reply): unknown {
  switch (expect) {
    case 'put':
      return r.kind === 'put' ? { bytes: r.bytes, duplicate: r.duplicate } : MISMATCH;
    case 'get':
      return r.kind === 'message' ? r.body : r.kind === 'empty' ? undefined : MISMATCH;
    case 'batch':
      return r.kind === 'messages' ? r.bodies : r.kind === 'empty' ? [] : r.kind === 'message' ? [r.body] : MISMATCH;
    case 'size':
      return r.kind === 'size' ? r.size : MISMATCH;
    case 'leased':
      return r.kind === 'leased' ? r.deliveries : r.kind === 'empty' ? [] : MISMATCH;
    case 'ok':
      return r.kind === 'ok' ? undefined : MISMATCH;
    case 'stats':
      return r.kind === 'stats' ? r.stats : MISMATCH;
    case 'any':
      return r;
  }
}

/**
 * One request on its way: a single request, or a `putMany` group whose frames carry the
 * consecutive counters `first` .. `first + frames.length - 1`. A class, so every request has
 * the same shape.
 */
class Pending {
  attempts = 0;
  /** Extra attempts allowed after a timeout (the client's default unless the call chose). */
  retries = 0;
  deadline = 0;
  settled = false;
  backoff: NodeJS.Timeout | undefined = undefined;
  /** Group only: per-frame outcomes; a frame is answered once its slot is set. */
  readonly results: (PutManyResult | undefined)[] | undefined;
  /** Group only: frames not answered yet. */
  unanswered: number;

  constructor(
    readonly request: Request,
    /** Correlation counter of the (first) frame; -1 in seed mode. */
    readonly first: number,
    /** The encoded frames, kept so a retry resends the very same bytes (and ids). */
    readonly frames: readonly Uint8Array[],
    readonly expect: Expect,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
    group: boolean,
  ) {
    this.results = group ? new Array<PutManyResult | undefined>(frames.length).fill(undefined) : undefined;
    this.unanswered = frames.length;
  }
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function checkName(what: string, value: string): string {
  if (value.length === 0 || value.length > PROTOCOL_LIMITS.maxNameLength || !NAME_RE.test(value)) {
    throw new ClientError('ERR_INVALID_ARGUMENT', `${what} must be 1-${PROTOCOL_LIMITS.maxNameLength} characters of A-Z a-z 0-9 _ . -, got "${value.slice(0, 80)}"`);
  }
  return value;
}

function checkInteger(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClientError('ERR_INVALID_ARGUMENT', `${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Checks the fields a caller chose, so a bad one is a clear local error, not a garbled frame. */
function checkRequest(request: Request): void {
  if (request.queue !== undefined) checkName('queue name', request.queue);
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) checkName('key', request.key);
      break;
    case 'GET':
      if (request.max !== undefined) checkInteger('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      break;
    case 'RESERVE':
      if (request.max !== undefined) checkInteger('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      if (request.leaseMs !== undefined) checkInteger('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'ACK':
      checkName('lease token', request.token);
      break;
    case 'NACK':
      checkName('lease token', request.token);
      if (request.delayMs !== undefined) checkInteger('delayMs', request.delayMs, 0, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'EXTEND':
      checkName('lease token', request.token);
      checkInteger('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
}

/** Adds `queue` when given (exactOptionalPropertyTypes: absent, never `undefined`). */
function withQueue<T extends object>(request: T, queue: string | undefined): T & { queue?: string } {
  if (queue === undefined) return request;
  (request as T & { queue?: string }).queue = queue;
  return request;
}

/** Random id prefix: a restarted client on a reused port never matches a reply meant for its predecessor. */
function idPrefix(): string {
  return randomInt(36 ** 4, 36 ** 5).toString(36);
}

function putItem(item: PutManyItem): { body: Uint8Array; key: string | undefined } {
  if (typeof item === 'string') return { body: encodeText(item), key: undefined };
  if (item instanceof Uint8Array) return { body: item, key: undefined };
  return { body: typeof item.message === 'string' ? encodeText(item.message) : item.message, key: item.key };
}

class UdpQueueClient implements QueueClient {
  readonly address: HostPort;
  readonly #socket: Socket;
  readonly #seed: boolean;
  readonly #coalesce: boolean;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #maxDatagramBytes: number;
  readonly #idPrefix = idPrefix();
  readonly #idPrefixBytes = asciiBytes(this.#idPrefix);
  #idCounter = 0;
  #closed = false;
  #outstanding = 0;
  /** Whether the socket holds the event loop open; dropped lazily once nothing is outstanding. */
  #refed = false;
  /** Extended mode: requests waiting for their reply, by correlation counter. */
  readonly #byCounter = new Map<number, Pending>();
  /** Seed mode: the one request on the wire, and those waiting their turn. */
  #seedCurrent: Pending | undefined;
  readonly #seedWaiting: Pending[] = [];
  /** Requests to send on the next tick (coalescing). */
  #outbox: Pending[] = [];
  #tickScheduled = false;
  readonly #onTick = (): void => this.#tick();
  /**
   * Attempt deadlines in send order. Every attempt waits the same `timeoutMs`, so deadlines
   * only grow along the queue and one timer armed for the oldest live entry serves them all.
   * Entries of settled or re-sent requests are skipped lazily.
   */
  #deadlines: Pending[] = [];
  #deadlineAttempts: number[] = [];
  #deadlineHead = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, address: HostPort, options: ClientOptions) {
    this.#socket = socket;
    this.address = address;
    this.#seed = options.protocol === 'seed';
    this.#coalesce = !this.#seed && options.coalesce !== false;
    this.#timeoutMs = checkInteger('timeoutMs', options.timeoutMs ?? 500, 1, 2 ** 31 - 1);
    this.#retries = checkInteger('retries', options.retries ?? 3, 0, 1000);
    this.#backoffMs = checkInteger('retryBackoffMs', options.retryBackoffMs ?? 20, 0, 2 ** 31 - 1);
    this.#maxDatagramBytes = checkInteger('maxDatagramBytes', options.maxDatagramBytes ?? DEFAULT_MAX_FRAME_BYTES, 16, DEFAULT_MAX_FRAME_BYTES);
    socket.on('message', (datagram: Buffer) => this.#onDatagram(datagram));
    // Send errors (e.g. ECONNREFUSED from an ICMP port-unreachable) are losses like any other:
    // the attempt times out and is retried.
    socket.on('error', () => undefined);
    socket.unref();
  }

  put(message: string | Uint8Array, options?: PutOptions): Promise<PutResult> {
    const body = typeof message === 'string' ? encodeText(message) : message;
    const request: { verb: 'PUT'; body: Uint8Array; key?: string } = { verb: 'PUT', body };
    if (options?.key !== undefined) request.key = options.key;
    return this.#call(withQueue(request, options?.queue), 'put', options?.retries) as Promise<PutResult>;
  }

  putMany(messages: readonly PutManyItem[], options?: QueueOptions): Promise<PutManyResult[]> {
    if (this.#seed) {
      // Seed requests go one at a time anyway: no frames to pack.
      return Promise.all(
        messages.map((item) => {
          const { body, key } = putItem(item);
          return this.put(body, key === undefined ? withQueue({}, options?.queue) : withQueue({ key }, options?.queue)).then(
            (value): PutManyResult => ({ status: 'fulfilled', value }),
            (reason: unknown): PutManyResult => ({ status: 'rejected', reason: reason as ClientError }),
          );
        }),
      );
    }
    try {
      if (this.#closed) throw new ClientClosedError();
      const queue = options?.queue;
      if (queue !== undefined) checkName('queue name', queue);
      if (messages.length === 0) return Promise.resolve([]);
      const first = this.#idCounter + 1;
      const frames: Uint8Array[] = [];
      for (const item of messages) {
        const { body, key } = putItem(item);
        const request: { verb: 'PUT'; body: Uint8Array; key?: string; queue?: string } = { verb: 'PUT', body };
        if (key !== undefined) request.key = checkName('key', key);
        if (queue !== undefined) request.queue = queue;
        frames.push(this.#frame(request, this.#idPrefix + (first + frames.length).toString(36)));
      }
      this.#idCounter += frames.length;
      return new Promise((resolve, reject) => {
        const pending = new Pending({ verb: 'PUT', body: new Uint8Array(0) }, first, frames, 'put', resolve as (value: unknown) => void, reject, true);
        pending.retries = this.#retries;
        this.#opened();
        for (let i = 0; i < frames.length; i++) this.#byCounter.set(first + i, pending);
        this.#send(pending);
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  get(options?: QueueOptions): Promise<Uint8Array | undefined> {
    return this.#call(withQueue({ verb: 'GET' }, options?.queue), 'get') as Promise<Uint8Array | undefined>;
  }

  async getBatch(max: number, options?: QueueOptions): Promise<Uint8Array[]> {
    checkInteger('max', max, 1, PROTOCOL_LIMITS.maxBatch);
    if (this.#seed) {
      // The seed has no batch GET: take messages one at a time until empty.
      this.#checkSeedQueue(options?.queue);
      const bodies: Uint8Array[] = [];
      while (bodies.length < max) {
        const body = await this.get();
        if (body === undefined) break;
        bodies.push(body);
      }
      return bodies;
    }
    return (await this.#call(withQueue({ verb: 'GET', max }, options?.queue), 'batch')) as Uint8Array[];
  }

  size(options?: QueueOptions): Promise<number> {
    return this.#call(withQueue({ verb: 'SIZE' }, options?.queue), 'size') as Promise<number>;
  }

  reserve(options?: ReserveOptions): Promise<Delivery[]> {
    const request: { verb: 'RESERVE'; max?: number; leaseMs?: number } = { verb: 'RESERVE' };
    if (options?.max !== undefined) request.max = options.max;
    if (options?.leaseMs !== undefined) request.leaseMs = options.leaseMs;
    return this.#call(withQueue(request, options?.queue), 'leased') as Promise<Delivery[]>;
  }

  ack(token: string, options?: QueueOptions): Promise<void> {
    return this.#call(withQueue({ verb: 'ACK', token }, options?.queue), 'ok') as Promise<void>;
  }

  nack(token: string, options?: NackOptions): Promise<void> {
    const request: { verb: 'NACK'; token: string; delayMs?: number } = { verb: 'NACK', token };
    if (options?.delayMs !== undefined) request.delayMs = options.delayMs;
    return this.#call(withQueue(request, options?.queue), 'ok') as Promise<void>;
  }

  extend(token: string, leaseMs: number, options?: QueueOptions): Promise<void> {
    return this.#call(withQueue({ verb: 'EXTEND', token, leaseMs }, options?.queue), 'ok') as Promise<void>;
  }

  stats(): Promise<Record<string, unknown>> {
    return this.#call({ verb: 'STATS' }, 'stats') as Promise<Record<string, unknown>>;
  }

  request(request: Request): Promise<Reply> {
    if (this.#seed) {
      if (request.id !== undefined) return Promise.reject(new ClientError('ERR_UNSUPPORTED', 'the seed protocol has no correlation ids'));
      return this.#call(request, 'any') as Promise<Reply>;
    }
    const { id: _ignored, ...rest } = request;
    return this.#call(rest, 'any') as Promise<Reply>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClientClosedError();
    for (const pending of [...new Set(this.#byCounter.values()), ...this.#seedWaiting, ...this.#outbox]) this.#fail(pending, error);
    if (this.#seedCurrent) this.#fail(this.#seedCurrent, error);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #checkSeedQueue(queue: string | undefined): void {
    if (queue !== undefined) throw new ClientError('ERR_UNSUPPORTED', 'the seed protocol has one queue per node: no queue option');
  }

  /** The frame of one checked request, refused when it cannot fit in a datagram. */
  #frame(request: Request, id: string | undefined): Uint8Array {
    const frame = encodeRequestFrame(request, id);
    if (frame.length > this.#maxDatagramBytes) {
      throw new ClientError('ERR_REQUEST_TOO_LARGE', `${request.verb} request takes ${frame.length} bytes, over the datagram limit of ${this.#maxDatagramBytes}`);
    }
    return frame;
  }

  #call(request: Request, expect: Expect, retries?: number): Promise<unknown> {
    try {
      if (this.#closed) throw new ClientClosedError();
      checkRequest(request);
      if (retries !== undefined) checkInteger('retries', retries, 0, 1000);
      if (this.#seed && !isSeedForm(request)) {
        throw new ClientError('ERR_UNSUPPORTED', `the seed protocol knows only PUT, GET and SIZE without options; got ${request.verb}${request.queue === undefined ? '' : ' with a queue'}`);
      }
      const counter = this.#seed ? -1 : this.#idCounter + 1;
      const frame = this.#frame(request, this.#seed ? undefined : this.#idPrefix + counter.toString(36));
      if (!this.#seed) this.#idCounter = counter;
      return new Promise((resolve, reject) => {
        const pending = new Pending(request, counter, [frame], expect, resolve, reject, false);
        pending.retries = retries ?? this.#retries;
        this.#opened();
        if (counter >= 0) {
          this.#byCounter.set(counter, pending);
          this.#send(pending);
        } else if (this.#seedCurrent === undefined) {
          this.#seedCurrent = pending;
          this.#send(pending);
        } else {
          this.#seedWaiting.push(pending);
        }
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** A request starts: keep the process alive until its reply (ref only on the way up from idle). */
  #opened(): void {
    this.#outstanding++;
    if (!this.#refed) {
      this.#refed = true;
      this.#socket.ref();
    }
  }

  #schedule(): void {
    if (this.#tickScheduled) return;
    this.#tickScheduled = true;
    // nextTick runs once the current turn's promise reactions are drained: requests issued
    // anywhere in the turn (also after an `await`) share the datagram, with no extra latency.
    process.nextTick(this.#onTick);
  }

  #tick(): void {
    this.#tickScheduled = false;
    if (this.#closed) return;
    if (this.#outbox.length > 0) this.#flush();
    // Unref only if the turn that finished the last request did not start another one.
    if (this.#outstanding === 0 && this.#refed) {
      this.#refed = false;
      this.#socket.unref();
    }
  }

  #send(pending: Pending): void {
    if (!this.#coalesce) {
      for (const frame of pending.frames) this.#socket.send(frame);
      this.#sent(pending);
      return;
    }
    this.#outbox.push(pending);
    this.#schedule();
  }

  #flush(): void {
    const outbox = this.#outbox;
    this.#outbox = [];
    let frames: Uint8Array[] = [];
    let bytes = 0;
    for (const pending of outbox) {
      if (pending.settled) continue;
      const results = pending.results;
      for (let i = 0; i < pending.frames.length; i++) {
        if (results !== undefined && results[i] !== undefined) continue;
        const frame = pending.frames[i] as Uint8Array;
        if (bytes + frame.length > this.#maxDatagramBytes && frames.length > 0) {
          this.#socket.send(frames);
          frames = [];
          bytes = 0;
        }
        frames.push(frame);
        bytes += frame.length;
      }
      this.#sent(pending);
    }
    // One frame (the common case when requests are sequential) goes without the iovec array.
    if (frames.length === 1) this.#socket.send(frames[0] as Uint8Array);
    else if (frames.length > 1) this.#socket.send(frames);
  }

  #sent(pending: Pending): void {
    pending.attempts++;
    pending.deadline = performance.now() + this.#timeoutMs;
    this.#deadlines.push(pending);
    this.#deadlineAttempts.push(pending.attempts);
    if (this.#timer === undefined) this.#armTimer(this.#timeoutMs);
  }

  #armTimer(delayMs: number): void {
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, Math.ceil(delayMs)));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#deadlines;
    let head = this.#deadlineHead;
    while (head < queue.length) {
      const pending = queue[head] as Pending;
      if (pending.settled || this.#deadlineAttempts[head] !== pending.attempts) {
        head++;
        continue;
      }
      if (pending.deadline > now) {
        this.#armTimer(pending.deadline - now);
        break;
      }
      head++;
      this.#attemptTimedOut(pending);
    }
    if (head >= queue.length) {
      this.#deadlines = [];
      this.#deadlineAttempts = [];
      this.#deadlineHead = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      this.#deadlines = queue.slice(head);
      this.#deadlineAttempts = this.#deadlineAttempts.slice(head);
      this.#deadlineHead = 0;
    } else {
      this.#deadlineHead = head;
    }
  }

  #attemptTimedOut(pending: Pending): void {
    if (pending.attempts > pending.retries) {
      this.#fail(pending, new TimeoutError(this.address, pending.request.verb, pending.attempts, this.#timeoutMs));
      return;
    }
    // Exponential backoff with equal jitter, so clients that lost the same node do not retry in step.
    const base = this.#backoffMs * 2 ** (pending.attempts - 1);
    pending.backoff = setTimeout(() => {
      pending.backoff = undefined;
      if (!pending.settled && !this.#closed) this.#send(pending);
    }, base / 2 + Math.random() * (base / 2));
    pending.backoff.unref();
  }

  #onDatagram(datagram: Buffer): void {
    // A plain Uint8Array view: the bodies handed to callers are views into it, not Buffers.
    const { frames } = scanFrames(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length), { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
    // Frames after a malformed one are lost with it; their requests time out and are retried.
    for (const payload of frames) {
      if (this.#seed) {
        const pending = this.#seedCurrent;
        if (pending !== undefined) this.#settle(pending, payload, 0);
        continue;
      }
      const counter = replyCounter(payload, this.#idPrefixBytes);
      // No id, or one no longer outstanding (answered, timed out, or not ours): ignore.
      const pending = counter < 0 ? undefined : this.#byCounter.get(counter);
      if (pending !== undefined) this.#settle(pending, payload, counter - pending.first);
    }
  }

  /** The value `payload` answers `pending` with, or the error it stands for. */
  #valueOf(pending: Pending, payload: Uint8Array): unknown {
    if (!this.#seed) {
      const fast = readReply(payload, statusStart(payload), pending.expect);
      if (fast !== NOT_FAST) return fast;
    }
    // The codec's parser decides everything else and words every error. It reads a request
    // without id as seed form, so give it the id the frame carried.
    const request = this.#seed ? pending.request : { ...pending.request, id: this.#idPrefix + pending.first.toString(36) };
    let reply: Reply;
    try {
      reply = parseReply(payload, request);
    } catch (cause) {
      return new BadReplyError(`bad reply to ${pending.request.verb}: ${(cause as Error).message}`, { cause });
    }
    if (reply.kind === 'error') return remoteError(reply.code, reply.message);
    const value = expected(pending.expect, reply);
    return value === MISMATCH ? new BadReplyError(`a ${reply.kind} reply cannot answer ${pending.request.verb}`) : value;
  }

  #settle(pending: Pending, payload: Uint8Array, index: number): void {
    const value = this.#valueOf(pending, payload);
    const results = pending.results;
    if (results !== undefined) {
      if (results[index] !== undefined) return;
      results[index] = value instanceof ClientError ? { status: 'rejected', reason: value } : { status: 'fulfilled', value: value as PutResult };
      this.#byCounter.delete(pending.first + index);
      if (--pending.unanswered > 0) return;
      this.#finish(pending);
      pending.resolve(results);
      return;
    }
    if (value instanceof ClientError) {
      this.#fail(pending, value);
      return;
    }
    this.#finish(pending);
    pending.resolve(value);
  }

  #fail(pending: Pending, error: Error): void {
    if (pending.settled) return;
    const results = pending.results;
    // A group times out as a whole: its unanswered frames fail, the answered keep their result.
    if (results !== undefined && error instanceof TimeoutError) {
      for (let i = 0; i < results.length; i++) results[i] ??= { status: 'rejected', reason: error };
      this.#finish(pending);
      pending.resolve(results);
      return;
    }
    this.#finish(pending);
    pending.reject(error);
  }

  #finish(pending: Pending): void {
    pending.settled = true;
    if (pending.backoff !== undefined) clearTimeout(pending.backoff);
    if (pending.first >= 0) {
      for (let i = 0; i < pending.frames.length; i++) this.#byCounter.delete(pending.first + i);
    } else if (this.#seedCurrent === pending) {
      this.#seedCurrent = this.#seedWaiting.shift();
      if (this.#seedCurrent !== undefined && !this.#closed) this.#send(this.#seedCurrent);
    }
    if (--this.#outstanding === 0 && !this.#closed) this.#schedule();
  }
}

/**
 * Opens a client for the queue node at `options.address`: one UDP socket, bound to the loopback
 * address for a local node. Resolves once the socket is ready.
 */
export async function createClient(options: ClientOptions): Promise<QueueClient> {
  const address = typeof options.address === 'string' ? parseHostPort(options.address, 'queue node address') : options.address;
  const socket = await openConnectedSocket(address);
  try {
    return new UdpQueueClient(socket, address, options);
  } catch (error) {
    socket.close();
    throw error;
  }
}
