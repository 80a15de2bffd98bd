import type { RecoveredState, StorageEngine } from './engine.js';

/** The default engine: the queue's in-memory working set is all there is. */
export function createMemoryEngine(): StorageEngine {
  return {
    kind: 'memory',
    open: (): Promise<RecoveredState> => Promise.resolve({ messages: [], nextSeq: 1, keys: new Map() }),
    append: () => {},
    remove: () => {},
    flush: () => Promise.resolve(),
    syncBeforeAck: false,
    close: () => Promise.resolve(),
  };
}
