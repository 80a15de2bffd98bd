import type { Logger } from '@streampy/runtime';
import { errorCode } from './errors.js';
import type { WorkerHistograms } from './metrics.js';

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
  /** Requests that timed out after the client's retries. */
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

  /** `histograms`: where the function's and each message's end-to-end times go, when metrics are served. */
  constructor(
    readonly log: Logger,
    readonly histograms?: WorkerHistograms,
  ) {
    this.debug = log.enabled('debug');
  }

  /** A request that failed after the client's own retries: a timeout is a warning, anything else an error. */
  requestFailed(error: unknown, verb: string, label: string): void {
    if (errorCode(error) === 'ERR_TIMEOUT') {
      this.stats.timeouts++;
      this.log.warn('request timed out', { verb, node: label });
    } else {
      this.log.error('request failed', { verb, node: label, code: errorCode(error), error: String(error) });
    }
  }
}
