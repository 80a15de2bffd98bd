import type { Clock, TimerHandle } from '@streampy/runtime';

/** An entry of a `DeadlineHeap`: the heap keeps `heapIndex` current so removal is O(log n). */
export interface Timed {
  dueAt: number;
  /** Position in the heap, -1 when not in it. */
  heapIndex: number;
}

/** A deadline the scheduler keeps: `expire()` is called once `dueAt` has passed (already out of the heap). */
export interface Deadline extends Timed {
  expire(): void;
}

/**
 * The lease and delay deadlines of a node: one heap served by one timer of the injected
 * clock, armed for the earliest deadline only, so a million leases cost one timer.
 */
export class Scheduler {
  readonly #clock: Clock;
  readonly #deadlines = new DeadlineHeap<Deadline>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #stopped = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#deadlines.size;
  }

  /** Adds `entry`, or moves it after its `dueAt` changed. */
  schedule(entry: Deadline): void {
    this.#deadlines.update(entry);
    this.#arm();
  }

  cancel(entry: Deadline): void {
    // The timer may now be early; it then finds nothing due and re-arms for what is left.
    this.#deadlines.remove(entry);
  }

  /** Drops every deadline and the timer: nothing expires after this. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#deadlines.clear();
  }

  #arm(): void {
    const next = this.#deadlines.peek();
    if (next === undefined || this.#stopped) return;
    if (this.#timer !== undefined && this.#timerAt <= next.dueAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = next.dueAt;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), Math.max(0, next.dueAt - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    for (let due = this.#deadlines.peek(); due !== undefined && due.dueAt <= now; due = this.#deadlines.peek()) {
      this.#deadlines.pop();
      due.expire();
    }
    this.#arm();
  }
}

/**
 * A binary min-heap on `dueAt` with removal by entry: every lease and delayed redelivery of a
 * node sits in one heap served by one timer, instead of a timer per message. An acked lease
 * leaves the heap at once, so a fast reserve/ack stream leaves no stale entries behind.
 */
export class DeadlineHeap<T extends Timed> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.#items[i] !== item) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (last === item) return;
    this.#items[i] = last;
    last.heapIndex = i;
    this.#down(i);
    this.#up(last.heapIndex);
  }

  /** Call after changing the `dueAt` of an entry in the heap. */
  update(item: T): void {
    if (item.heapIndex < 0) return this.push(item);
    this.#up(item.heapIndex);
    this.#down(item.heapIndex);
  }

  clear(): void {
    for (const item of this.#items) item.heapIndex = -1;
    this.#items.length = 0;
  }

  #up(i: number): void {
    const items = this.#items;
    const item = items[i] as T;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (parent.dueAt <= item.dueAt) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  #down(i: number): void {
    const items = this.#items;
    const n = items.length;
    const item = items[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && (items[right] as T).dueAt < (items[left] as T).dueAt) child = right;
      const smaller = items[child] as T;
      if (smaller.dueAt >= item.dueAt) break;
      items[i] = smaller;
      smaller.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
