import { MEMORY_COSTS, bodyCost, type MemoryBudget } from '../budget.js';
import type { EngineCosts } from '../storage/engine.js';

/** What a message costs the budget beside its body: bookkeeping and a lease (any message may be leased without asking). */
const MESSAGE_OVERHEAD = MEMORY_COSTS.message + MEMORY_COSTS.lease;

/**
 * One queue's share of the node's memory budget: it charges messages, keys and ring slots with
 * the costs of `budget.ts` plus what the queue's storage engine keeps per item, and gives all
 * of it back when the queue closes.
 */
export class QueueAccount {
  readonly #budget: MemoryBudget;
  readonly #message: number;
  readonly #key: number;
  #charged = 0;
  #ringSlots = 0;
  readonly #unregister: () => void;

  constructor(budget: MemoryBudget, engine: EngineCosts | undefined, sweep: (now: number) => void) {
    this.#budget = budget;
    this.#message = MESSAGE_OVERHEAD + (engine?.message ?? 0);
    this.#key = MEMORY_COSTS.key + (engine?.key ?? 0);
    this.#unregister = budget.onPressure(sweep);
    this.charge(MEMORY_COSTS.queue + (engine?.queue ?? 0));
  }

  /** A message of `bytes` bytes, decoded to `characters` UTF-16 units (`bytes` when not decoded yet: ASCII assumed). */
  message(characters: number, bytes: number): number {
    return bodyCost(characters, bytes) + this.#message;
  }

  /** An idempotency key (a protocol name: ASCII). */
  key(key: string): number {
    return key.length + this.#key;
  }

  /** Charges `bytes` if the node's budget has room for them; false when it has not. */
  admit(bytes: number, now: number): boolean {
    if (!this.#budget.admit(bytes, now)) return false;
    this.#charged += bytes;
    return true;
  }

  charge(bytes: number): void {
    this.#budget.charge(bytes);
    this.#charged += bytes;
  }

  release(bytes: number): void {
    this.#budget.release(bytes);
    this.#charged -= bytes;
  }

  /** Keeps the charge for the ring's slots equal to its capacity. */
  ring(capacity: number): void {
    if (capacity === this.#ringSlots) return;
    const delta = (capacity - this.#ringSlots) * MEMORY_COSTS.ringSlot;
    this.#ringSlots = capacity;
    if (delta > 0) this.charge(delta);
    else this.release(-delta);
  }

  /** What a put would add to the ring's charge: its slots double when it is full. */
  ringGrowth(length: number, capacity: number): number {
    return length < capacity ? 0 : capacity * MEMORY_COSTS.ringSlot;
  }

  refusal(): string {
    return this.#budget.refusal();
  }

  /** The queue is closed: everything it charged goes back. */
  close(): void {
    this.#unregister();
    this.#budget.release(this.#charged);
    this.#charged = 0;
    this.#ringSlots = 0;
  }
}
