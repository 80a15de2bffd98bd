import type { Clock } from '@streampy/runtime';
import { unavailable, type JetStreamLink } from './link.js';
import { CONSUMER } from './names.js';

/** How old the counts STATS shows may be before a STATS asks the server again. */
const FRESH_MS = 1_000;

/**
 * A queue's counts as the server keeps them (stream state and consumer info), cached:
 * `stats()` is synchronous, so it shows the last figures read and asks for new ones when
 * they are over a second old; SIZE reads them afresh.
 */
export class Counts {
  readonly #link: JetStreamLink;
  readonly #stream: string;
  readonly #clock: Clock;
  /** Messages never delivered yet (the consumer's num_pending). */
  neverDelivered = 0;
  /** Messages in the stream: ready, leased, delayed. */
  messages = 0;
  /** Bytes the stream stores for them: bodies and JetStream's own per-message overhead. */
  bytes = 0;
  /** Deliveries not yet acked, by any node (num_ack_pending). */
  ackPending = 0;
  /** Pull requests waiting on the consumer. */
  waiting = 0;
  #readAt = -Infinity;
  #reading: Promise<void> | undefined;

  constructor(link: JetStreamLink, stream: string, clock: Clock) {
    this.#link = link;
    this.#stream = stream;
    this.#clock = clock;
  }

  /** A put this node made was stored: counted at once, before the next read confirms it. */
  stored(bytes: number): void {
    this.neverDelivered++;
    this.messages++;
    this.bytes += bytes;
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
      this.neverDelivered = consumer.num_pending;
      this.ackPending = consumer.num_ack_pending;
      this.waiting = consumer.num_waiting;
      this.messages = stream.state.messages;
      this.bytes = stream.state.bytes;
      this.#readAt = this.#clock.now();
    } catch (error) {
      throw unavailable(what, error);
    }
  }
}
