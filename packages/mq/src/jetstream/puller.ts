import { createInbox, type Msg, type Subscription } from '@nats-io/transport-node';
import { unavailable, type JetStreamLink } from './link.js';
import { CONSUMER } from './names.js';

/** What one pull answered: the messages, and whether the server stopped at a message over `maxBytes`. */
export interface Pulled {
  readonly messages: Msg[];
  readonly overMaxBytes: boolean;
}

interface Waiting {
  readonly batch: number;
  readonly messages: Msg[];
  readonly resolve: (pulled: Pulled) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/** Status codes the server ends a pull with: nothing (more) to deliver, the batch cut short, a message over max_bytes. */
const NO_MESSAGES = 404;
const REQUEST_TIMEOUT = 408;
const OVER_MAX_BYTES = 409;
const NO_RESPONDERS = 503;
const NAK = new TextEncoder().encode('-NAK');

/**
 * Pull requests (`no_wait`: answer at once with what is there) on the shared consumers, over
 * one wildcard inbox subscription for the whole node: request `n` gets its messages on
 * `<inbox>.<n>`. RESERVE and GET must not wait for messages that are not there, which the
 * client's long-polling `fetch` does; a late message (its pull timed out) is given back at once.
 */
export class Puller {
  readonly #link: JetStreamLink;
  readonly #inbox = createInbox();
  readonly #sub: Subscription;
  readonly #waiting = new Map<string, Waiting>();
  #next = 0;

  constructor(link: JetStreamLink) {
    this.#link = link;
    this.#sub = link.nc.subscribe(`${this.#inbox}.*`, { callback: (error, msg) => {
        if (error === null) this.#received(msg);
      }, });
  }

  /** Up to `batch` messages of `stream`, their size as the server counts it within `maxBytes` when given. */
  pull(stream: string, batch: number, maxBytes: number | undefined, what: string): Promise<Pulled> {
    this.#link.check(what);
    const id = (this.#next++).toString(36);
    const request = JSON.stringify(maxBytes === undefined ? { batch, no_wait: true } : { batch, no_wait: true, max_bytes: maxBytes });
    return new Promise<Pulled>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(unavailable(what, new Error(`no answer within ${this.#link.timeoutMs} ms`)));
      }, this.#link.timeoutMs);
      this.#waiting.set(id, { batch, messages: [], resolve, reject, timer });
      try {
        this.#link.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${CONSUMER}`, request, { reply: `${this.#inbox}.${id}` });
      } catch (error) {
        this.#end(id, undefined, unavailable(what, error));
      }
    });
  }

  close(): void {
    this.#sub.unsubscribe();
    for (const id of [...this.#waiting.keys()]) this.#end(id, undefined, unavailable('answer a pull', new Error('the node is closing')));
  }

  #received(msg: Msg): void {
    const id = msg.subject.slice(this.#inbox.length + 1);
    const waiting = this.#waiting.get(id);
    const code = msg.headers?.code ?? 0;
    if (waiting === undefined) {
      // Its pull gave up already: hand the message back so another consumer gets it now, not after the ack wait.
      if (code === 0 && msg.reply !== undefined && this.#link.connected) this.#link.nc.publish(msg.reply, NAK);
      return;
    }
    if (code === 0) {
      waiting.messages.push(msg);
      if (waiting.messages.length >= waiting.batch) this.#end(id, { messages: waiting.messages, overMaxBytes: false });
      return;
    }
    if (code === NO_MESSAGES || code === REQUEST_TIMEOUT) this.#end(id, { messages: waiting.messages, overMaxBytes: false });
    else if (code === OVER_MAX_BYTES) this.#end(id, { messages: waiting.messages, overMaxBytes: true });
    else if (code === NO_RESPONDERS) this.#end(id, undefined, unavailable('answer a pull', new Error('JetStream is not answering (no responders: no quorum or not enabled)')));
    // 100 (heartbeat) and others: keep waiting, the timer ends it.
    else if (code !== 100) this.#end(id, undefined, unavailable('answer a pull', new Error(`status ${code} ${msg.headers?.description ?? ''}`)));
  }

  #end(id: string, pulled: Pulled | undefined, error?: unknown): void {
    const waiting = this.#waiting.get(id);
    if (waiting === undefined) return;
    this.#waiting.delete(id);
    clearTimeout(waiting.timer);
    if (pulled !== undefined) waiting.resolve(pulled);
    else {
      // Whatever came before the failure is given back, not lost to an ack wait.
      for (const msg of waiting.messages) if (msg.reply !== undefined && this.#link.connected) this.#link.nc.publish(msg.reply, NAK);
      waiting.reject(error);
    }
  }
}
