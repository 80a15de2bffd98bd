/**
 * The ready messages of one queue: a growable ring of parallel columns (structure of arrays),
 * so a queued message costs its body string plus about 30 bytes of slots instead of one
 * JavaScript object per message. Messages leave at the head; new ones join at the tail;
 * messages made visible again after a lease join at the head (they are the oldest).
 */
export class MessageRing {
  #bodies: (string | undefined)[];
  #seqs: Float64Array;
  #times: Float64Array;
  #sizes: Uint32Array;
  #deliveries: Uint16Array;
  #head = 0;
  #length = 0;
  #mask: number;

  constructor(initialCapacity = 16) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#mask = capacity - 1;
    this.#bodies = slots(capacity);
    this.#seqs = new Float64Array(capacity);
    this.#times = new Float64Array(capacity);
    this.#sizes = new Uint32Array(capacity);
    this.#deliveries = new Uint16Array(capacity);
  }

  get length(): number {
    return this.#length;
  }

  /** Slots allocated: the ring doubles when full and halves once a quarter full. */
  get capacity(): number {
    return this.#mask + 1;
  }

  pushBack(seq: number, body: string, bytes: number, enqueuedAt: number, deliveries: number): void {
    if (this.#length > this.#mask) this.#resize((this.#mask + 1) * 2);
    this.#write((this.#head + this.#length) & this.#mask, seq, body, bytes, enqueuedAt, deliveries);
    this.#length++;
  }

  pushFront(seq: number, body: string, bytes: number, enqueuedAt: number, deliveries: number): void {
    if (this.#length > this.#mask) this.#resize((this.#mask + 1) * 2);
    this.#head = (this.#head - 1) & this.#mask;
    this.#write(this.#head, seq, body, bytes, enqueuedAt, deliveries);
    this.#length++;
  }

  /** Byte size of the head message; call only when `length > 0`. */
  headBytes(): number {
    return this.#sizes[this.#head] as number;
  }

  /** Removes the head message into `out`; false when empty. */
  shift(out: RingSlot): boolean {
    if (this.#length === 0) return false;
    const i = this.#head;
    out.seq = this.#seqs[i] as number;
    out.body = this.#bodies[i] as string;
    out.bytes = this.#sizes[i] as number;
    out.enqueuedAt = this.#times[i] as number;
    out.deliveries = this.#deliveries[i] as number;
    this.#bodies[i] = undefined;
    this.#head = (i + 1) & this.#mask;
    this.#length--;
    // Give memory back after a backlog drains, with hysteresis so a queue hovering at a
    // power of two does not resize on every operation.
    const capacity = this.#mask + 1;
    if (capacity > 1024 && this.#length < capacity / 4) this.#resize(capacity / 2);
    return true;
  }

  #write(i: number, seq: number, body: string, bytes: number, enqueuedAt: number, deliveries: number): void {
    this.#bodies[i] = body;
    this.#seqs[i] = seq;
    this.#times[i] = enqueuedAt;
    this.#sizes[i] = bytes;
    this.#deliveries[i] = deliveries;
  }

  #resize(capacity: number): void {
    const bodies = slots(capacity);
    const seqs = new Float64Array(capacity);
    const times = new Float64Array(capacity);
    const sizes = new Uint32Array(capacity);
    const deliveries = new Uint16Array(capacity);
    for (let k = 0; k < this.#length; k++) {
      const i = (this.#head + k) & this.#mask;
      bodies[k] = this.#bodies[i];
      seqs[k] = this.#seqs[i] as number;
      times[k] = this.#times[i] as number;
      sizes[k] = this.#sizes[i] as number;
      deliveries[k] = this.#deliveries[i] as number;
    }
    this.#bodies = bodies;
    this.#seqs = seqs;
    this.#times = times;
    this.#sizes = sizes;
    this.#deliveries = deliveries;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}

/**
 * A packed array of `capacity` empty slots. `new Array(n)` is not used: for large `n` V8 makes
 * a dictionary-mode array, which costs several times more memory per slot.
 */
function slots(capacity: number): (string | undefined)[] {
  const array: (string | undefined)[] = [];
  for (let i = 0; i < capacity; i++) array.push(undefined);
  return array;
}

/** A caller-owned, reused record that `MessageRing.shift` fills, so reading allocates nothing. */
export interface RingSlot {
  seq: number;
  body: string;
  bytes: number;
  enqueuedAt: number;
  deliveries: number;
}

export function emptySlot(): RingSlot {
  return { seq: 0, body: '', bytes: 0, enqueuedAt: 0, deliveries: 0 };
}
