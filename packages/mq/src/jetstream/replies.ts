import { createInbox, type Msg, type MsgHdrs, type Subscription } from '@nats-io/transport-node';
import { unavailable, type JetStreamLink } from './link.js';

interface Pending {
  readonly resolve: (msg: Msg) => void;
  readonly reject: (error: unknown) => void;
  readonly deadline: number;
  readonly what: string;
}

/** What the server answers on a reply subject when nobody listens on the request's subject. */
const NO_RESPONDERS = 503;
/** Timeouts are checked this often at most: a timeout answers within this much after it is due. */
const SWEEP_MS = 50;

/**
 * Request-reply for the hot path (PUT's PubAck, ACK, NAK): one wildcard inbox subscription and one
 * sweep timer for the node, replies matched by the last token of their subject. The client's own
 * `request` builds two Error objects with stack traces per call, which cost a quarter of the
 * node's CPU under a stream of acks (profiled); timeouts here are found by a sweep instead of a
 * timer per request.
 */
export class Replies {
  readonly #link: JetStreamLink;
  readonly #inbox = createInbox();
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  readonly #sweep: NodeJS.Timeout;
  #next = 0;

  constructor(link: JetStreamLink) {
    this.#link = link;
    this.#sub = link.nc.subscribe(`${this.#inbox}.*`, {
      callback: (error, msg) => {
        if (error === null) this.#received(msg);
      },
    });
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Publishes `payload` to `subject` and resolves with the reply; rejects with ERR_UNAVAILABLE while disconnected, after the node's timeout, or when nobody listens. */
  request(subject: string, payload: string | Uint8Array, what: string, headers?: MsgHdrs): Promise<Msg> {
    // Rejected, never thrown: callers include timers (a lease's deadline), where a throw would end the process.
    if (!this.#link.connected) return Promise.reject(unavailable(what, new Error('the connection to NATS is down (reconnecting)')));
    const id = (this.#next++).toString(36);
    return new Promise<Msg>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: Date.now() + this.#link.timeoutMs, what });
      try {
        this.#link.nc.publish(subject, payload, headers === undefined ? { reply: `${this.#inbox}.${id}` } : { reply: `${this.#inbox}.${id}`, headers });
      } catch (error) {
        this.#pending.delete(id);
        reject(unavailable(what, error));
      }
    });
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#sub.unsubscribe();
    for (const pending of this.#pending.values()) pending.reject(unavailable(pending.what, new Error('the node is closing')));
    this.#pending.clear();
  }

  #received(msg: Msg): void {
    const id = msg.subject.slice(this.#inbox.length + 1);
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if (msg.headers?.code === NO_RESPONDERS) pending.reject(unavailable(pending.what, new Error('no responders: JetStream has no leader for it now (no quorum, or the server is catching up)')));
    else pending.resolve(msg);
  }

  #expire(): void {
    if (this.#pending.size === 0) return;
    const now = Date.now();
    for (const [id, pending] of this.#pending) {
      // Insertion order is deadline order (one timeout for all): stop at the first not yet due.
      if (pending.deadline > now) break;
      this.#pending.delete(id);
      pending.reject(unavailable(pending.what, new Error(`no answer within ${this.#link.timeoutMs} ms`)));
    }
  }
}

/** What a stream answered to a publish: stored (perhaps as a duplicate), or refused with JetStream's error. */
export type PubAckAnswer = { readonly duplicate: boolean } | { readonly errCode: number; readonly description: string };

const STORED: PubAckAnswer = Object.freeze({ duplicate: false });
const DUPLICATE: PubAckAnswer = Object.freeze({ duplicate: true });
const DUPLICATE_TRUE = /"duplicate":\s*true/;

/** Reads a PubAck (`{"stream","seq","duplicate"?}` or `{"error":{"err_code","description"}}`); undefined for anything else. */
export function readPubAck(msg: Msg): PubAckAnswer | undefined {
  const text = msg.string();
  // The common answer read without JSON.parse (a few percent of a put's CPU): nats-server 2.9
  // writes `{"stream":"S", "seq":N}` or `{"stream":"S", "seq":N,"duplicate": true}`.
  if (!text.includes('"error"') && text.includes('"seq":')) return DUPLICATE_TRUE.test(text) ? DUPLICATE : STORED;
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof answer !== 'object' || answer === null) return undefined;
  const { error, seq, duplicate } = answer as { error?: { err_code?: unknown; description?: unknown }; seq?: unknown; duplicate?: unknown };
  if (error !== undefined) return { errCode: typeof error.err_code === 'number' ? error.err_code : 0, description: typeof error.description === 'string' ? error.description : 'refused' };
  return typeof seq === 'number' ? { duplicate: duplicate === true } : undefined;
}
