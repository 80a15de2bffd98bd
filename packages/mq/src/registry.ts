import type { Logger } from '@streampy/runtime';
import type { QueueBackend } from './backend.js';

/** Makes the backend of one named queue (for a local queue: opens its storage and recovers it). */
export type BackendFactory = (name: string) => Promise<QueueBackend>;

/**
 * The named queues of a node: each opened once, on first use (however many datagrams race
 * to create it), within the node-wide bound on how many queues it holds.
 */
export class Registry {
  readonly #open: BackendFactory;
  readonly #maxQueues: number;
  readonly #logger: Logger;
  readonly #backends = new Map<string, QueueBackend>();
  readonly #opening = new Map<string, Promise<QueueBackend>>();
  /** Why the last attempt to open a queue failed, until one succeeds (a request for it says why). */
  readonly #failures = new Map<string, unknown>();

  constructor(open: BackendFactory, maxQueues: number, logger: Logger) {
    this.#open = open;
    this.#maxQueues = maxQueues;
    this.#logger = logger;
  }

  get maxQueues(): number {
    return this.#maxQueues;
  }

  /** The backend of an open queue. */
  get(name: string): QueueBackend | undefined {
    return this.#backends.get(name);
  }

  /** Every open queue, in the order opened. */
  backends(): IterableIterator<QueueBackend> {
    return this.#backends.values();
  }

  /** Why opening `name` failed last, if it did and no later attempt succeeded. */
  failure(name: string): unknown {
    return this.#failures.get(name);
  }

  names(): string[] {
    return [...this.#backends.keys()];
  }

  /**
   * Readies `name` for a request: true when it is open, a promise that settles once it is
   * (open or failed, logged), or false when opening it would exceed `maxQueues`.
   */
  prepare(name: string): true | false | Promise<unknown> {
    if (this.#backends.has(name)) return true;
    const opening = this.#opening.get(name);
    if (opening !== undefined) return opening.catch(() => undefined);
    if (this.#backends.size + this.#opening.size >= this.#maxQueues) return false;
    return this.open(name).catch((error: unknown) => {
      this.#logger.error('queue could not be opened', { queue: name, error: String(error) });
    });
  }

  /** Opens `name` unless it is open or opening (no bound: for the queues a node starts with). */
  open(name: string): Promise<QueueBackend> {
    const backend = this.#backends.get(name);
    if (backend !== undefined) return Promise.resolve(backend);
    let opening = this.#opening.get(name);
    if (opening !== undefined) return opening;
    opening = this.#open(name).then(
      (opened) => {
        this.#backends.set(name, opened);
        this.#failures.delete(name);
        return opened;
      },
      (error: unknown) => {
        this.#failures.set(name, error);
        throw error;
      },
    );
    this.#opening.set(name, opening);
    const forget = (): void => void this.#opening.delete(name);
    opening.then(forget, forget);
    return opening;
  }

  /** Resolves once no queue is opening. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#opening.values()]);
  }

  /** Waits for queues still opening, then closes every queue; failures are logged, not thrown. */
  async close(): Promise<void> {
    await this.settle();
    const results = await Promise.allSettled([...this.#backends.values()].map((backend) => backend.close()));
    for (const result of results) {
      if (result.status === 'rejected') this.#logger.error('storage close failed', { error: String(result.reason) });
    }
  }
}
