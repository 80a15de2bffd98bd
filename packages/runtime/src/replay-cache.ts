/*
 * The nonces of accepted datagrams, remembered for as long as a replay of them could pass the
 * timestamp window, in bounded memory.
 *
 * A datagram stamped `ts` passes the window only while the receiver's clock is within
 * `window` of `ts`, so its nonce matters until `ts + window`, whenever it arrived. Nonces are
 * kept in generations by timestamp (`floor(ts / span)`, `span` = half the window): a replay
 * carries the same timestamp, so it is looked up in one generation, and a whole generation is
 * dropped once the newest timestamp it can hold is out of the window. With clocks in step an
 * entry lives about 1.5 windows.
 *
 * Each generation is an open-addressing table of 64-bit nonces in two Uint32Arrays: 16 bytes
 * an entry at most half full, no object per entry. When `maxEntries` are held, new datagrams
 * are refused (never a replay let through by forgetting a nonce early); only datagrams with a
 * valid MAC are ever added, so only a key holder can fill it.
 */

const INITIAL_SLOTS = 1 << 10;

/** A set of 64-bit values (hi, lo) that only grows; (0, 0) is kept aside, the empty slot's value. */
class NonceTable {
  #hi = new Uint32Array(INITIAL_SLOTS);
  #lo = new Uint32Array(INITIAL_SLOTS);
  #mask = INITIAL_SLOTS - 1;
  #zero = false;
  size = 0;

  #slot(hi: number, lo: number): number {
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.#mask;
    // Linear probing: the table is at most half full, so a probe ends soon.
    while ((this.#hi[i] !== 0 || this.#lo[i] !== 0) && (this.#hi[i] !== hi || this.#lo[i] !== lo)) i = (i + 1) & this.#mask;
    return i;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) return this.#zero;
    const i = this.#slot(hi, lo);
    return this.#hi[i] === hi && this.#lo[i] === lo;
  }

  /** Adds a value known not to be in the table. */
  add(hi: number, lo: number): void {
    this.size++;
    if (hi === 0 && lo === 0) {
      this.#zero = true;
      return;
    }
    if (this.size * 2 > this.#hi.length) this.#grow();
    const i = this.#slot(hi, lo);
    this.#hi[i] = hi;
    this.#lo[i] = lo;
  }

  #grow(): void {
    const oldHi = this.#hi;
    const oldLo = this.#lo;
    this.#hi = new Uint32Array(oldHi.length * 2);
    this.#lo = new Uint32Array(oldLo.length * 2);
    this.#mask = this.#hi.length - 1;
    for (let j = 0; j < oldHi.length; j++) {
      const hi = oldHi[j] as number;
      const lo = oldLo[j] as number;
      if (hi === 0 && lo === 0) continue;
      const i = this.#slot(hi, lo);
      this.#hi[i] = hi;
      this.#lo[i] = lo;
    }
  }
}

export class ReplayCache {
  readonly #windowMs: number;
  readonly #spanMs: number;
  readonly #maxEntries: number;
  readonly #generations = new Map<number, NonceTable>();
  #entries = 0;
  /** When the oldest generation next runs out of the window. */
  #nextExpiry = Number.POSITIVE_INFINITY;

  constructor(windowMs: number, maxEntries: number) {
    this.#windowMs = windowMs;
    this.#spanMs = Math.max(1, Math.ceil(windowMs / 2));
    this.#maxEntries = maxEntries;
  }

  /** Nonces held now. */
  get size(): number {
    return this.#entries;
  }

  /** True when a datagram stamped `timestampMs` with this nonce was accepted already. */
  seen(timestampMs: number, hi: number, lo: number): boolean {
    return this.#generations.get(Math.floor(timestampMs / this.#spanMs))?.has(hi, lo) === true;
  }

  /** Remembers a nonce not `seen`; false when the cache is full (the datagram must be refused). */
  add(timestampMs: number, hi: number, lo: number, now: number): boolean {
    if (now >= this.#nextExpiry) this.#expire(now);
    if (this.#entries >= this.#maxEntries) return false;
    const generation = Math.floor(timestampMs / this.#spanMs);
    let table = this.#generations.get(generation);
    if (table === undefined) {
      table = new NonceTable();
      this.#generations.set(generation, table);
      this.#nextExpiry = Math.min(this.#nextExpiry, this.#expiryOf(generation));
    }
    table.add(hi, lo);
    this.#entries++;
    return true;
  }

  /** The first time at which no timestamp of `generation` passes the window any more. */
  #expiryOf(generation: number): number {
    return (generation + 1) * this.#spanMs + this.#windowMs;
  }

  #expire(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const [generation, table] of this.#generations) {
      const expiry = this.#expiryOf(generation);
      if (expiry <= now) {
        this.#generations.delete(generation);
        this.#entries -= table.size;
      } else next = Math.min(next, expiry);
    }
    this.#nextExpiry = next;
  }
}
