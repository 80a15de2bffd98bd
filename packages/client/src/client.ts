import type { Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_LIMITS,
  encodeFrame,
  encodeRequest,
  encodeText,
  isSeedForm,
  parseReply,
  replyId,
  scanFrames,
  type Delivery,
  type Reply,
  type Request,
} from '@streampy/codec';
import { parseHostPort, type HostPort } from '@streampy/runtime';
import { BadReplyError, ClientClosedError, ClientError, TimeoutError, remoteError } from './errors.js';
import { openConnectedSocket } from './socket.js';

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

export interface QueueClient {
  readonly address: HostPort;
  put(message: string | Uint8Array, options?: PutOptions): Promise<PutResult>;
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
type Expect = (reply: Reply) => unknown;

const expectPut: Expect = (r) => (r.kind === 'put' ? { bytes: r.bytes, duplicate: r.duplicate } : MISMATCH);
const expectGet: Expect = (r) => (r.kind === 'message' ? r.body : r.kind === 'empty' ? undefined : MISMATCH);
const expectBatch: Expect = (r) => (r.kind === 'messages' ? r.bodies : r.kind === 'empty' ? [] : r.kind === 'message' ? [r.body] : MISMATCH);
const expectSize: Expect = (r) => (r.kind === 'size' ? r.size : MISMATCH);
const expectLeased: Expect = (r) => (r.kind === 'leased' ? r.deliveries : r.kind === 'empty' ? [] : MISMATCH);
const expectOk: Expect = (r) => (r.kind === 'ok' ? undefined : MISMATCH);
const expectStats: Expect = (r) => (r.kind === 'stats' ? r.stats : MISMATCH);
const expectAny: Expect = (r) => r;

interface Pending {
  readonly request: Request;
  /** The encoded frame, kept so a retry resends the very same bytes (and id). */
  readonly frame: Uint8Array;
  readonly expect: Expect;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  attempts: number;
  deadline: number;
  settled: boolean;
  backoff: NodeJS.Timeout | undefined;
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
  return queue === undefined ? request : { ...request, queue };
}

/** Random id prefix: a restarted client on a reused port never matches a reply meant for its predecessor. */
function idPrefix(): string {
  return randomInt(36 ** 4, 36 ** 5).toString(36);
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
  #idCounter = 0;
  #closed = false;
  #outstanding = 0;
  /** Extended mode: requests waiting for their reply, by correlation id. */
  readonly #byId = new Map<string, Pending>();
  /** Seed mode: the one request on the wire, and those waiting their turn. */
  #seedCurrent: Pending | undefined;
  readonly #seedWaiting: Pending[] = [];
  /** Requests to send on the next flush (coalescing). */
  #outbox: Pending[] = [];
  #flushScheduled = false;
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
    const base = options?.key === undefined ? { verb: 'PUT' as const, body } : { verb: 'PUT' as const, body, key: options.key };
    return this.#call(withQueue(base, options?.queue), expectPut) as Promise<PutResult>;
  }

  get(options?: QueueOptions): Promise<Uint8Array | undefined> {
    return this.#call(withQueue({ verb: 'GET' }, options?.queue), expectGet) as Promise<Uint8Array | undefined>;
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
    return (await this.#call(withQueue({ verb: 'GET', max }, options?.queue), expectBatch)) as Uint8Array[];
  }

  size(options?: QueueOptions): Promise<number> {
    return this.#call(withQueue({ verb: 'SIZE' }, options?.queue), expectSize) as Promise<number>;
  }

  reserve(options?: ReserveOptions): Promise<Delivery[]> {
    const request: { verb: 'RESERVE'; max?: number; leaseMs?: number } = { verb: 'RESERVE' };
    if (options?.max !== undefined) request.max = options.max;
    if (options?.leaseMs !== undefined) request.leaseMs = options.leaseMs;
    return this.#call(withQueue(request, options?.queue), expectLeased) as Promise<Delivery[]>;
  }

  ack(token: string, options?: QueueOptions): Promise<void> {
    return this.#call(withQueue({ verb: 'ACK', token }, options?.queue), expectOk) as Promise<void>;
  }

  nack(token: string, options?: NackOptions): Promise<void> {
    const request: { verb: 'NACK'; token: string; delayMs?: number } = { verb: 'NACK', token };
    if (options?.delayMs !== undefined) request.delayMs = options.delayMs;
    return this.#call(withQueue(request, options?.queue), expectOk) as Promise<void>;
  }

  extend(token: string, leaseMs: number, options?: QueueOptions): Promise<void> {
    const request = { verb: 'EXTEND' as const, token, leaseMs };
    return this.#call(withQueue(request, options?.queue), expectOk) as Promise<void>;
  }

  stats(): Promise<Record<string, unknown>> {
    return this.#call({ verb: 'STATS' }, expectStats) as Promise<Record<string, unknown>>;
  }

  request(request: Request): Promise<Reply> {
    if (this.#seed) {
      if (request.id !== undefined) return Promise.reject(new ClientError('ERR_UNSUPPORTED', 'the seed protocol has no correlation ids'));
      return this.#call(request, expectAny) as Promise<Reply>;
    }
    const { id: _ignored, ...rest } = request;
    return this.#call(rest, expectAny) as Promise<Reply>;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClientClosedError();
    for (const pending of [...this.#byId.values(), ...this.#seedWaiting, ...this.#outbox]) this.#fail(pending, error);
    if (this.#seedCurrent) this.#fail(this.#seedCurrent, error);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
  }

  #checkSeedQueue(queue: string | undefined): void {
    if (queue !== undefined) throw new ClientError('ERR_UNSUPPORTED', 'the seed protocol has one queue per node: no queue option');
  }

  #call(request: Request, expect: Expect): Promise<unknown> {
    try {
      if (this.#closed) throw new ClientClosedError();
      checkRequest(request);
      if (this.#seed && !isSeedForm(request)) {
        throw new ClientError('ERR_UNSUPPORTED', `the seed protocol knows only PUT, GET and SIZE without options; got ${request.verb}${request.queue === undefined ? '' : ' with a queue'}`);
      }
      const sent = this.#seed ? request : { ...request, id: this.#idPrefix + (++this.#idCounter).toString(36) };
      const frame = encodeFrame(encodeRequest(sent));
      if (frame.length > this.#maxDatagramBytes) {
        throw new ClientError('ERR_REQUEST_TOO_LARGE', `${request.verb} request takes ${frame.length} bytes, over the datagram limit of ${this.#maxDatagramBytes}`);
      }
      return new Promise((resolve, reject) => {
        const pending: Pending = { request: sent, frame, expect, resolve, reject, attempts: 0, deadline: 0, settled: false, backoff: undefined };
        if (this.#outstanding++ === 0) this.#socket.ref();
        if (sent.id !== undefined) {
          this.#byId.set(sent.id, pending);
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

  #send(pending: Pending): void {
    if (!this.#coalesce) {
      this.#socket.send(pending.frame);
      this.#sent(pending);
      return;
    }
    this.#outbox.push(pending);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed) return;
    const outbox = this.#outbox;
    this.#outbox = [];
    let frames: Uint8Array[] = [];
    let bytes = 0;
    for (const pending of outbox) {
      if (pending.settled) continue;
      if (bytes + pending.frame.length > this.#maxDatagramBytes && frames.length > 0) {
        this.#socket.send(frames);
        frames = [];
        bytes = 0;
      }
      frames.push(pending.frame);
      bytes += pending.frame.length;
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
    if (pending.attempts > this.#retries) {
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
        if (pending !== undefined) this.#settle(pending, payload);
        continue;
      }
      const id = replyId(payload);
      // No id, or one no longer outstanding (answered, timed out, or not ours): ignore.
      const pending = id === undefined ? undefined : this.#byId.get(id);
      if (pending !== undefined) this.#settle(pending, payload);
    }
  }

  #settle(pending: Pending, payload: Uint8Array): void {
    let reply: Reply;
    try {
      reply = parseReply(payload, pending.request);
    } catch (cause) {
      this.#fail(pending, new BadReplyError(`bad reply to ${pending.request.verb}: ${(cause as Error).message}`, { cause }));
      return;
    }
    if (reply.kind === 'error') {
      this.#fail(pending, remoteError(reply.code, reply.message));
      return;
    }
    const value = pending.expect(reply);
    if (value === MISMATCH) {
      this.#fail(pending, new BadReplyError(`a ${reply.kind} reply cannot answer ${pending.request.verb}`));
      return;
    }
    this.#finish(pending);
    pending.resolve(value);
  }

  #fail(pending: Pending, error: Error): void {
    if (pending.settled) return;
    this.#finish(pending);
    pending.reject(error);
  }

  #finish(pending: Pending): void {
    pending.settled = true;
    if (pending.backoff !== undefined) clearTimeout(pending.backoff);
    if (pending.request.id !== undefined) {
      this.#byId.delete(pending.request.id);
    } else if (this.#seedCurrent === pending) {
      this.#seedCurrent = this.#seedWaiting.shift();
      if (this.#seedCurrent !== undefined && !this.#closed) this.#send(this.#seedCurrent);
    }
    if (--this.#outstanding === 0 && !this.#closed) this.#socket.unref();
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
