import type { Clock } from '@streampy/runtime';
import { unavailable, type JetStreamLink } from './link.js';
import { CONSUMER } from './names.js';
import type { SharedReady } from './ready.js';

/** How old the counts STATS shows may be before a STATS asks the server again. */
const FRESH_MS = 1_000;
/** What nats-server 2.9's file store adds to each message beside its subject, headers and body. */
const STORE_OVERHEAD = 30;

/**
 * A queue's counts as the server keeps them (stream state and consumer info), cached and moved
 * by this node's own puts and removals between reads: `stats()` is synchronous, so it shows
 * these and asks for new ones when they are over a second old; SIZE reads them afresh.
 */
export class Counts {
  readonly #link: JetStreamLink;
  readonly #stream: string;
  readonly #clock: Clock;
  /** The bytes the store adds to each message besides its body and headers. */
  readonly #perMessage: number;
  /** Messages in the stream: ready, leased, delayed. */
  messages = 0;
  /** Messages never delivered: the stream's, less the deliveries not acked (a work queue holds nothing else). */
  neverDelivered = 0;
  /**
   * Body bytes of the messages in the stream, from the bytes it stores less the store's overhead
   * per message: exact for messages without headers, a little more for keyed ones (the key's header).
   */
  bodyBytes = 0;
  /** Deliveries not yet acked, by any node (num_ack_pending). */
  ackPending = 0;
  /** Pull requests waiting on the consumer. */
  waiting = 0;
  #readAt = -Infinity;
  #reading: Promise<void> | undefined;

  readonly #ready: SharedReady;

  constructor(link: JetStreamLink, stream: string, subject: string, clock: Clock, ready: SharedReady) {
    this.#ready = ready;
    this.#link = link;
    this.#stream = stream;
    this.#clock = clock;
    this.#perMessage = STORE_OVERHEAD + subject.length;
  }

  /** A put through this node was stored: counted at once, before the next read confirms it. */
  stored(bytes: number): void {
    this.messages++;
    this.neverDelivered++;
    this.bodyBytes += bytes;
  }

  /** This node removed a message (acked, taken by a GET, dead-lettered). */
  removed(bytes: number): void {
    this.messages = Math.max(0, this.messages - 1);
    this.bodyBytes = Math.max(0, this.bodyBytes - bytes);
  }

  /** This node fetched `count` messages never delivered before. */
  delivered(count: number): void {
    this.neverDelivered = Math.max(0, this.neverDelivered - count);
  }

  refreshIfOld(): void {
    if (this.#reading === undefined && this.#clock.now() - this.#readAt >= FRESH_MS && this.#link.connected) void this.refresh().catch(() => undefined);
  }

  /** Reads the counts from the server (one read at a time; a caller during a read waits for it). */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    const what = `report the counts of stream ${this.#stream}`;
    this.#link.check(what);
    try {
      const [consumer, stream] = await Promise.all([this.#link.jsm.consumers.info(this.#stream, CONSUMER), this.#link.jsm.streams.info(this.#stream)]);
      const { messages, bytes, first_seq: firstSeq } = stream.state;
      this.#ready.prune(firstSeq);
      this.messages = messages;
      this.ackPending = consumer.num_ack_pending;
      this.neverDelivered = Math.max(0, messages - consumer.num_ack_pending);
      this.waiting = consumer.num_waiting;
      this.bodyBytes = Math.max(0, bytes - messages * this.#perMessage);
      this.#readAt = this.#clock.now();
    } catch (error) {
      throw unavailable(what, error);
    }
  }
}
