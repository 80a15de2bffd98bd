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
  readonly sub: Subscription;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

/** Status codes the server ends a pull with: nothing (more) to deliver, the batch cut short, a message over max_bytes. */
const NO_MESSAGES = 404;
const REQUEST_TIMEOUT = 408;
const OVER_MAX_BYTES = 409;
const NO_RESPONDERS = 503;
const NAK = new TextEncoder().encode('-NAK');

/** Ends a subscription; a connection closed meanwhile has ended it already (and would throw). */
function unsubscribe(sub: Subscription): void {
  try {
    sub.unsubscribe();
  } catch {
    // Closed: nothing left to end.
  }
}

/**
 * Pull requests (`no_wait`: answer at once with what is there) on the shared consumers, each
 * on its own inbox (JetStream delivers a message with its stream subject, so the inbox
 * subscription is what tells the pulls apart). RESERVE and GET must not wait for messages
 * that are not there, which the client's long-polling `fetch` does; a message that arrives
 * after its pull gave up is given back at once.
 */
export class Puller {
  readonly #link: JetStreamLink;
  readonly #waiting = new Set<Waiting>();

  constructor(link: JetStreamLink) {
    this.#link = link;
  }

  /** Up to `batch` messages of `stream`, their size as the server counts it within `maxBytes` when given. */
  pull(stream: string, batch: number, maxBytes: number | undefined, what: string): Promise<Pulled> {
    this.#link.check(what);
    const nc = this.#link.nc;
    const inbox = createInbox();
    const request = JSON.stringify(maxBytes === undefined ? { batch, no_wait: true } : { batch, no_wait: true, max_bytes: maxBytes });
    return new Promise<Pulled>((resolve, reject) => {
      const waiting: Waiting = {
        batch,
        messages: [],
        resolve,
        reject,
        timer: undefined,
        done: false,
        sub: nc.subscribe(inbox, {
          callback: (error, msg) => {
            if (error === null) this.#received(waiting, msg);
          },
        }),
      };
      waiting.timer = setTimeout(() => this.#end(waiting, undefined, unavailable(what, new Error(`no answer within ${this.#link.timeoutMs} ms`))), this.#link.timeoutMs);
      this.#waiting.add(waiting);
      try {
        nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${CONSUMER}`, request, { reply: inbox });
      } catch (error) {
        this.#end(waiting, undefined, unavailable(what, error));
      }
    });
  }

  close(): void {
    for (const waiting of [...this.#waiting]) this.#end(waiting, undefined, unavailable('answer a pull', new Error('the node is closing')));
  }

  #received(waiting: Waiting, msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (waiting.done) {
      // Its pull gave up already: hand the message back so another consumer gets it now, not after the ack wait.
      if (code === 0) this.#giveBack(msg);
      return;
    }
    if (code === 0) {
      waiting.messages.push(msg);
      if (waiting.messages.length >= waiting.batch) this.#end(waiting, { messages: waiting.messages, overMaxBytes: false });
      return;
    }
    if (code === NO_MESSAGES || code === REQUEST_TIMEOUT) this.#end(waiting, { messages: waiting.messages, overMaxBytes: false });
    else if (code === OVER_MAX_BYTES) this.#end(waiting, { messages: waiting.messages, overMaxBytes: true });
    else if (code === NO_RESPONDERS) this.#end(waiting, undefined, unavailable('answer a pull', new Error('JetStream is not answering (no responders: no quorum or not enabled)')));
    // 100 (heartbeat): keep waiting, the timer ends it.
    else if (code !== 100) this.#end(waiting, undefined, unavailable('answer a pull', new Error(`status ${code} ${msg.headers?.description ?? ''}`)));
  }

  #end(waiting: Waiting, pulled: Pulled | undefined, error?: unknown): void {
    if (waiting.done) return;
    waiting.done = true;
    this.#waiting.delete(waiting);
    clearTimeout(waiting.timer);
    if (pulled !== undefined) {
      unsubscribe(waiting.sub);
      waiting.resolve(pulled);
      return;
    }
    // Whatever came before the failure is given back, not lost to an ack wait; the inbox stays
    // open a while for stragglers, which are given back too.
    for (const msg of waiting.messages) this.#giveBack(msg);
    setTimeout(() => unsubscribe(waiting.sub), this.#link.timeoutMs).unref();
    waiting.reject(error);
  }

  #giveBack(msg: Msg): void {
    if (msg.reply !== undefined) this.#link.tell(msg.reply, NAK);
  }
}
