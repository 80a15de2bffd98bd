import { unavailable, type JetStreamLink } from './link.js';
import type { Replies } from './replies.js';

const ACK = '+ACK';

interface Waiting {
  readonly subject: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The acks of one queue's consumer made in one event-loop turn (a datagram of ACKs, a GET's
 * batch), sent together: all but the last as plain `+ACK` publishes, the last as a request.
 * nats-server applies a consumer's acks one after another in the order they came (one queue per
 * consumer), and answers an ack request once it has applied it, so the last reply says every
 * ack before it was applied too: one reply per batch instead of one per message. When that
 * reply does not come, every ack of the batch fails (each may or may not have been applied).
 */
export class AckBatcher {
  readonly #link: JetStreamLink;
  readonly #replies: Replies;
  #batch: Waiting[] = [];

  constructor(link: JetStreamLink, replies: Replies) {
    this.#link = link;
    this.#replies = replies;
  }

  /** Acks the delivery whose ack subject is `subject`; resolves once the server applied it. */
  ack(subject: string, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#batch.length === 0) queueMicrotask(() => this.#flush(what));
      this.#batch.push({ subject, resolve, reject });
    });
  }

  #flush(what: string): void {
    const batch = this.#batch;
    this.#batch = [];
    const last = batch.length - 1;
    for (let i = 0; i < last; i++) {
      if (this.#link.tell((batch[i] as Waiting).subject, ACK)) continue;
      // Not sent (the connection is down): none of the batch may be reported applied.
      const error = unavailable(what, new Error('the connection to NATS is down (reconnecting)'));
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    this.#replies.request((batch[last] as Waiting).subject, ACK, what).then(
      () => {
        for (const waiting of batch) waiting.resolve();
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
  }
}
