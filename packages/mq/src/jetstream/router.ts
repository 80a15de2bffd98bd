import type { Subscription } from '@nats-io/transport-node';
import type { Logger } from '@streampy/runtime';
import { isNoResponders, unavailable, type JetStreamLink } from './link.js';
import { leaseSubject } from './names.js';

export type LeaseVerb = 'ACK' | 'NACK' | 'EXTEND';

/** The lease operations of one queue on the node that issued the lease. */
export interface LeaseHolder {
  decide(verb: LeaseVerb, token: string, ms: number): Promise<boolean>;
}

const YES = '1';
const NO = '0';
const UNAVAILABLE = 'U';

/**
 * Lease operations across nodes. nats-server 2.9 applies an ack, nak or keep-alive sent to
 * a message's ack subject to whatever delivery of that message is outstanding, a stale one's
 * included, so a token cannot simply carry the ack subject. Instead the node that handed a
 * lease out decides about it: a token names its issuer, and an ACK, NACK or EXTEND that reaches
 * another node is sent on to the issuer over core NATS (`<PREFIX>.lease.<node id>`).
 */
export class LeaseRouter {
  readonly #link: JetStreamLink;
  readonly #holders = new Map<string, LeaseHolder>();
  readonly #sub: Subscription;

  constructor(link: JetStreamLink, logger: Logger) {
    this.#link = link;
    this.#sub = link.nc.subscribe(leaseSubject(link.config.prefix, link.nodeId), {
      callback: (error, msg) => {
        if (error !== null) return;
        const respond = (answer: string): void => {
          try {
            msg.respond(answer);
          } catch {
            // The connection closed meanwhile: the asking node times out and says UNAVAILABLE.
          }
        };
        this.#serve(msg.string()).then(respond, (cause: unknown) => {
          logger.debug('forwarded lease operation failed', { error: String(cause) });
          respond(UNAVAILABLE);
        });
      },
    });
  }

  add(queue: string, holder: LeaseHolder): void {
    this.#holders.set(queue, holder);
  }

  remove(queue: string): void {
    this.#holders.delete(queue);
  }

  /** Asks node `issuer` to carry out `verb`; false when it no longer runs (its leases end with the ack wait) or refuses. */
  async forward(issuer: string, verb: LeaseVerb, queue: string, token: string, ms: number): Promise<boolean> {
    const what = `reach node ${issuer} that issued lease ${token}`;
    this.#link.check(what);
    let answer: string;
    try {
      answer = (await this.#link.nc.request(leaseSubject(this.#link.config.prefix, issuer), JSON.stringify([verb, queue, token, ms]), { timeout: this.#link.timeoutMs })).string();
    } catch (error) {
      if (isNoResponders(error)) return false;
      throw unavailable(what, error);
    }
    if (answer === UNAVAILABLE) throw unavailable(what, new Error('the issuing node could not reach JetStream'));
    return answer === YES;
  }

  close(): void {
    this.#sub.unsubscribe();
    this.#holders.clear();
  }

  async #serve(text: string): Promise<string> {
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      return NO;
    }
    if (!Array.isArray(request) || request.length !== 4) return NO;
    const [verb, queue, token, ms] = request as unknown[];
    if ((verb !== 'ACK' && verb !== 'NACK' && verb !== 'EXTEND') || typeof queue !== 'string' || typeof token !== 'string' || typeof ms !== 'number') return NO;
    const holder = this.#holders.get(queue);
    if (holder === undefined) return NO;
    return (await holder.decide(verb, token, ms)) ? YES : NO;
  }
}
