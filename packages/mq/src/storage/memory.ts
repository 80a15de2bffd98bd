import type { RecoveredState, StorageEngine } from './engine.js';

export interface MemoryEngineOptions {
  /** The clock the first message number comes from, ms since the epoch. Default Date.now (the node passes its clock). */
  readonly now?: () => number;
}

/** The default engine: the queue's in-memory working set is all there is. */
export function createMemoryEngine(options: MemoryEngineOptions = {}): StorageEngine {
  const now = options.now ?? Date.now;
  return {
    kind: 'memory',
    // Sequence numbers start from the clock, so a restarted memory node never reuses the ids
    // (and so the idempotency keys derived from them downstream) of its previous life.
    open: (): Promise<RecoveredState> => Promise.resolve({ messages: [], nextSeq: now() * 1000, keys: new Map() }),
    append: () => {},
    remove: () => {},
    flush: () => Promise.resolve(),
    syncBeforeAck: false,
    close: () => Promise.resolve(),
  };
}
