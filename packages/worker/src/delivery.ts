import { parseLeaseToken, type Delivery } from '@streampy/codec';
import type { Clock } from '@streampy/runtime';
import type { Connections } from './connections.js';
import { errorCode } from './errors.js';
import type { Input } from './inputs.js';
import type { Leases } from './inputs.js';
import { keyFraction, outputKey } from './keys.js';
import type { EndpointPlan, Guarantee, WorkerPlan } from './options.js';
import type { Report } from './report.js';
import { routeChoice, type Emitted } from './results.js';

/** One output, connected. `once`: at-most-once, so the client must not resend a put whose reply was lost (it could enqueue twice). */
interface Output {
  readonly label: string;
  readonly send: (body: Uint8Array, key: string | undefined, once: boolean) => Promise<unknown>;
}

const RETRY = { minMs: 5, maxMs: 1_000 } as const;

function queueOutput(plan: EndpointPlan, connections: Connections): Output {
  const client = connections.clientOf(plan.address);
  const queue = plan.queue;
  // Option objects built once: the per-message path allocates only keyed ones.
  const base = queue === undefined ? {} : { queue };
  const once = queue === undefined ? { retries: 0 } : { queue, retries: 0 };
  return {
    label: plan.label,
    send: (body, key, atMostOnce) => client.put(body, key !== undefined ? (queue === undefined ? { key } : { key, queue }) : atMostOnce ? once : base),
  };
}

function socketOutput(plan: EndpointPlan, connections: Connections): Output {
  const socket = connections.socket;
  if (socket === undefined) throw new Error('socket outputs need the socket');
  const { host, port } = plan.address;
  return {
    label: plan.label,
    send: (body) => new Promise<void>((resolve, reject) => socket.send(body, port, host, (error) => (error ? reject(error) : resolve()))),
  };
}

/**
 * The delivery layer: routes each result to an output (by the function's choice, at random,
 * or, under exactly-once, by the idempotency key), puts it until the output takes it when the
 * guarantee allows retries, and settles each leased message with ACK or NACK.
 */
export class Deliveries {
  /** ACKs and NACKs still travelling: stop() waits for them. */
  readonly settling = new Set<Promise<void>>();
  readonly #outputs: readonly Output[];
  readonly #random: (() => number) | undefined;
  readonly #leases: Leases;
  readonly #report: Report;
  readonly #clock: Clock;
  #warnedForeignToken = false;

  constructor(plan: WorkerPlan, connections: Connections, leases: Leases, report: Report) {
    this.#outputs = plan.outputs.map((output) => (plan.outputType === 'socket' ? socketOutput(output, connections) : queueOutput(output, connections)));
    this.#random = plan.random;
    this.#leases = leases;
    this.#report = report;
    this.#clock = plan.clock;
  }

  /** Issues every put of one message at once; true when there is nothing to wait for. */
  sendAll(input: Input, leased: Delivery | undefined, emitted: readonly Emitted[]): Promise<boolean> | true {
    if (emitted.length === 0) return true;
    if (emitted.length === 1) return this.#send(input, leased, emitted[0] as Emitted, 0);
    const sends: Promise<boolean>[] = [];
    for (let i = 0; i < emitted.length; i++) sends.push(this.#send(input, leased, emitted[i] as Emitted, i));
    return Promise.all(sends).then((results) => results.every(Boolean));
  }

  /**
   * Counts the message done and ACKs (or NACKs) its lease without holding up the lane.
   * `takenAt`: when its batch arrived, for the end-to-end histogram.
   */
  settle(input: Input, leased: Delivery | undefined, ok: boolean, takenAt: number): void {
    const stats = this.#report.stats;
    if (ok) {
      stats.processed++;
      this.#report.histograms?.endToEnd.observeSince(takenAt);
    }
    if (leased === undefined) {
      stats.inFlight--;
      return;
    }
    const token = leased.token;
    const request = ok ? input.client.ack(token, input.queueOptions) : input.client.nack(token, input.nackOptions);
    const settled = (): void => {
      this.#leases.delete(token);
      stats.inFlight--;
      this.settling.delete(settling);
    };
    const settling: Promise<void> = request.then(
      () => {
        if (ok) stats.acked++;
        else stats.nacked++;
        settled();
      },
      (error: unknown) => {
        if (errorCode(error) === 'ERR_UNKNOWN_LEASE') {
          this.#report.log.warn('lease lost before it was settled: the message may be redelivered', { input: input.label, token });
        } else this.#report.requestFailed(error, ok ? 'ACK' : 'NACK', input.label);
        settled();
      },
    );
    this.settling.add(settling);
  }

  /** A token not in the codec's format (a node of another version): its whole text keys the puts, so redeliveries may duplicate. */
  #foreignToken(input: Input, token: string): string {
    if (!this.#warnedForeignToken) {
      this.#warnedForeignToken = true;
      this.#report.log.warn('lease token without a message id: exactly-once cannot drop the duplicates of redeliveries', { input: input.label, token });
    }
    return token;
  }

  #send(input: Input, leased: Delivery | undefined, emitted: Emitted, item: number): Promise<boolean> {
    const outputs = this.#outputs.length;
    let key: string | undefined;
    let index: number;
    if (input.guarantee === 'exactly-once' && leased !== undefined) {
      // The message id is the same on every delivery: a redelivered input puts under the same keys.
      const messageId = parseLeaseToken(leased.token)?.messageId ?? this.#foreignToken(input, leased.token);
      const queue = input.queue ?? '';
      if (this.#random === undefined) index = emitted.choice === undefined ? 0 : routeChoice(emitted.choice, outputs);
      else index = Math.floor(keyFraction(outputKey(input.keyId, queue, messageId, -1, item)) * outputs);
      key = outputKey(input.keyId, queue, messageId, index, item);
    } else if (this.#random === undefined) {
      index = emitted.choice === undefined ? 0 : routeChoice(emitted.choice, outputs);
    } else {
      index = Math.floor(this.#random() * outputs);
    }
    const output = this.#outputs[index] as Output;
    const body = emitted.body;
    const guarantee = input.guarantee;
    // The first attempt without an async frame; failures go to the retry loop.
    return output.send(body, key, guarantee === 'at-most-once').then(
      () => {
        this.#report.stats.sent++;
        return true;
      },
      (error: unknown) => this.#retry(output, body, key, guarantee, error),
    );
  }

  /**
   * Puts one result until the output takes it, after `failure` of the first attempt. A full
   * output is waited for under every guarantee (it refused, so retrying cannot duplicate); a
   * timeout (or an unreachable node) is retried only when duplicates are allowed (at-least-once)
   * or dropped by key (exactly-once).
   */
  async #retry(output: Output, body: Uint8Array, key: string | undefined, guarantee: Guarantee, failure: unknown): Promise<boolean> {
    const { stats } = this.#report;
    let delayMs: number = RETRY.minMs;
    let error = failure;
    for (;;) {
      const code = errorCode(error);
      // No reply, or a node reported unreachable (down, restarting): the same to a guarantee.
      const unanswered = code === 'ERR_TIMEOUT' || code === 'ERR_UNREACHABLE';
      if (code === 'ERR_FULL') {
        stats.backoffs++;
        if (this.#report.debug) this.#report.log.debug('output full, retrying', { output: output.label, delayMs });
      } else if (unanswered && guarantee !== 'at-most-once') {
        this.#report.requestFailed(error, 'PUT', output.label);
        stats.backoffs++;
      } else {
        if (!unanswered) this.#report.requestFailed(error, 'PUT', output.label);
        else stats.timeouts++;
        stats.dropped++;
        this.#report.log.warn('output message dropped', { output: output.label, code, guarantee });
        return false;
      }
      await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, delayMs));
      delayMs = Math.min(RETRY.maxMs, delayMs * 2);
      try {
        await output.send(body, key, guarantee === 'at-most-once');
        stats.sent++;
        return true;
      } catch (next) {
        error = next;
      }
    }
  }
}
