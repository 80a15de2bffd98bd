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

@@CLASS@@

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
