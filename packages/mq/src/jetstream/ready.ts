import type { Subscription } from '@nats-io/transport-node';
import type { JetStreamLink } from './link.js';

/** Seqs per broadcast at most, so one stays a small core message. */
const MAX_PER_MESSAGE = 256;

/**
 * The messages of one queue that were given back and not fetched since, as every node on the
 * queue sees them. JetStream's consumer info counts only never-delivered messages as pending
 * (a NAKed one stays among `num_ack_pending`), so SIZE adds these; each node says on core NATS
 * (`<PREFIX>.ready.<queue>`) when it gives a message back (`+seq`) and when it fetches one that
 * was given back (`-seq`), and all keep the same set. Best effort: a node that starts late does
 * not know what was given back before it, and a message the server redelivers by itself (its
 * node died) is not known as ready until fetched.
 */
export class SharedReady {
  readonly #link: JetStreamLink;
  readonly #subject: string;
  readonly #seqs = new Set<number>();
  readonly #sub: Subscription;

  constructor(link: JetStreamLink, subject: string) {
    this.#link = link;
    this.#subject = subject;
    this.#sub = link.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error === null) this.#apply(msg.string());
      },
    });
  }

  get size(): number {
    return this.#seqs.size;
  }

  /** This node gave `seq` back: ready again, for every node. */
  add(seq: number): void {
    this.#seqs.add(seq);
    this.#tell('+', [seq]);
  }

  /** This node fetched these seqs, each delivered before: no longer ready, for every node. */
  taken(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    for (const seq of seqs) this.#seqs.delete(seq);
    for (let at = 0; at < seqs.length; at += MAX_PER_MESSAGE) this.#tell('-', seqs.slice(at, at + MAX_PER_MESSAGE));
  }

  /** Forgets seqs below the stream's first: those messages are gone, whatever was heard of them. */
  prune(firstSeq: number): void {
    for (const seq of this.#seqs) if (seq < firstSeq) this.#seqs.delete(seq);
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#seqs.clear();
  }

  #tell(sign: '+' | '-', seqs: readonly number[]): void {
    // Lost while NATS is down: the others' counts are then off until the message is fetched again.
    this.#link.tell(this.#subject, sign + seqs.map((seq) => seq.toString(36)).join(','));
  }

  /** Another node's (or this node's own, echoed) news; anything malformed is ignored. */
  #apply(text: string): void {
    const sign = text[0];
    if (sign !== '+' && sign !== '-') return;
    for (const part of text.slice(1).split(',')) {
      const seq = parseInt(part, 36);
      if (!Number.isSafeInteger(seq) || seq < 1) continue;
      if (sign === '+') this.#seqs.add(seq);
      else this.#seqs.delete(seq);
    }
  }
}
