import { randomInt } from 'node:crypto';
import { AUTH_FRAME_MAX_BYTES, DEFAULT_MAX_FRAME_BYTES, PROTOCOL_LIMITS, encodeText, formatRequestId, isSeedForm, replyIdCounter, type Delivery, type NodeStats, type Reply, type Request } from '@streampy/codec';
import { parseHostPort, systemClock, type AuthFailureCounts, type HostPort } from '@streampy/runtime';
import { authenticatedTransport, clientAuthenticator, droppedRepliesHint } from './auth.js';
import { Correlator } from './correlator.js';
import { ClientClosedError, ClientError } from './errors.js';
import { FrameWriter } from './frames.js';
import type { ReplyReader } from './outstanding.js';
import { replyReaders, type PutResult, type Readers } from './replies.js';
import { bodyOf, checkRequest, integer, name, withQueue } from './requests.js';
import { openUdpTransport, type Transport } from './transport.js';
import type { ClientOptions, NackOptions, PutManyItem, PutManyResult, PutOptions, QueueClient, QueueOptions, ReserveOptions } from './types.js';

/** Random id prefix: a restarted client on a reused port never matches a reply meant for its predecessor. */
function idPrefix(): string {
  return randomInt(36 ** 4, 36 ** 5).toString(36);
}

/** The message and key of one `putMany` item. */
function itemBody(item: PutManyItem): Uint8Array {
  return typeof item === 'string' || item instanceof Uint8Array ? bodyOf(item) : bodyOf(item.message);
}

function itemKey(item: PutManyItem): string | undefined {
  return typeof item === 'string' || item instanceof Uint8Array ? undefined : item.key;
}

/** What the replies of a `putMany` group are read against: every frame is an extended PUT. */
const PUT_GROUP: Request = { verb: 'PUT', body: new Uint8Array(0) };

function rejected(error: unknown): Promise<never> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)));
}

/** The API layer: requests built and checked here, carried by the correlator, read by the readers. */
class NodeClient implements QueueClient {
  readonly address: HostPort;
  readonly authFailures?: Readonly<AuthFailureCounts>;
  readonly #correlator: Correlator;
  readonly #seed: boolean;
  readonly #read: Readers;
  readonly #frames: FrameWriter;
  readonly #idPrefix: string;

  constructor(udp: Transport, address: HostPort, options: Omit<ClientOptions, 'address'>, prefix: string) {
    this.address = address;
    this.#seed = options.protocol === 'seed';
    this.#read = replyReaders(this.#seed);
    this.#idPrefix = prefix;
    const clock = options.clock ?? systemClock;
    let transport = udp;
    let timeoutHint: (() => string | undefined) | undefined;
    // The AUTH frame rides in every datagram: the frames get that much less room.
    let envelope = 0;
    if (options.auth !== undefined) {
      if (this.#seed) throw new ClientError('ERR_UNSUPPORTED', "the seed protocol has no authentication: auth needs protocol 'extended'");
      const signed = authenticatedTransport(udp, clientAuthenticator(options.auth, clock));
      transport = signed;
      this.authFailures = signed.failures;
      timeoutHint = () => droppedRepliesHint(signed.failures);
      envelope = AUTH_FRAME_MAX_BYTES;
    }
    const maxDatagramBytes = integer('maxDatagramBytes', options.maxDatagramBytes ?? DEFAULT_MAX_FRAME_BYTES, 16 + envelope, DEFAULT_MAX_FRAME_BYTES) - envelope;
    this.#frames = new FrameWriter(maxDatagramBytes);
    const prefixBytes = encodeText(prefix);
    this.#correlator = new Correlator({
      transport,
      ...(timeoutHint === undefined ? {} : { timeoutHint }),
      peer: address,
      matching: this.#seed ? { kind: 'ordered' } : { kind: 'ids', counterOf: (payload) => replyIdCounter(payload, prefixBytes) },
      coalesce: !this.#seed && options.coalesce !== false,
      timeoutMs: integer('timeoutMs', options.timeoutMs ?? 500, 1, 2 ** 31 - 1),
      retries: integer('retries', options.retries ?? 3, 0, 1000),
      backoffMs: integer('retryBackoffMs', options.retryBackoffMs ?? 20, 0, 2 ** 31 - 1),
      maxDatagramBytes,
      clock,
    });
  }

  put(message: string | Uint8Array, options?: PutOptions): Promise<PutResult> {
    const request: { verb: 'PUT'; body: Uint8Array; key?: string } = { verb: 'PUT', body: bodyOf(message) };
    if (options?.key !== undefined) request.key = options.key;
    return this.#call(withQueue(request, options?.queue), this.#read.put, options?.retries);
  }

  putMany(messages: readonly PutManyItem[], options?: QueueOptions): Promise<PutManyResult[]> {
    if (this.#seed) {
      // Seed requests go one at a time anyway: no frames to pack.
      return Promise.all(
        messages.map((item) => {
          const key = itemKey(item);
          return this.put(itemBody(item), key === undefined ? withQueue({}, options?.queue) : withQueue({ key }, options?.queue)).then(
            (value): PutManyResult => ({ status: 'fulfilled', value }),
            (reason: unknown): PutManyResult => ({ status: 'rejected', reason: reason instanceof ClientError ? reason : new ClientError('ERR_BAD_REPLY', String(reason)) }),
          );
        }),
      );
    }
    try {
      if (this.#correlator.closed) throw new ClientClosedError();
      const queue = options?.queue;
      if (queue !== undefined) name('queue name', queue);
      if (messages.length === 0) return Promise.resolve([]);
      const frames: Uint8Array[] = [];
      const first = this.#correlator.reserveCounters(messages.length);
      for (const item of messages) {
        const key = itemKey(item);
        const request: { verb: 'PUT'; body: Uint8Array; key?: string; queue?: string } = { verb: 'PUT', body: itemBody(item) };
        if (key !== undefined) request.key = name('key', key);
        if (queue !== undefined) request.queue = queue;
        frames.push(this.#frames.frame(request, formatRequestId(this.#idPrefix, first + frames.length)));
      }
      return this.#correlator.callGroup('PUT', first, frames, PUT_GROUP, this.#read.put);
    } catch (error) {
      return rejected(error);
    }
  }

  get(options?: QueueOptions): Promise<Uint8Array | undefined> {
    return this.#call(withQueue({ verb: 'GET' }, options?.queue), this.#read.get);
  }

  async getBatch(max: number, options?: QueueOptions): Promise<Uint8Array[]> {
    integer('max', max, 1, PROTOCOL_LIMITS.maxBatch);
    if (this.#seed) {
      // The seed has no batch GET: take messages one at a time until empty.
      if (options?.queue !== undefined) throw new ClientError('ERR_UNSUPPORTED', 'the seed protocol has one queue per node: no queue option');
      const bodies: Uint8Array[] = [];
      while (bodies.length < max) {
        const body = await this.get();
        if (body === undefined) break;
        bodies.push(body);
      }
      return bodies;
    }
    return this.#call(withQueue({ verb: 'GET', max }, options?.queue), this.#read.batch);
  }

  size(options?: QueueOptions): Promise<number> {
    return this.#call(withQueue({ verb: 'SIZE' }, options?.queue), this.#read.size);
  }

  reserve(options?: ReserveOptions): Promise<Delivery[]> {
    const request: { verb: 'RESERVE'; max?: number; leaseMs?: number } = { verb: 'RESERVE' };
    if (options?.max !== undefined) request.max = options.max;
    if (options?.leaseMs !== undefined) request.leaseMs = options.leaseMs;
    return this.#call(withQueue(request, options?.queue), this.#read.leased);
  }

  ack(token: string, options?: QueueOptions): Promise<void> {
    return this.#call(withQueue({ verb: 'ACK', token }, options?.queue), this.#read.ok);
  }

  nack(token: string, options?: NackOptions): Promise<void> {
    const request: { verb: 'NACK'; token: string; delayMs?: number } = { verb: 'NACK', token };
    if (options?.delayMs !== undefined) request.delayMs = options.delayMs;
    return this.#call(withQueue(request, options?.queue), this.#read.ok);
  }

  extend(token: string, leaseMs: number, options?: QueueOptions): Promise<void> {
    return this.#call(withQueue({ verb: 'EXTEND', token, leaseMs }, options?.queue), this.#read.ok);
  }

  stats(): Promise<NodeStats> {
    return this.#call({ verb: 'STATS' }, this.#read.stats);
  }

  request(request: Request): Promise<Reply> {
    if (this.#seed) {
      if (request.id !== undefined) return rejected(new ClientError('ERR_UNSUPPORTED', 'the seed protocol has no correlation ids'));
      return this.#call(request, this.#read.any);
    }
    const { id: _ignored, ...rest } = request;
    return this.#call(rest, this.#read.any);
  }

  close(): Promise<void> {
    return this.#correlator.close();
  }

  #call<T>(request: Request, read: ReplyReader<T, Request>, retries?: number): Promise<T> {
    try {
      if (this.#correlator.closed) throw new ClientClosedError();
      checkRequest(request);
      if (retries !== undefined) integer('retries', retries, 0, 1000);
      if (this.#seed) {
        if (!isSeedForm(request)) {
          throw new ClientError('ERR_UNSUPPORTED', `the seed protocol knows only PUT, GET and SIZE without options; got ${request.verb}${request.queue === undefined ? '' : ' with a queue'}`);
        }
        return this.#correlator.call(request.verb, -1, this.#frames.frame(request, undefined), request, read, retries);
      }
      const counter = this.#correlator.reserveCounters(1);
      return this.#correlator.call(request.verb, counter, this.#frames.frame(request, formatRequestId(this.#idPrefix, counter)), request, read, retries);
    } catch (error) {
      return rejected(error);
    }
  }
}

/** A client over any transport (an in-memory one in tests); `createClient` opens a UDP one. */
export function createClientOver(transport: Transport, address: HostPort, options: Omit<ClientOptions, 'address'>): QueueClient {
  return new NodeClient(transport, address, options, idPrefix());
}

/**
 * Opens a client for the queue node at `options.address`: one UDP socket, bound to the loopback
 * address for a local node. Resolves once the socket is ready.
 */
export async function createClient(options: ClientOptions): Promise<QueueClient> {
  const address = typeof options.address === 'string' ? parseHostPort(options.address, 'queue node address') : options.address;
  const transport = await openUdpTransport(address);
  try {
    return createClientOver(transport, address, options);
  } catch (error) {
    await transport.close();
    throw error;
  }
}
