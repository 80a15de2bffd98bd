declare const timerBrand: unique symbol;

/** A timer set with `Clock.setTimeout`: opaque, only good for handing back to `clearTimeout`. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

export interface TimerOptions {
  readonly unref?: boolean;
}

/**
 * Time and timers, injected: code that keeps deadlines (leases, delays, dedup windows,
 * retries) takes a `Clock`, so tests drive it with a manual clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once, `ms` milliseconds from now. With `unref`, a pending timer does not keep
   * the process alive (an idle client's deadline timer, say); a manual clock ignores it.
   */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer; a timer already run or cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => {
    const timer = setTimeout(fn, ms);
    if (options?.unref === true) timer.unref();
    return timer as unknown as TimerHandle;
  },
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
