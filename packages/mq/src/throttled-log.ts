import type { Clock, Logger } from '@streampy/runtime';

const LOG_INTERVAL_MS = 1_000;

/**
 * A rate limit per log event, for what the network can cause at any rate (bad frames, send
 * errors): at most one line a second per event, with the count of lines held back.
 */
export class ThrottledLog {
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  readonly #logger: Logger;
  readonly #clock: Clock;

  constructor(logger: Logger, clock: Clock) {
    this.#logger = logger;
    this.#clock = clock;
  }

  warn(event: string, fields: Record<string, unknown>): void {
    const now = this.#clock.now();
    const seen = this.#last.get(event);
    if (seen && now - seen.at < LOG_INTERVAL_MS) {
      seen.suppressed++;
      return;
    }
    this.#logger.warn(event, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
    this.#last.set(event, { at: now, suppressed: 0 });
  }
}
