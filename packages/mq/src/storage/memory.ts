import type { RecoveredState, StorageEngine } from './engine.js';

/** The default engine: the queue's in-memory working set is all there is. */
export function createMemoryEngine(): StorageEngine {
  return {
    kind: 'memory',
    // Sequence numbers start from the clock, so a restarted memory node never reuses the ids
    // (and so the idempotency keys derived from them downstream) of its previous life.
    open: (): Promise<RecoveredState> => Promise.resolve({ messages: [], nextSeq: Date.now() * 1000, keys: new Map() }),
    append: () => {},
    remove: () => {},
    flush: () => Promise.resolve(),
    syncBeforeAck: false,
    close: () => Promise.resolve(),
  };
}
