import { DEFAULT_MAX_FRAME_BYTES, scanFrames } from '@streampy/codec';
import type { Clock, HostPort, TimerHandle } from '@streampy/runtime';
import { ClientClosedError, DatagramTooLargeError, TimeoutError, UnreachableError, type ClientError } from './errors.js';
import { Group, Single, type Outstanding, type ReplyReader, type Settled } from './outstanding.js';
import type { Transport, TransportFault } from './transport.js';

/** The correlator's timers never hold the process open: the transport does, while requests are outstanding. */
const UNREF = { unref: true } as const;

/**
 * How replies find their requests. `ids`: every frame carries a correlation id, any number are
 * outstanding, and the correlator matches replies by the counter `counterOf` reads from their
 * id. `ordered`: one request on the wire at a time, and the next reply frame answers
 * it (the seed protocol, raw frames).
 */
export type Matching =
  | { readonly kind: 'ids'; counterOf(payload: Uint8Array): number }
  | { readonly kind: 'ordered' };

export interface CorrelatorOptions {
  readonly transport: Transport;
  /** The node, for error messages. */
  readonly peer: HostPort;
  readonly matching: Matching;
  /** Requests issued in one event-loop turn travel in one datagram. */
  readonly coalesce: boolean;
  /** Wait per attempt, ms. */
  readonly timeoutMs: number;
  /** Extra attempts after a timeout, unless a request says otherwise. */
  readonly retries: number;
  /** Backoff before the first retry, doubled for each further one, with jitter. */
  readonly backoffMs: number;
  /** Largest datagram sent (lowered when the OS refuses one of several frames as too large). */
  readonly maxDatagramBytes: number;
  readonly clock: Clock;
  /** Ends a timeout's message, when the layer below knows why replies did not arrive. */
  readonly timeoutHint?: () => string | undefined;
}

/**
 * The client's middle layer, between the transport and the API: matches replies to requests,
 * keeps their deadlines, retries with backoff, packs the requests of one event-loop turn into
 * one datagram and holds the process open while anything is outstanding. It knows frames, not
 * what they say: the caller writes each frame and reads each reply.
 */
export class Correlator {
  readonly peer: HostPort;
  readonly #transport: Transport;
  readonly #matching: Matching;
  readonly #coalesce: boolean;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #backoffMs: number;
  #maxDatagramBytes: number;
  readonly #clock: Clock;
  readonly #timeoutHint: (() => string | undefined) | undefined;
  #counter = 0;
  #closed = false;
  #outstanding = 0;
  /** Matching by id: requests waiting for their reply, by correlation counter. */
  readonly #byCounter = new Map<number, Outstanding>();
  /** Ordered matching: the one request on the wire, and those waiting their turn. */
  #current: Outstanding | undefined;
  readonly #waiting: Outstanding[] = [];
  /** Requests to send on the next tick (coalescing); swapped with the spare at each flush. */
  #outbox: Outstanding[] = [];
  #spare: Outstanding[] = [];
  readonly #parts: Uint8Array[] = [];
  #partsBytes = 0;
  /** Frames of a datagram the OS refused as too large, to go again in smaller ones at the next flush. */
  #refused: { readonly request: Outstanding; readonly index: number }[] = [];
  #tickScheduled = false;
  readonly #onTick = (): void => this.#tick();
  /**
   * Attempt deadlines in send order. Every attempt waits the same `timeoutMs`, so deadlines
   * only grow along the queue and one timer armed for the oldest live entry serves them all.
   * Entries of settled or re-sent requests are skipped lazily.
   */
  #deadlines: Outstanding[] = [];
  #deadlineAttempts: number[] = [];
  #deadlineHead = 0;
  #timer: TimerHandle | undefined;
  readonly #onTimer = (): void => this.#expire();

  constructor(options: CorrelatorOptions) {
    this.peer = options.peer;
    this.#transport = options.transport;
    this.#matching = options.matching;
    this.#coalesce = options.coalesce;
    this.#timeoutMs = options.timeoutMs;
    this.#retries = options.retries;
    this.#backoffMs = options.backoffMs;
    this.#maxDatagramBytes = options.maxDatagramBytes;
    this.#clock = options.clock;
    this.#timeoutHint = options.timeoutHint;
    this.#transport.onDatagram((datagram) => this.#onDatagram(datagram));
    this.#transport.onFault?.((fault) => this.#onFault(fault));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reserves `count` consecutive correlation counters and returns the first (ids matching only). */
  reserveCounters(count: number): number {
    const first = this.#counter + 1;
    this.#counter += count;
    return first;
  }

  /**
   * Sends one frame and resolves with what `read` makes of its reply. `first` is the frame's
   * counter from `reserveCounters` (ids matching), -1 for ordered matching.
   */
  call<T, C>(label: string, first: number, frame: Uint8Array, context: C, read: ReplyReader<T, C>, retries = this.#retries): Promise<T> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    return new Promise<T>((resolve, reject) => this.#start(new Single(label, first, frame, retries, context, read, resolve, reject)));
  }

  /** Sends frames with consecutive counters from `first`, and resolves with one outcome per frame. */
  callGroup<T, C>(label: string, first: number, frames: readonly Uint8Array[], context: C, read: ReplyReader<T, C>, retries = this.#retries): Promise<Settled<T>[]> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    return new Promise<Settled<T>[]>((resolve, reject) => this.#start(new Group(label, first, frames, retries, context, read, resolve, reject)));
  }

  /** Rejects everything outstanding with `ClientClosedError` and closes the transport. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const error = new ClientClosedError();
    const all = new Set<Outstanding>([...this.#byCounter.values(), ...this.#waiting, ...this.#outbox]);
    if (this.#current !== undefined) all.add(this.#current);
    for (const request of all) this.#fail(request, error);
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#transport.close();
  }

  #start(request: Outstanding): void {
    // A request starts: hold the process open until its reply (only on the way up from idle).
    if (this.#outstanding++ === 0) this.#transport.hold(true);
    if (request.first >= 0) {
      for (let i = 0; i < request.frames.length; i++) this.#byCounter.set(request.first + i, request);
      this.#send(request);
    } else if (this.#current === undefined) {
      this.#current = request;
      this.#send(request);
    } else {
      this.#waiting.push(request);
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
    if (this.#outbox.length > 0 || this.#refused.length > 0) this.#flush();
    // Let go only if the turn that finished the last request did not start another one.
    if (this.#outstanding === 0) this.#transport.hold(false);
  }

  #send(request: Outstanding): void {
    if (!this.#coalesce) {
      for (let i = 0; i < request.frames.length; i++) if (request.open(i)) this.#transport.send(request.frames[i] as Uint8Array);
      this.#sent(request, this.#clock.now());
      return;
    }
    this.#outbox.push(request);
    this.#schedule();
  }

  #flush(): void {
    const outbox = this.#outbox;
    this.#outbox = this.#spare;
    const now = this.#clock.now();
    if (this.#refused.length > 0) {
      // Sent again within their attempt (the OS never sent them): the deadline stays.
      for (const { request, index } of this.#refused) if (!request.settled && request.open(index)) this.#pack(request.frames[index] as Uint8Array);
      this.#refused = [];
    }
    for (const request of outbox) {
      if (request.settled) continue;
      for (let i = 0; i < request.frames.length; i++) if (request.open(i)) this.#pack(request.frames[i] as Uint8Array);
      this.#sent(request, now);
    }
    if (this.#parts.length > 0) this.#sendParts(this.#parts);
    outbox.length = 0;
    this.#spare = outbox;
  }

  /** Adds `frame` to the datagram being filled, sending that one first when `frame` would not fit. */
  #pack(frame: Uint8Array): void {
    const parts = this.#parts;
    if (this.#partsBytes + frame.length > this.#maxDatagramBytes && parts.length > 0) this.#sendParts(parts);
    parts.push(frame);
    this.#partsBytes += frame.length;
  }

  /** One datagram of `parts`, emptied after. Frames written next to each other go as one view. */
  #sendParts(parts: Uint8Array[]): void {
    let merged = 0;
    for (let i = 1; i < parts.length; i++) {
      const last = parts[merged] as Uint8Array;
      const next = parts[i] as Uint8Array;
      if (next.buffer === last.buffer && next.byteOffset === last.byteOffset + last.length) {
        parts[merged] = new Uint8Array(last.buffer, last.byteOffset, last.length + next.length);
      } else {
        parts[++merged] = next;
      }
    }
    parts.length = merged + 1;
    this.#transport.send(parts.length === 1 ? (parts[0] as Uint8Array) : parts);
    parts.length = 0;
    this.#partsBytes = 0;
  }

  #sent(request: Outstanding, now: number): void {
    request.attempts++;
    request.onWire = true;
    request.deadline = now + this.#timeoutMs;
    this.#deadlines.push(request);
    this.#deadlineAttempts.push(request.attempts);
    if (this.#timer === undefined) this.#timer = this.#clock.setTimeout(this.#onTimer, this.#timeoutMs, UNREF);
  }

  #expire(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const queue = this.#deadlines;
    let head = this.#deadlineHead;
    while (head < queue.length) {
      const request = queue[head] as Outstanding;
      if (request.settled || !request.onWire || this.#deadlineAttempts[head] !== request.attempts) {
        head++;
        continue;
      }
      if (request.deadline > now) {
        this.#timer = this.#clock.setTimeout(this.#onTimer, request.deadline - now, UNREF);
        break;
      }
      head++;
      this.#attemptEnded(request, undefined);
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

  /**
   * An attempt is over without a reply: at its deadline (`unreachable` undefined), or earlier,
   * when the OS reported the node unreachable. Either way the request's retries decide what
   * follows; the last attempt's outcome names the error.
   */
  #attemptEnded(request: Outstanding, unreachable: Error | undefined): void {
    request.onWire = false;
    if (unreachable !== undefined) request.unreachable++;
    if (request.attempts > request.retries) {
      if (unreachable !== undefined) return this.#fail(request, new UnreachableError(this.peer, request.label, request.attempts, unreachable));
      // An earlier attempt found nothing there and the last one silence: a node starting, or
      // an OS that rate-limits its ICMP replies. Said, but a timeout it stays.
      const earlier = request.unreachable === 0 ? '' : `; ${request.unreachable} of them reported unreachable by the operating system`;
      this.#fail(request, new TimeoutError(this.peer, request.label, request.attempts, this.#timeoutMs, earlier + (this.#timeoutHint?.() ?? '')));
      return;
    }
    // Exponential backoff with equal jitter, so clients that lost the same node do not retry in step.
    const base = this.#backoffMs * 2 ** (request.attempts - 1);
    const resend = (): void => {
      request.backoff = undefined;
      if (!request.settled && !this.#closed) this.#send(request);
    };
    if (base === 0) resend();
    else request.backoff = this.#clock.setTimeout(resend, base / 2 + Math.random() * (base / 2), UNREF);
  }

  #onDatagram(datagram: Uint8Array): void {
    const { frames } = scanFrames(datagram, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
    // Frames after a malformed one are lost with it; their requests time out and are retried.
    const matching = this.#matching;
    for (const payload of frames) {
      if (matching.kind === 'ordered') {
        const request = this.#current;
        if (request !== undefined && request.answer(payload, 0) === true) this.#finish(request);
        continue;
      }
      const counter = matching.counterOf(payload);
      // No id, or one no longer outstanding (answered, timed out, or not ours): ignore.
      const request = counter < 0 ? undefined : this.#byCounter.get(counter);
      if (request === undefined) continue;
      this.#byCounter.delete(counter);
      if (request.answer(payload, counter - request.first) === true) this.#finish(request);
    }
  }

  /** What the OS reported below (see `TransportFault`). */
  #onFault(fault: TransportFault): void {
    if (this.#closed) return;
    if (fault.kind === 'unreachable') {
      // Not about one datagram: every attempt on the wire ends now, as its timeout would have
      // ended it, and retries go on as after a timeout (a restarting node may take the next one).
      const onWire = new Set<Outstanding>();
      if (this.#current?.onWire === true) onWire.add(this.#current);
      for (const request of this.#byCounter.values()) if (request.onWire) onWire.add(request);
      for (const request of onWire) this.#attemptEnded(request, fault.cause);
      return;
    }
    // Too large: the frames of the datagram never left. Which requests they belong to is read
    // from the frames themselves (rare: no bookkeeping per send).
    const refused = (request: Outstanding): DatagramTooLargeError => new DatagramTooLargeError(this.peer, request.label, fault.bytes, fault.cause);
    const matching = this.#matching;
    if (matching.kind === 'ordered') {
      const request = this.#current;
      if (request !== undefined && !request.settled && request.refuse(0, refused(request))) this.#finish(request);
      return;
    }
    const datagram = fault.datagram instanceof Uint8Array ? fault.datagram : Buffer.concat(fault.datagram);
    const frames: { request: Outstanding; index: number }[] = [];
    for (const payload of scanFrames(datagram, { maxFrameBytes: datagram.length }).frames) {
      const counter = matching.counterOf(payload);
      const request = counter < 0 ? undefined : this.#byCounter.get(counter);
      if (request !== undefined) frames.push({ request, index: counter - request.first });
    }
    if (frames.length > 1) {
      // Several coalesced frames: the OS takes less than we packed (macOS: 9216 bytes). Halve
      // the datagram size for good and send them again, split; a frame alone is refused below.
      // Each refusal halves below the size refused, so this ends: at worst in single frames.
      this.#maxDatagramBytes = Math.min(this.#maxDatagramBytes, Math.floor(fault.bytes / 2));
      this.#refused.push(...frames);
      this.#schedule();
      return;
    }
    for (const { request, index } of frames) {
      this.#byCounter.delete(request.first + index);
      // No retry: the same bytes would be refused again.
      if (request.refuse(index, refused(request))) this.#finish(request);
    }
  }

  #fail(request: Outstanding, error: ClientError): void {
    if (request.settled) return;
    request.fail(error);
    this.#finish(request);
  }

  #finish(request: Outstanding): void {
    request.settled = true;
    if (request.backoff !== undefined) this.#clock.clearTimeout(request.backoff);
    if (request.first >= 0) {
      for (let i = 0; i < request.frames.length; i++) this.#byCounter.delete(request.first + i);
    } else if (this.#current === request) {
      this.#current = this.#waiting.shift();
      if (this.#current !== undefined && !this.#closed) this.#send(this.#current);
    }
    if (--this.#outstanding === 0 && !this.#closed) this.#schedule();
  }
}
