/**
 * Which flush() callers a batch answers. Appends and removes are numbered as they are recorded;
 * a batch covers a range of those numbers. A flush() call covers what was recorded since the
 * previous call (the node records a datagram's changes, then calls flush() for them): it
 * resolves once every batch holding them is written (and synced, per policy), and rejects when
 * one of them failed, even when it failed before the call.
 */

interface Waiter {
  readonly since: number;
  readonly until: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Failure {
  readonly first: number;
  readonly last: number;
  readonly error: Error;
}

/** Failed batches remembered between two flush() calls; beyond this they merge into one. */
const MAX_FAILURES = 64;

export class FlushTracker {
  private recordedCount = 0;
  private settledCount = 0;
  private lastCall = 0;
  private waiters: Waiter[] = [];
  private failures: Failure[] = [];

  /** Numbers one more append or remove; returns its number. */
  record(): number {
    return ++this.recordedCount;
  }

  get recorded(): number {
    return this.recordedCount;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** The promise of one flush() call. */
  wait(): Promise<void> {
    const since = this.lastCall;
    const until = this.recordedCount;
    this.lastCall = until;
    const failure = this.failures.find((entry) => entry.last > since);
    // Every failure recorded so far covers numbers up to `until` at most: no later call needs it.
    this.failures = [];
    if (failure !== undefined) return Promise.reject(failure.error);
    if (until <= this.settledCount) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ since, until, resolve, reject }));
  }

  /** The batch of numbers [first, last] is done: written (and synced per policy) or, with `error`, failed and forgotten. */
  settle(first: number, last: number, error?: Error): void {
    this.settledCount = last;
    if (error !== undefined) {
      this.failures.push({ first, last, error });
      if (this.failures.length > MAX_FAILURES) this.failures = [{ first: this.failures[0]!.first, last, error }];
    }
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (error !== undefined && waiter.since < last) waiter.reject(error);
      else if (waiter.until <= last) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}
