import type { Delivery } from '@streampy/codec';
import type { Clock, TimerHandle } from '@streampy/runtime';
import type { Connections } from './connections.js';
import type { WorkerContext } from './functions.js';
import type { Guarantee, InputPlan, WorkerPlan } from './options.js';
import type { Report } from './report.js';
import type { WorkerClient } from './worker-client.js';

/** A message taken from an input: its body under at-most-once, its lease otherwise. */
export type Item = Uint8Array | Delivery;

/** One input, connected: where it reads, under which guarantee, with options built once (the per-message path allocates none). */
export class Input {
  readonly index: number;
  readonly label: string;
  /** What its exactly-once output keys are derived from (InputPlan.keyId). */
  readonly keyId: string;
  readonly queue: string | undefined;
  readonly guarantee: Guarantee;
  readonly client: WorkerClient;
  readonly queueOptions: { queue?: string };
  readonly reserveOptions: { max: number; leaseMs: number; queue?: string };
  readonly nackOptions: { delayMs?: number; queue?: string };
  /** The context of an at-most-once message (leased ones carry their delivery count). */
  readonly context: WorkerContext;

  constructor(plan: InputPlan, client: WorkerClient, worker: WorkerPlan) {
    this.index = plan.index;
    this.label = plan.label;
    this.keyId = plan.keyId;
    this.queue = plan.queue;
    this.guarantee = plan.guarantee;
    this.client = client;
    this.queueOptions = plan.queue === undefined ? {} : { queue: plan.queue };
    this.reserveOptions = { max: worker.batch, leaseMs: worker.leaseMs, ...this.queueOptions };
    this.nackOptions = { ...(worker.nackDelayMs === undefined ? {} : { delayMs: worker.nackDelayMs }), ...this.queueOptions };
    this.context = { input: plan.index };
  }
}

interface Lease {
  readonly input: Input;
  renewedAt: number;
}

/**
 * The leases a worker holds, from RESERVE until ACK or NACK. While `renewing`, a timer extends
 * every lease held for longer than half a lease, so a slow message (or one waiting in its batch)
 * is not redelivered meanwhile.
 */
export class Leases {
  readonly #held = new Map<string, Lease>();
  readonly #leaseMs: number;
  readonly #clock: Clock;
  readonly #report: Report;
  #timer: TimerHandle | undefined;
  readonly #renew = (): void => this.#renewDue();

  constructor(plan: WorkerPlan, report: Report) {
    this.#leaseMs = plan.leaseMs;
    this.#clock = plan.clock;
    this.#report = report;
  }

  add(input: Input, deliveries: readonly Delivery[]): void {
    const now = this.#clock.now();
    for (const leased of deliveries) this.#held.set(leased.token, { input, renewedAt: now });
  }

  delete(token: string): void {
    this.#held.delete(token);
  }

  startRenewing(): void {
    this.#timer = this.#clock.setTimeout(this.#renew, this.#interval());
  }

  stopRenewing(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #interval(): number {
    return Math.max(5, Math.floor(this.#leaseMs / 4));
  }

  #renewDue(): void {
    const now = this.#clock.now();
    for (const [token, lease] of this.#held) {
      if (now - lease.renewedAt < this.#leaseMs / 2) continue;
      lease.renewedAt = now;
      const { input } = lease;
      input.client.extend(token, this.#leaseMs, input.queueOptions).catch((error: unknown) => {
        if (this.#held.has(token)) this.#report.requestFailed(error, 'EXTEND', input.label);
      });
    }
    this.#timer = this.#clock.setTimeout(this.#renew, this.#interval());
  }
}

/** What one fetch brought: possibly nothing. */
export interface Fetched {
  readonly input: Input;
  readonly items: Item[];
  /** `performance.now()` when the batch arrived (0 without histograms): where end-to-end time starts. */
  readonly takenAt: number;
}

/** The inputs, connected, read round-robin. */
export class Inputs {
  readonly list: readonly Input[];
  readonly #leases: Leases;
  readonly #report: Report;
  readonly #batch: number;
  #cursor = 0;

  constructor(plan: WorkerPlan, connections: Connections, leases: Leases, report: Report) {
    this.list = plan.inputs.map((input) => new Input(input, connections.clientOf(input.address), plan));
    this.#leases = leases;
    this.#report = report;
    this.#batch = plan.batch;
  }

  /** The next input's next batch, leased or taken by its guarantee; empty on a failed request. Never rejects. */
  async fetch(): Promise<Fetched> {
    const input = this.list[this.#cursor] as Input;
    this.#cursor = this.#cursor + 1 === this.list.length ? 0 : this.#cursor + 1;
    const client = input.client;
    let items: Item[];
    try {
      if (input.guarantee !== 'at-most-once') {
        const deliveries = await client.reserve(input.reserveOptions);
        // Leased from now: the whole batch is covered by renewal while it waits its turn.
        this.#leases.add(input, deliveries);
        items = deliveries;
      } else if (this.#batch === 1) {
        const body = await client.get(input.queueOptions);
        items = body === undefined ? [] : [body];
      } else {
        items = await client.getBatch(this.#batch, input.queueOptions);
      }
    } catch (error) {
      this.#report.requestFailed(error, input.guarantee === 'at-most-once' ? 'GET' : 'RESERVE', input.label);
      return { input, items: [], takenAt: 0 };
    }
    this.#report.stats.received += items.length;
    this.#report.stats.inFlight += items.length;
    return { input, items, takenAt: this.#report.histograms === undefined ? 0 : performance.now() };
  }
}
