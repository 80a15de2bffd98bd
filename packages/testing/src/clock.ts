import type { Clock, TimerHandle } from '@streampy/runtime';

interface ManualTimer {
  readonly dueAt: number;
  /** Order of creation: timers due at the same time run in the order they were set. */
  readonly order: number;
  readonly fn: () => void;
}

/** Timers one `advance` may run before it gives up: a timer that keeps setting itself at 0 ms never lets time pass. */
const MAX_TIMERS_PER_ADVANCE = 1_000_000;

/**
 * A clock that moves only when told to: `advance(ms)` runs every timer that falls due, in
 * deadline order (ties in the order they were set), including timers set by those timers,
 * with `now()` at each timer's deadline while it runs. Tests of leases, delays, dedup
 * windows and retries use it instead of sleeping.
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  readonly #timers = new Set<ManualTimer>();

  /** `start`: the first `now()`, ms since the epoch. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    // Like the runtime: a negative or non-number delay means "as soon as possible".
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: ManualTimer = { dueAt: this.#now + delay, order: this.#order++, fn };
    this.#timers.add(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as ManualTimer);
  }

  /** Timers set and not yet run or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** The deadline of the next timer, or undefined when none is set. */
  nextDeadline(): number | undefined {
    return this.#next()?.dueAt;
  }

  /** Moves time forward by `ms`, running each timer due by then; a timer that throws stops the advance with its error. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance takes a non-negative number of ms, got ${ms}`);
    const target = this.#now + ms;
    for (let ran = 0; ; ran++) {
      const timer = this.#next();
      if (timer === undefined || timer.dueAt > target) break;
      if (ran >= MAX_TIMERS_PER_ADVANCE) throw new Error(`ManualClock.advance ran ${ran} timers without reaching its target: a timer keeps setting itself`);
      this.#timers.delete(timer);
      this.#now = Math.max(this.#now, timer.dueAt);
      timer.fn();
    }
    this.#now = target;
  }

  /** Moves time to the next timer's deadline and runs what is due then; false when no timer is set. */
  runNext(): boolean {
    const timer = this.#next();
    if (timer === undefined) return false;
    this.advance(Math.max(0, timer.dueAt - this.#now));
    return true;
  }

  #next(): ManualTimer | undefined {
    // A scan, not a heap: tests hold a handful of timers, and clearing stays trivial.
    let best: ManualTimer | undefined;
    for (const timer of this.#timers) {
      if (best === undefined || timer.dueAt < best.dueAt || (timer.dueAt === best.dueAt && timer.order < best.order)) best = timer;
    }
    return best;
  }
}
