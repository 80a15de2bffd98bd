/** How the window charges the memory its keys take (a queue's `QueueAccount`). */
export interface KeyAccount {
  key(key: string): number;
  charge(bytes: number): void;
  release(bytes: number): void;
}

/**
 * Idempotency keys seen within a time window, bounded in count. A Map iterates in insertion
 * order, which is time order here, so expiry works from the front. At its bound the window
 * refuses new keys (`hasRoom`) rather than forget one still inside its window: forgetting
 * would let a retried put be stored twice.
 */
export class DedupWindow {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #account: KeyAccount;

  /** `maxKeys` 0 remembers no key at all: keyed puts are not deduplicated. */
  constructor(windowMs: number, maxKeys: number, account: KeyAccount) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
    this.#account = account;
  }

  get size(): number {
    return this.#seen.size;
  }

  get maxKeys(): number {
    return this.#maxKeys;
  }

  /** True when `key` was recorded less than the window ago. */
  has(key: string, now: number): boolean {
    const at = this.#seen.get(key);
    return at !== undefined && now - at < this.#windowMs;
  }

  /** True when one more key fits: expired keys are dropped first; keys inside their window never are. */
  hasRoom(now: number): boolean {
    if (this.#seen.size < this.#maxKeys || this.#maxKeys === 0) return true;
    this.expire(now);
    return this.#seen.size < this.#maxKeys;
  }

  /** Bytes recording `key` would add (none when it is known already, or keys are off). */
  costOf(key: string): number {
    return this.#maxKeys === 0 || this.#seen.has(key) ? 0 : this.#account.key(key);
  }

  /** Remembers `key` from `at`; the caller charged `costOf(key)` and checked `hasRoom`. */
  record(key: string, at: number): void {
    if (this.#maxKeys === 0) return;
    // Deleted first so the key moves to the end: the map stays in time order.
    this.#seen.delete(key);
    this.#seen.set(key, at);
  }

  /** Drops `key`: the put that recorded it did not take effect. */
  forget(key: string): void {
    if (this.#seen.delete(key)) this.#account.release(this.#account.key(key));
  }

  /** Drops every key whose window has ended (oldest first, up to the first one still inside). */
  expire(now: number): void {
    for (const [key, at] of this.#seen) {
      if (now - at < this.#windowMs) break;
      this.#seen.delete(key);
      this.#account.release(this.#account.key(key));
    }
  }

  /**
   * Loads keys recovered from storage, oldest first: every key still inside its window, even
   * beyond the bound (new keys are refused until enough expire), charged as it comes.
   */
  restore(keys: ReadonlyMap<string, number>, now: number): void {
    if (this.#maxKeys === 0) return;
    const sorted = [...keys].sort((a, b) => a[1] - b[1]);
    for (const [key, at] of sorted) {
      if (now - at >= this.#windowMs) continue;
      this.#seen.set(key, at);
      this.#account.charge(this.#account.key(key));
    }
  }

  /** Lets go of every key (the queue is closing; its account is released whole). */
  clear(): void {
    this.#seen.clear();
  }
}
