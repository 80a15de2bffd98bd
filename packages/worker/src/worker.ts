import type { Delivery } from '@streampy/codec';
import type { TimerHandle } from '@streampy/runtime';
import { Apply } from './apply.js';
import { openConnections, type Connections } from './connections.js';
import { Deliveries } from './delivery.js';
import { WorkerError } from './errors.js';
import { Inputs, Leases, type Fetched, type Item } from './inputs.js';
import { planWorker, type WorkerOptions, type WorkerPlan } from './options.js';
import { Report, type WorkerStats } from './report.js';

export interface Worker {
  start(): Promise<void>;
  /** Stops taking work, finishes the messages in hand (results put, acked), then closes. */
  stop(): Promise<void>;
  stats(): WorkerStats;
  /** Settles once the worker has stopped. */
  readonly done: Promise<void>;
}

/** The layers of a started worker, built once its connections are open. */
interface Running {
  readonly connections: Connections;
  readonly inputs: Inputs;
  readonly leases: Leases;
  readonly apply: Apply;
  readonly deliveries: Deliveries;
}

/** A worker node: reads its inputs, applies `fn`, routes the results to its outputs. */
export function createWorker(options: WorkerOptions): Worker {
  return new QueueWorker(planWorker(options));
}

class QueueWorker implements Worker {
  readonly done: Promise<void>;
  readonly #plan: WorkerPlan;
  readonly #report: Report;
  /** Wakes idle sleepers early when the worker stops. */
  readonly #sleepers = new Set<() => void>();
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #resolveDone!: () => void;
  #rejectDone!: (error: unknown) => void;

  constructor(plan: WorkerPlan) {
    this.#plan = plan;
    this.#report = new Report(plan.logger, plan.histograms);
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Keep an unobserved rejection from crashing a caller that only awaits stop().
    this.done.catch(() => {});
  }

  stats(): WorkerStats {
    return { ...this.#report.stats };
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') throw new WorkerError('ERR_BAD_OPTION', 'a worker starts only once');
    this.#state = 'starting';
    const plan = this.#plan;
    let running: Running;
    try {
      const connections = await openConnections(plan);
      const leases = new Leases(plan, this.#report);
      running = {
        connections,
        inputs: new Inputs(plan, connections, leases, this.#report),
        leases,
        apply: new Apply(plan.fn, this.#report),
        deliveries: new Deliveries(plan, connections, leases, this.#report),
      };
    } catch (error) {
      this.#state = 'stopped';
      this.#rejectDone(error);
      throw error;
    }
    if (plan.renewLeases) running.leases.startRenewing();
    // stop() may have been called while the clients were opening.
    if ((this.#state as string) === 'starting') this.#state = 'running';
    plan.logger.info('worker started', {
      function: plan.name,
      inputs: plan.inputs.map((input) => `${input.label} (${input.guarantee})`),
      outputs: plan.outputs.map((output) => output.label),
      outputType: plan.outputType,
      concurrency: plan.concurrency,
      batch: plan.batch,
    });
    const lanes = Array.from({ length: plan.concurrency }, () => this.#lane(running));
    Promise.all(lanes)
      .then(() => Promise.all(running.deliveries.settling))
      .then(
        () => this.#finish(running),
        (error: unknown) => this.#finish(running, error),
      );
  }

  async stop(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#resolveDone();
      return this.done;
    }
    if (this.#state === 'running' || this.#state === 'starting') this.#state = 'stopping';
    for (const wake of this.#sleepers) wake();
    return this.done;
  }

  async #finish(running: Running, error?: unknown): Promise<void> {
    running.leases.stopRenewing();
    await running.connections.close();
    this.#state = 'stopped';
    this.#plan.logger.info('worker stopped', { ...this.#report.stats });
    if (error === undefined) this.#resolveDone();
    else this.#rejectDone(error);
  }

  get #taking(): boolean {
    return this.#state === 'running' || this.#state === 'starting';
  }

  /**
   * One pipelined loop: fetch a batch; for each message apply the function and issue its puts
   * at once (a batch's puts overlap); with the last one issue the next fetch in the same turn,
   * so the client carries them (and the ACKs of finished messages) in one datagram. The next
   * batch waits until every message of this one is settled, which bounds the messages in hand.
   */
  async #lane({ inputs, apply, deliveries }: Running): Promise<void> {
    const plan = this.#plan;
    const report = this.#report;
    let idleMs = plan.idleMinMs;
    let empties = 0;
    let pending: Promise<Fetched> | undefined = inputs.fetch();
    const waits: Promise<void>[] = [];
    while (pending !== undefined) {
      const { input, items, takenAt } = await pending;
      pending = undefined;
      if (items.length === 0) {
        // Back off only once a whole round of inputs came back empty.
        if (++empties >= inputs.list.length) {
          empties = 0;
          report.stats.backoffs++;
          await this.#idleSleep(idleMs);
          idleMs = Math.min(plan.idleMaxMs, Math.max(1, idleMs * 2));
        }
        if (this.#taking) pending = inputs.fetch();
        continue;
      }
      empties = 0;
      idleMs = plan.idleMinMs;
      const last = items.length - 1;
      for (let i = 0; i <= last; i++) {
        const item = items[i] as Item;
        const leased: Delivery | undefined = item instanceof Uint8Array ? undefined : item;
        const started = report.debug ? performance.now() : 0;
        let emitted = apply.run(input, leased === undefined ? (item as Uint8Array) : leased.body, leased);
        if (emitted instanceof Promise) emitted = await emitted;
        const delivered = emitted === undefined ? false : deliveries.sendAll(input, leased, emitted);
        if (i === last && this.#taking) pending = inputs.fetch();
        if (delivered === true || delivered === false) deliveries.settle(input, leased, delivered, takenAt);
        else waits.push(delivered.then((ok) => deliveries.settle(input, leased, ok, takenAt)));
        if (report.debug) report.log.debug('Vertex latency', { seconds: (performance.now() - started) / 1000, results: emitted?.length ?? 0 });
      }
      if (waits.length === 1) await waits[0];
      else if (waits.length > 1) await Promise.all(waits);
      waits.length = 0;
    }
  }

  #idleSleep(ms: number): Promise<void> {
    if (!this.#taking) return Promise.resolve();
    const clock = this.#plan.clock;
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined = undefined;
      const wake = (): void => {
        if (timer !== undefined) clock.clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      timer = clock.setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}
