import { silentLogger, systemClock } from '@streampy/runtime';
import { natsServerMissing, startNats, waitFor, type NatsHandle } from '@streampy/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MessageBatch } from '../../src/backend.js';
import { DeadLetterRouter, type DeadLetterRoute } from '../../src/dead-letter.js';
import type { JetStreamBackend, JetStreamRules } from '../../src/jetstream/backend.js';
import { JetStreamQueues } from '../../src/jetstream/queues.js';
import { Registry } from '../../src/registry.js';
import { Scheduler } from '../../src/scheduler.js';
import { testPrefix } from './harness.js';

// One delivery, then the dead-letter queue; a 1 s ack wait, so a lease nobody keeps ends soon.
const RULES: JetStreamRules = { maxMessages: 100, maxBytes: 10_000, dedupWindowMs: 60_000, ackWaitMs: 1_000, maxDeliveries: 1 };
const logger = silentLogger('dead-letter-test');

const missing = natsServerMissing();
if (missing !== undefined) console.warn(`SKIPPED: the JetStream dead-letter race needs nats-server: ${missing}`);

describe.skipIf(missing !== undefined)('JetStream dead letters with two nodes', () => {
  let nats: NatsHandle;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  /** A node's JetStream side with its real dead-letter router to the `dead` stream; `crashAfterStore` drops the step that removes the original. */
  async function node(prefix: string, crashAfterStore: boolean) {
    const scheduler = new Scheduler(systemClock);
    const queues = await JetStreamQueues.connect({ config: { servers: [nats.url], replicas: 1, prefix, timeoutMs: 5_000 }, rules: RULES, clock: systemClock, scheduler, logger });
    const registry = new Registry((name) => queues.open(name, route, name === 'dead'), 4, logger);
    const router = new DeadLetterRouter('dead', registry, logger, undefined);
    const route: DeadLetterRoute = { route: (letter, settled) => router.route(letter, crashAfterStore ? () => undefined : settled) };
    // The registry hands out QueueBackends; these are the node's JetStream ones.
    const source = (await registry.open('jobs')) as JetStreamBackend;
    const dead = (await registry.open('dead')) as JetStreamBackend;
    onTestFinished(async () => {
      scheduler.stop();
      await registry.close();
      await queues.close();
    });
    return { source, dead };
  }

  it('stores a message once when a node dies between storing its dead letter and removing it, and another node dead-letters it again', async () => {
    const prefix = testPrefix();
    const a = await node(prefix, true);
    const b = await node(prefix, false);
    await a.source.put(new TextEncoder().encode('poison'), undefined);
    const leased = new MessageBatch().reset(Infinity, 0);
    await a.source.reserve(1, 60_000, leased);
    // Its last delivery given back: A stores the dead letter, then "dies" before removing the original.
    expect(await a.source.nack(`${leased.messageIds[0]}.1.${leased.nonces[0]}`, 0)).toBe(true);
    await waitFor(async () => (await a.dead.size()) === 1, { what: 'the first dead letter' });
    // The server redelivers it after the ack wait; B fetches delivery 2, past the limit, and dead-letters it too.
    await waitFor(
      async () => {
        await b.source.reserve(1, 60_000, new MessageBatch().reset(Infinity, 0));
        await b.source.settle();
        return (await b.source.size()) === 0 && b.source.stats().deadLettered === 1;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'B to dead-letter the redelivery' },
    );
    // Stored once (the key `<messageId>.<queue>` is the dead-letter stream's Nats-Msg-Id), and gone from its queue.
    await b.dead.settle();
    expect(b.dead.stats()).toMatchObject({ duplicates: 1 });
    const letters = new MessageBatch().reset(Infinity, 0);
    await b.dead.get(10, letters);
    expect(letters.bodies.map((body) => new TextDecoder().decode(body as Uint8Array))).toEqual(['poison']);
    await b.source.settle();
    expect(b.source.stats()).toMatchObject({ size: 0, leased: 0 });
    expect(b.source.stats().storage).toMatchObject({ messages: 0 });
  });
});
