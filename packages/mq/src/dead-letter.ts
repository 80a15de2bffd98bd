import { createClient, type QueueClient } from '@streampy/client';
import { PROTOCOL_LIMITS } from '@streampy/codec';
import { formatHostPort, type Clock, type HostPort, type Keyring, type Logger, type TimerHandle } from '@streampy/runtime';
import { isPending, type QueueBackend } from './backend.js';
import type { Registry } from './registry.js';

/** A message that used up its deliveries. */
export interface DeadLetter {
  /** The queue it leaves. */
  readonly queue: string;
  readonly messageId: string;
  readonly body: string;
  readonly deliveries: number;
  /**
   * Set by backends whose queues several nodes serve (JetStream): a local destination stores
   * the letter with its key too, so nodes racing to dead-letter one message store it once.
   */
  readonly idempotent?: boolean;
}

/** Where a backend hands its dead letters; `settled` is called once the destination holds the letter (or took it for good). */
export interface DeadLetterRoute {
  route(letter: DeadLetter, settled: () => void): void;
}

/** The local queue that takes dead letters a remote destination refuses for good. */
const FALLBACK_QUEUE = 'dead';
/** A remote destination's answers worth retrying: its queue is full or its storage failed, or it is down for now (no reply, unreachable). */
const RETRYABLE = new Set(['ERR_FULL', 'ERR_INTERNAL', 'ERR_TIMEOUT', 'ERR_UNREACHABLE', 'ERR_BAD_REPLY']);
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

/** The `code` of a client error (any copy of the client package). */
function codeOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}

/**
 * Routes dead letters to a local queue by name, or PUTs them to another queue node. The
 * message leaves its queue's storage only once its destination holds it.
 */
export class DeadLetterRouter implements DeadLetterRoute {
  readonly #destination: string | HostPort;
  readonly #registry: Registry;
  readonly #logger: Logger;
  readonly #forwarder: RemoteForwarder | undefined;

  constructor(destination: string | HostPort, registry: Registry, logger: Logger, forwarder: RemoteForwarder | undefined) {
    this.#destination = destination;
    this.#registry = registry;
    this.#logger = logger;
    this.#forwarder = forwarder;
  }

  route(letter: DeadLetter, settled: () => void): void {
    const destination = this.#destination;
    this.#logger.info('dead letter', {
      queue: letter.queue,
      messageId: letter.messageId,
      deliveries: letter.deliveries,
      to: typeof destination === 'string' ? destination : formatHostPort(destination),
    });
    const body = Buffer.from(letter.body, 'utf8');
    // `<messageId>.<queue>` names the message across retries (and across nodes): stored once.
    const key = `${letter.messageId}.${letter.queue}`.slice(0, PROTOCOL_LIMITS.maxNameLength);
    const localKey = letter.idempotent === true ? key : undefined;
    if (this.#forwarder === undefined) {
      this.#storeLocally(typeof destination === 'string' ? destination : FALLBACK_QUEUE, body, localKey, settled);
      return;
    }
    this.#forwarder.forward(body, key, (outcome) => {
      if (outcome === 'refused') this.#storeLocally(FALLBACK_QUEUE, body, localKey, settled);
      else settled();
    });
  }

  #storeLocally(name: string, body: Uint8Array, key: string | undefined, settled: () => void): void {
    const lost = (error: unknown): void => this.#logger.error('dead letter not stored in the local dead-letter queue; it stays in its queue', { queue: name, error: String(error) });
    const store = (backend: QueueBackend): void => {
      const result = backend.put(body, key, { bounded: false });
      if (!isPending(result)) return settled();
      result.then(settled, lost);
    };
    const open = this.#registry.get(name);
    if (open !== undefined) {
      store(open);
      return;
    }
    // Only reached when a remote destination refused a message: open the local queue first.
    this.#registry.open(name).then(store, lost);
  }
}

/** Outcome of forwarding one dead letter: stored by the remote node, or refused for good. */
export type ForwardOutcome = 'forwarded' | 'refused';

/**
 * PUTs dead letters to another queue node through `@streampy/client` (its own socket, never
 * the server's, whose peers' replies would read as requests). Each carries an idempotency
 * key, so a retry after a lost reply never stores it twice; the client retries within a
 * call, and a call that fails is tried again with backoff until the node answers.
 */
export class RemoteForwarder {
  readonly #target: HostPort;
  readonly #client: QueueClient;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #timers = new Set<TimerHandle>();
  #pending = 0;
  #closed = false;
  #idle: (() => void) | undefined;
  forwarded = 0;

  private constructor(target: HostPort, client: QueueClient, logger: Logger, clock: Clock) {
    this.#target = target;
    this.#client = client;
    this.#logger = logger;
    this.#clock = clock;
  }

  /** `auth`: the node's keys, when it has them: the destination is expected to share them. */
  static async start(target: HostPort, logger: Logger, clock: Clock, auth?: Keyring): Promise<RemoteForwarder> {
    const client = await createClient({ address: target, timeoutMs: FIRST_RETRY_MS, retries: 3, retryBackoffMs: FIRST_RETRY_MS, clock, ...(auth === undefined ? {} : { auth }) });
    return new RemoteForwarder(target, client, logger, clock);
  }

  /** Dead letters sent and not yet stored or refused. */
  get pending(): number {
    return this.#pending;
  }

  /** Sends `body` with `key`; `settle` is called once, when the remote node stored it or refused it. */
  forward(body: Uint8Array, key: string, settle: (outcome: ForwardOutcome) => void): void {
    this.#pending++;
    this.#attempt(body, key, settle, 0);
  }

  /** Waits up to `graceMs` for pending forwards, then closes; returns how many never settled. */
  async close(graceMs: number): Promise<number> {
    if (this.#pending > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, graceMs);
        this.#idle = () => {
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#closed = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    await this.#client.close();
    return this.#pending;
  }

  #attempt(body: Uint8Array, key: string, settle: (outcome: ForwardOutcome) => void, failures: number): void {
    this.#client.put(body, { key }).then(
      () => {
        this.forwarded++;
        this.#settled(settle, 'forwarded');
      },
      (error: unknown) => {
        if (this.#closed) return;
        if (RETRYABLE.has(codeOf(error))) {
          const delay = Math.min(FIRST_RETRY_MS * 2 ** failures, MAX_RETRY_MS);
          const timer = this.#clock.setTimeout(() => {
            this.#timers.delete(timer);
            this.#attempt(body, key, settle, failures + 1);
          }, delay);
          this.#timers.add(timer);
          return;
        }
        this.#logger.error('dead-letter destination refused a message', {
          destination: formatHostPort(this.#target),
          error: error instanceof Error ? error.message : String(error),
        });
        this.#settled(settle, 'refused');
      },
    );
  }

  #settled(settle: (outcome: ForwardOutcome) => void, outcome: ForwardOutcome): void {
    this.#pending--;
    settle(outcome);
    if (this.#pending === 0) this.#idle?.();
  }
}
