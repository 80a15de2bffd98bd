/**
 * Idempotency keys seen within a time window, bounded in count. A Map iterates in insertion
 * order, which is time order here, so expiry and eviction both work from the front.
 */
export class DedupWindow {
  readonly #seen = new Map<string, number>();
  readonly #windowMs: number;
  readonly #maxKeys: number;

  constructor(windowMs: number, maxKeys: number) {
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#seen.size;
  }

  /** True when `key` was recorded less than the window ago. */
  has(key: string, now: number): boolean {
    const at = this.#seen.get(key);
    return at !== undefined && now - at < this.#windowMs;
  }

  record(key: string, at: number, now: number): void {
    if (this.#maxKeys === 0) return;
    this.#seen.delete(key);
    this.#seen.set(key, at);
    this.#trim(now);
  }

  /** Drops `key`: the put that recorded it did not take effect. */
  forget(key: string): void {
    this.#seen.delete(key);
  }

  /** Loads keys recovered from storage, oldest first. */
  restore(keys: ReadonlyMap<string, number>, now: number): void {
    const sorted = [...keys].sort((a, b) => a[1] - b[1]);
    for (const [key, at] of sorted) {
      if (now - at < this.#windowMs) this.#seen.set(key, at);
    }
    this.#trim(now);
  }

  #trim(now: number): void {
    for (const [key, at] of this.#seen) {
      if (this.#seen.size > this.#maxKeys || now - at >= this.#windowMs) this.#seen.delete(key);
      else break;
    }
  }
}
