import type { Logger } from '@streampy/runtime';
import { errorCode } from './errors.js';
import type { WorkerHistograms } from './metrics.js';

/** The least time between two "unreachable" lines about one node, ms (a log rate, not a rule of the worker). */
const UNREACHABLE_LOG_MS = 1_000;

export interface WorkerStats {
  /** Messages taken from the inputs. */
  received: number;
  /** Messages whose results were all sent (and which were acked, when leased). */
  processed: number;
  /** Messages the function threw on (or that were not UTF-8): logged, NACKed when leased. */
  rejected: number;
  /** Output messages delivered. */
  sent: number;
  /** Output messages given up on: at-most-once timeouts, or outputs that refuse them for good. */
  dropped: number;
  /** Requests that got no reply after the client's retries: timed out, or the node reported unreachable. */
  timeouts: number;
  /** Waits: idle polling backoff, and retries of a put to a full output. */
  backoffs: number;
  acked: number;
  nacked: number;
  /** Messages taken but not yet finished. */
  inFlight: number;
}

/** The counters and the log every layer of a worker reports to. */
export class Report {
  readonly stats: WorkerStats = { received: 0, processed: 0, rejected: 0, sent: 0, dropped: 0, timeouts: 0, backoffs: 0, acked: 0, nacked: 0, inFlight: 0 };
  /** Debug lines cost a check per message otherwise: decided once. */
  readonly debug: boolean;
  readonly #unreachableLogged = new Map<string, { at: number; suppressed: number }>();

  /** `histograms`: where the function's and each message's end-to-end times go, when metrics are served. */
  constructor(
    readonly log: Logger,
    readonly histograms?: WorkerHistograms,
  ) {
    this.debug = log.enabled('debug');
  }

  /**
   * A request that failed after the client's own retries: a timeout or an unreachable node is a
   * warning (the worker keeps trying), anything else an error.
   */
  requestFailed(error: unknown, verb: string, label: string): void {
    const code = errorCode(error);
    if (code === 'ERR_TIMEOUT') {
      this.stats.timeouts++;
      this.log.warn('request timed out', { verb, node: label });
    } else if (code === 'ERR_UNREACHABLE') {
      this.stats.timeouts++;
      this.#unreachable(verb, label);
    } else {
      this.log.error('request failed', { verb, node: label, code: errorCode(error), error: String(error) });
    }
  }

  /**
   * An unreachable node fails a request within milliseconds, not a timeout, and the worker asks
   * again after a short idle wait: one line per node a second says it, with the count held back.
   */
  #unreachable(verb: string, label: string): void {
    const now = performance.now();
    const last = this.#unreachableLogged.get(label);
    if (last !== undefined && now - last.at < UNREACHABLE_LOG_MS) {
      last.suppressed++;
      return;
    }
    this.log.warn('queue node unreachable', { verb, node: label, ...(last === undefined || last.suppressed === 0 ? {} : { suppressed: last.suppressed }) });
    this.#unreachableLogged.set(label, { at: now, suppressed: 0 });
  }
}
