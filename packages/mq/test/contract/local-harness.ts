import { ManualClock } from '@streampy/testing';
import { MemoryBudget } from '../../src/budget.js';
import type { DeadLetter, DeadLetterRoute } from '../../src/dead-letter.js';
import { LocalBackend } from '../../src/local/backend.js';
import { NoncePool } from '../../src/local/nonces.js';
import { Scheduler } from '../../src/scheduler.js';
import type { StorageEngine } from '../../src/storage/engine.js';
import type { BackendHarness, ContractLimits } from './backend-contract.js';

/** The local backend on `engine`, its time on a manual clock, its dead letters recorded. */
export async function localHarness(limits: ContractLimits, engine: StorageEngine, cleanup: () => void = () => {}): Promise<BackendHarness> {
  const clock = new ManualClock(1_700_000_000_000);
  const scheduler = new Scheduler(clock);
  const letters: DeadLetter[] = [];
  const deadLetters: DeadLetterRoute = {
    route(letter, settled) {
      letters.push(letter);
      settled();
    },
  };
  const context = { clock, budget: new MemoryBudget(Number.MAX_SAFE_INTEGER), scheduler, nonces: new NoncePool(), limits: { ...limits, maxDedupKeys: 1_000 }, deadLetters };
  const backend = await LocalBackend.open('q', engine, context, false);
  return {
    backend,
    advance: (ms) => {
      clock.advance(ms);
      return Promise.resolve();
    },
    deadLetters: () => Promise.resolve(letters.map((letter) => letter.body)),
    close: async () => {
      scheduler.stop();
      await backend.close();
      cleanup();
    },
  };
}
