import type { Clock, Logger } from '@streampy/runtime';
import type { DeadLetterRoute } from '../dead-letter.js';
import { NoncePool } from '../local/nonces.js';
import type { Scheduler } from '../scheduler.js';
import { JetStreamBackend, type JetStreamContext, type JetStreamRules } from './backend.js';
import type { JetStreamConfig } from './config.js';
import { JetStreamLink } from './link.js';
import { Puller } from './puller.js';
import { Replies } from './replies.js';
import { LeaseRouter } from './router.js';

/** What a node gives its JetStream queues. */
export interface JetStreamQueuesOptions {
  readonly config: JetStreamConfig;
  readonly rules: JetStreamRules;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
}

/**
 * A node's JetStream side: one connection, one pull inbox and one lease subject, shared by
 * every queue it opens.
 */
export class JetStreamQueues {
  readonly #link: JetStreamLink;
  readonly #puller: Puller;
  readonly #router: LeaseRouter;
  readonly #replies: Replies;
  readonly #options: JetStreamQueuesOptions;
  readonly #nonces = new NoncePool();

  private constructor(link: JetStreamLink, options: JetStreamQueuesOptions) {
    this.#link = link;
    this.#options = options;
    this.#puller = new Puller(link);
    this.#replies = new Replies(link);
    this.#router = new LeaseRouter(link, options.logger);
  }

  /** Connects to NATS (waiting for a first server as long as it takes) and checks JetStream is on. */
  static async connect(options: JetStreamQueuesOptions): Promise<JetStreamQueues> {
    return new JetStreamQueues(await JetStreamLink.connect(options.config, options.logger), options);
  }

  /** This node's id in the lease tokens it hands out. */
  get nodeId(): string {
    return this.#link.nodeId;
  }

  /** Opens (making it if no node did yet) the queue `name`; the dead-letter queue has no bounds and no delivery limit. */
  open(name: string, deadLetters: DeadLetterRoute, isDeadLetterQueue: boolean): Promise<JetStreamBackend> {
    const { rules, clock, scheduler, logger } = this.#options;
    const context: JetStreamContext = { link: this.#link, puller: this.#puller, replies: this.#replies, router: this.#router, clock, scheduler, nonces: this.#nonces, rules, deadLetters, logger };
    return JetStreamBackend.open(name, context, isDeadLetterQueue);
  }

  /** After the queues are closed: lets go of the subscriptions and drains the connection. */
  async close(): Promise<void> {
    this.#router.close();
    this.#puller.close();
    this.#replies.close();
    await this.#link.close();
  }
}
