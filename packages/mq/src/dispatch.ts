import {
  MAX_BATCH_STATUS,
  MAX_DATAGRAM_FRAME_HEADER,
  MAX_LEASED_ITEM_OVERHEAD,
  ReplyWriter,
  idPrefixLength,
  isSeedForm,
  isStreampyError,
  type CodecError,
  type NodeStats,
  type Request,
  type WireErrorCode,
} from '@streampy/codec';
import { LatencyHistogram, type Clock, type Logger } from '@streampy/runtime';
import { MessageBatch, isPending, type Awaitable, type PutResult, type QueueBackend } from './backend.js';
import type { Registry } from './registry.js';
import { Refusal, type Peer, type RequestReader, type Step } from './requests.js';
import type { NodeCounters, RecentBodies } from './stats.js';

export const DEFAULT_QUEUE = 'default';
/** Writers kept for datagrams whose replies wait (durable puts); more are made when needed. */
const SPARE_WRITERS = 8;
/**
 * Datagrams whose replies may wait for a storage flush at once: each holds its request datagram
 * and a reply writer (up to 128 KiB) until then. Beyond it, requests that would wait are refused
 * `ERR FULL` at once, so a slow disk under a flood cannot grow the node without bound.
 */
export const MAX_WAITING_DATAGRAMS = 256;
/**
 * Requests of one datagram whose replies can fill a datagram (GET, RESERVE, STATS): beyond
 * these, the rest are refused, so one small datagram cannot make the node build megabytes of
 * replies (a datagram of 10,000 GETs).
 */
export const MAX_LARGE_REPLIES_PER_DATAGRAM = 16;

/** What an operation answered, by verb (see `#perform`). */
type Outcome = PutResult | MessageBatch | boolean | number | NodeStats;

export interface DispatchOptions<P extends Peer> {
  readonly registry: Registry;
  readonly reader: RequestReader;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: NodeCounters;
  readonly recent: RecentBodies;
  /** STATS for `peer`, which decides whether it shows message bodies. */
  readonly stats: (peer: P) => NodeStats;
  /** Lease of a RESERVE without `lease=`. */
  readonly leaseMs: number;
  readonly maxDatagramBytes: number;
  /** Sends what `out` holds to `peer`, then empties it. */
  readonly send: (out: ReplyWriter, peer: P) => void;
  /** Put-to-get latency per queue, observed when given (one clock read per message handed out). */
  readonly latency?: Map<string, LatencyHistogram> | undefined;
}

/** A request of a datagram whose reply waits, because it or one before it waits for its backend. */
interface Held {
  readonly step: Step;
  readonly backend: QueueBackend | undefined;
  outcome: Outcome | undefined;
  /** Set while the operation's promise is pending; it never rejects. */
  settling: Promise<void> | undefined;
  failure: unknown;
  failedLater: boolean;
}

/**
 * Carries out the request frames of one datagram against the queues' backends and writes
 * their replies, in order, into a `ReplyWriter`; the server sends what it holds. No socket.
 *
 * When every operation answers at once (the memory path: the hot one), replies go straight
 * into one reused writer and nothing waits. When one answers with a promise, the datagram
 * keeps the writer holding its replies so far, the next datagrams get another, and the rest of
 * its requests are still called at once, in order; their replies are written once all settle.
 */
export class Dispatcher<P extends Peer> {
  readonly #options: DispatchOptions<P>;
  readonly #registry: Registry;
  readonly #counters: NodeCounters;
  readonly #logger: Logger;
  #out: ReplyWriter;
  readonly #spare: ReplyWriter[] = [];
  #batch = new MessageBatch();
  readonly #steps: Step[] = [];
  /** Datagrams whose replies wait for their backends now. */
  #waiting = 0;
  #stopped = false;

  constructor(options: DispatchOptions<P>) {
    this.#options = options;
    this.#registry = options.registry;
    this.#counters = options.counters;
    this.#logger = options.logger;
    this.#out = new ReplyWriter(options.maxDatagramBytes);
  }

  /** Nothing is carried out or sent after this (the node is stopping). */
  stop(): void {
    this.#stopped = true;
  }

  /** The frames of one datagram (and the error that ended them, if any), from `peer`. */
  handle(frames: readonly Uint8Array[], frameError: CodecError | undefined, peer: P, knownUtf8: boolean): void {
    if (this.#stopped) return;
    const steps = this.#steps;
    steps.length = 0;
    let waits: Promise<unknown>[] | undefined;
    let large = 0;
    for (const frame of frames) {
      let step = this.#options.reader.read(frame, peer, knownUtf8);
      if (!(step instanceof Refusal)) step = this.#bounded(step, step.verb === 'GET' || step.verb === 'RESERVE' || step.verb === 'STATS' ? ++large : 0);
      // STATS covers the whole node: its q= names no queue to create.
      if (!(step instanceof Refusal) && step.verb !== 'STATS' && step.queue !== undefined) {
        const ready = this.#registry.prepare(step.queue);
        if (ready === false) {
          const max = this.#registry.maxQueues;
          step = new Refusal(step.id, 'BAD_REQUEST', `this node holds at most ${max} queues; "${step.queue}" would be one more`);
        } else if (ready !== true) (waits ??= []).push(ready);
      }
      steps.push(step);
    }
    if (frameError !== undefined) steps.push(this.#options.reader.badFrame(frameError, peer));
    if (waits === undefined) return this.#run(steps, peer);
    const kept = steps.slice();
    void Promise.all(waits).then(() => this.#run(kept, peer));
  }

  /** `step`, or its refusal when the datagram asks too much or too many replies wait already. */
  #bounded(step: Request, large: number): Step {
    if (large > MAX_LARGE_REPLIES_PER_DATAGRAM) {
      return new Refusal(step.id, 'BAD_REQUEST', `a datagram may carry at most ${MAX_LARGE_REPLIES_PER_DATAGRAM} GET, RESERVE and STATS requests; send the rest in another datagram`);
    }
    if (this.#waiting >= MAX_WAITING_DATAGRAMS && step.verb !== 'SIZE' && step.verb !== 'STATS') {
      return new Refusal(step.id, 'FULL', `the replies of ${this.#waiting} datagrams are waiting for storage; retry later`);
    }
    return step;
  }

  #run(steps: readonly Step[], peer: P): void {
    if (this.#stopped) return;
    const out = this.#out;
    let held: Held[] | undefined;
    for (const step of steps) {
      if (held !== undefined) {
        held.push(this.#hold(step, peer));
        continue;
      }
      if (step instanceof Refusal) {
        this.#error(out, step.id, step.code, step.message);
        continue;
      }
      const backend = this.#backendOf(step);
      if (backend === undefined) {
        this.#notOpened(out, step);
        continue;
      }
      const mark = out.mark();
      try {
        const outcome = this.#perform(step, backend, this.#batch, peer);
        if (!isPending(outcome)) {
          this.#finish(out, step, backend, outcome);
          continue;
        }
        // The pending operation owns the batch and this writer now.
        this.#batch = new MessageBatch();
        this.#out = this.#spare.pop() ?? new ReplyWriter(this.#options.maxDatagramBytes);
        held = [this.#settleLater({ step, backend, outcome: undefined, settling: undefined, failure: undefined, failedLater: false }, outcome)];
        this.#waiting++;
      } catch (error) {
        out.rollback(mark);
        this.#failed(out, step, error, false);
      }
    }
    if (held === undefined) {
      this.#options.send(out, peer);
      return;
    }
    const pending = held;
    const settling: Promise<void>[] = [];
    for (const entry of pending) if (entry.settling !== undefined) settling.push(entry.settling);
    void Promise.all(settling).then(() => this.#writeHeld(out, pending, peer));
  }

  /** A request after the first that waits: called now, its reply written later. */
  #hold(step: Step, peer: P): Held {
    const backend = step instanceof Refusal ? undefined : this.#backendOf(step);
    const entry: Held = { step, backend, outcome: undefined, settling: undefined, failure: undefined, failedLater: false };
    if (step instanceof Refusal || backend === undefined) return entry;
    try {
      const outcome = this.#perform(step, backend, new MessageBatch(), peer);
      if (isPending(outcome)) return this.#settleLater(entry, outcome);
      entry.outcome = outcome;
    } catch (error) {
      entry.failure = error;
    }
    return entry;
  }

  /** Fills `entry` once `outcome` settles. */
  #settleLater(entry: Held, outcome: Promise<Outcome>): Held {
    entry.settling = outcome.then(
      (value) => {
        entry.outcome = value;
      },
      (error: unknown) => {
        entry.failure = error;
        entry.failedLater = true;
      },
    );
    return entry;
  }

  #writeHeld(out: ReplyWriter, held: readonly Held[], peer: P): void {
    this.#waiting--;
    for (const { step, backend, outcome, failure, failedLater } of held) {
      if (step instanceof Refusal) this.#error(out, step.id, step.code, step.message);
      else if (backend === undefined) this.#notOpened(out, step);
      else if (failure !== undefined || outcome === undefined) this.#failed(out, step, failure, failedLater);
      else {
        const mark = out.mark();
        try {
          this.#finish(out, step, backend, outcome);
        } catch (error) {
          out.rollback(mark);
          this.#failed(out, step, error, false);
        }
      }
    }
    if (!this.#stopped) this.#options.send(out, peer);
    out.reset();
    if (this.#spare.length < SPARE_WRITERS) this.#spare.push(out);
  }

  #backendOf(request: Request): QueueBackend | undefined {
    return this.#registry.get(request.verb === 'STATS' ? DEFAULT_QUEUE : (request.queue ?? DEFAULT_QUEUE));
  }

  /** Calls the operation `request` asks for. A batch it returns is `batch`, filled. */
  #perform(request: Request, backend: QueueBackend, batch: MessageBatch, peer: P): Awaitable<Outcome> {
    switch (request.verb) {
      case 'PUT':
        return backend.put(request.body, request.key);
      case 'GET': {
        const filled = backend.get(request.max ?? 1, batch.reset(this.#room(request.id), 0));
        return isPending(filled) ? filled.then(() => batch) : batch;
      }
      case 'RESERVE': {
        const leaseMs = request.leaseMs ?? this.#options.leaseMs;
        const filled = backend.reserve(request.max ?? 1, leaseMs, batch.reset(this.#room(request.id), MAX_LEASED_ITEM_OVERHEAD));
        return isPending(filled) ? filled.then(() => batch) : batch;
      }
      case 'SIZE':
        return backend.size();
      case 'STATS':
        return this.#options.stats(peer);
      case 'ACK':
        return backend.ack(request.token);
      case 'NACK':
        return backend.nack(request.token, request.delayMs ?? 0);
      case 'EXTEND':
        return backend.extend(request.token, request.leaseMs);
    }
  }

  /** Writes the reply to `outcome`, or a short error in its place when it does not fit a datagram. */
  #finish(out: ReplyWriter, request: Request, backend: QueueBackend, outcome: Outcome): void {
    if (this.#write(out, request, backend, outcome)) return;
    this.#logger.error('reply larger than a datagram', { verb: request.verb });
    this.#error(out, undefined, 'INTERNAL', 'the reply would not fit in a datagram');
  }

  #write(out: ReplyWriter, request: Request, backend: QueueBackend, outcome: Outcome): boolean {
    const id = request.id;
    switch (request.verb) {
      case 'PUT': {
        const result = outcome as PutResult;
        if (result.outcome === 'full') return this.#error(out, id, 'FULL', result.reason);
        if (result.outcome === 'stored' && backend.name === DEFAULT_QUEUE) this.#options.recent.record(request.body);
        return out.put(id, request.body.byteLength, result.outcome === 'duplicate', isSeedForm(request));
      }
      case 'GET':
        return request.max === undefined ? this.#writeMessage(out, request, backend, outcome as MessageBatch) : this.#writeMessages(out, id, backend, outcome as MessageBatch);
      case 'RESERVE':
        return this.#writeLeased(out, id, backend, outcome as MessageBatch);
      case 'SIZE':
        return out.size(id, outcome as number, isSeedForm(request));
      case 'STATS':
        return out.stats(id, outcome as NodeStats);
      case 'ACK':
      case 'NACK':
      case 'EXTEND':
        if (outcome === true) return out.ok(id);
        return this.#error(out, id, 'UNKNOWN_LEASE', `lease ${request.token} is not held in queue ${backend.name}: acked, expired, redelivered or never issued`);
    }
  }

  /** A GET without `max=`: `MSG:<body>` or `EMPTY` (the seed's bare forms without an id). */
  #writeMessage(out: ReplyWriter, request: Request, backend: QueueBackend, batch: MessageBatch): boolean {
    const seed = isSeedForm(request);
    const body = batch.bodies[0];
    if (body === undefined) return out.empty(request.id, seed);
    this.#delivered(backend, batch.enqueuedAt[0] as number);
    const written = typeof body === 'string' ? out.messageText(request.id, body, batch.sizes[0] as number, seed) : out.message(request.id, body, seed);
    batch.clear();
    return written;
  }

  #writeMessages(out: ReplyWriter, id: string | undefined, backend: QueueBackend, batch: MessageBatch): boolean {
    const { bodies, sizes } = batch;
    out.beginMessages(id, bodies.length);
    for (let i = 0; i < bodies.length; i++) {
      this.#delivered(backend, batch.enqueuedAt[i] as number);
      const body = bodies[i] as string | Uint8Array;
      if (typeof body === 'string') out.batchMessageText(body, sizes[i] as number);
      else out.batchMessage(body);
    }
    batch.clear();
    return out.endBatch();
  }

  #writeLeased(out: ReplyWriter, id: string | undefined, backend: QueueBackend, batch: MessageBatch): boolean {
    const { bodies, sizes, messageIds, deliveries, nonces } = batch;
    out.beginLeased(id, bodies.length);
    for (let i = 0; i < bodies.length; i++) {
      const delivery = deliveries[i] as number;
      if (delivery === 1) this.#delivered(backend, batch.enqueuedAt[i] as number);
      const body = bodies[i] as string | Uint8Array;
      if (typeof body === 'string') out.leasedItemText(messageIds[i] as string, delivery, nonces[i] as string, body, sizes[i] as number);
      else out.leasedItem(messageIds[i] as string, delivery, nonces[i] as string, body);
    }
    batch.clear();
    return out.endBatch();
  }

  /** Room for the items of a batch reply after the frame header, id prefix and status. */
  #room(id: string | undefined): number {
    return this.#options.maxDatagramBytes - MAX_DATAGRAM_FRAME_HEADER - idPrefixLength(id) - MAX_BATCH_STATUS;
  }

  #delivered(backend: QueueBackend, enqueuedAt: number): void {
    const latency = this.#options.latency;
    if (latency !== undefined) {
      let histogram = latency.get(backend.name);
      if (histogram === undefined) latency.set(backend.name, (histogram = new LatencyHistogram()));
      histogram.observe((this.#options.clock.now() - enqueuedAt) / 1000);
    }
    if (this.#logger.enabled('debug')) {
      this.#logger.debug('edge latency', { queue: backend.name, seconds: (this.#options.clock.now() - enqueuedAt) / 1000 });
    }
  }

  #error(out: ReplyWriter, id: string | undefined, code: WireErrorCode, message: string): boolean {
    this.#counters.errors++;
    if (out.error(id, code, message)) return true;
    // Only a long id and message can outgrow a datagram: say so without them.
    return out.error(undefined, 'INTERNAL', 'the reply would not fit in a datagram');
  }

  /** The reply to a request for a queue that could not be opened: UNAVAILABLE when its store could not be reached. */
  #notOpened(out: ReplyWriter, request: Request): void {
    const name = request.queue ?? DEFAULT_QUEUE;
    const failure = this.#registry.failure(name);
    if (isStreampyError(failure, 'ERR_UNAVAILABLE')) this.#error(out, request.id, 'UNAVAILABLE', failure.message);
    else this.#error(out, request.id, 'INTERNAL', `queue "${name}" could not be opened`);
  }

  /** `later`: the operation's promise rejected (for a put: its storage failed before the message was durable). */
  #failed(out: ReplyWriter, request: Request, error: unknown, later: boolean): void {
    const reason = error instanceof Error ? error.message : String(error);
    if (isStreampyError(error, 'ERR_STORAGE')) {
      // The backend undid the request: the client may simply retry.
      this.#logger.error('storage failed', { verb: request.verb, error: reason });
      this.#error(out, request.id, 'INTERNAL', reason);
      return;
    }
    if (isStreampyError(error, 'ERR_UNAVAILABLE')) {
      // The store behind the queue (JetStream) did not answer in time: nothing acknowledged changed.
      // Logged once by the connection when it drops; one line per request would flood the log during an outage.
      this.#logger.debug('store unavailable', { verb: request.verb, error: reason });
      this.#error(out, request.id, 'UNAVAILABLE', reason);
      return;
    }
    if (later && request.verb === 'PUT') {
      this.#logger.error('storage flush failed', { error: reason });
      this.#error(out, request.id, 'INTERNAL', 'storage failed before the message was durable; it may or may not be stored');
      return;
    }
    this.#logger.error('request failed', { verb: request.verb, error: reason });
    this.#error(out, request.id, 'INTERNAL', 'the node failed to carry out the request');
  }
}
