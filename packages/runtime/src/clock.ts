declare const timerBrand: unique symbol;

/** A timer set with `Clock.setTimeout`: opaque, only good for handing back to `clearTimeout`. */
export interface TimerHandle {
  readonly [timerBrand]: true;
}

/**
 * Time and timers, injected: code that keeps deadlines (leases, delays, dedup windows,
 * retries) takes a `Clock`, so tests drive it with a manual clock instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a timer already run or cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as NodeJS.Timeout),
};
