import type { FsyncPolicy, StorageEngine } from './engine.js';

export interface LogEngineOptions {
  /** Directory of this queue's log segments. */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
}

/** Durable append-only log engine (being written; see storage/engine.ts for the contract). */
export function createLogEngine(_options: LogEngineOptions): StorageEngine {
  throw new Error('log engine not implemented yet');
}
