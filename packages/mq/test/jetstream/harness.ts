import { randomBytes } from 'node:crypto';
import { silentLogger, systemClock } from '@streampy/runtime';
import type { DeadLetter, DeadLetterRoute } from '../../src/dead-letter.js';
import type { JetStreamRules } from '../../src/jetstream/backend.js';
import { JetStreamQueues } from '../../src/jetstream/queues.js';
import { Scheduler } from '../../src/scheduler.js';
import type { BackendHarness, ContractLimits } from '../contract/backend-contract.js';
import { codeOf } from './j2-nodes.js';

/** Margin added to each `advance`: the server's timers and the NAKs on their way, on a shared machine. */
const MARGIN_MS = 150;

/**
 * With JetStream the node bounds a message's body and headers (a keyed put's Nats-Msg-Id header
 * is stored with it); the contract's bounds are for bodies: room for one key header per message.
 */
const KEY_HEADER_ROOM = 48;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The code a client call failed with (`ERR_UNAVAILABLE`, ...), or `ok`. */
export async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'ok',
    (error: unknown) => codeOf(error),
  );
}

/** A fresh prefix per harness, so the tests' streams never meet on one server. */
export function testPrefix(): string {
  return `T${randomBytes(5).toString('hex')}`;
}

/**
 * The JetStream backend of queue `q` on the server at `url`, on the real clock (the server keeps
 * time), its dead letters recorded; `ackWaitMs` is the consumer's ack wait (default 30 s, longer
 * than any lease of the contract, so the node's own deadlines decide).
 */
export async function jetstreamHarness(url: string, limits: ContractLimits, ackWaitMs = 30_000): Promise<BackendHarness> {
  const scheduler = new Scheduler(systemClock);
  const rules: JetStreamRules = { maxMessages: limits.maxMessages, maxBytes: limits.maxBytes + KEY_HEADER_ROOM * limits.maxMessages, dedupWindowMs: limits.dedupWindowMs, ackWaitMs, maxDeliveries: limits.maxDeliveries };
  const queues = await JetStreamQueues.connect({ config: { servers: [url], replicas: 1, prefix: testPrefix(), timeoutMs: 5_000 }, rules, clock: systemClock, scheduler, logger: silentLogger('jetstream-contract') });
  const letters: DeadLetter[] = [];
  const deadLetters: DeadLetterRoute = {
    route(letter, settled) {
      letters.push(letter);
      settled();
    },
  };
  const backend = await queues.open('q', deadLetters, false);
  return {
    backend,
    advance: async (ms) => {
      await sleep(ms + MARGIN_MS);
      await backend.settle();
    },
    deadLetters: async () => {
      await backend.settle();
      return letters.map((letter) => letter.body);
    },
    close: async () => {
      scheduler.stop();
      await backend.close();
      await queues.close();
    },
    sync: () => backend.settle(),
    bytes: 'stored',
  };
}
