import { isStreampyError } from '@streampy/codec';
import { silentLogger, systemClock } from '@streampy/runtime';
import { natsServerMissing, startNats, waitFor, type NatsHandle } from '@streampy/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MessageBatch } from '../../src/backend.js';
import type { DeadLetterRoute } from '../../src/dead-letter.js';
import type { JetStreamRules } from '../../src/jetstream/backend.js';
import { deliveryOf, encodeQueueName, issuerOf, streamName } from '../../src/jetstream/names.js';
import { readPubAck } from '../../src/jetstream/replies.js';
import { JetStreamQueues } from '../../src/jetstream/queues.js';
import { Scheduler } from '../../src/scheduler.js';
import { testPrefix } from './harness.js';

const RULES: JetStreamRules = { maxMessages: 100, maxBytes: 10_000, dedupWindowMs: 10_000, ackWaitMs: 1_000, maxDeliveries: 5 };
const NO_DEAD_LETTERS: DeadLetterRoute = { route: () => undefined };

describe('JetStream names', () => {
  it('gives distinct queue names distinct stream names, without the characters NATS forbids', () => {
    const names = ['a.b', 'a_b', 'a_db', 'a__b', 'a-b', 'A.B.C', 'x_', 'x.'];
    const streams = names.map((name) => streamName('P', name));
    expect(new Set(streams).size).toBe(names.length);
    for (const stream of streams) expect(stream).toMatch(/^P_[A-Za-z0-9_-]+$/);
    expect(encodeQueueName('a.b_c')).toBe('a_db__c');
  });

  it('reads the delivery an ack subject names, old and new forms, and refuses others', () => {
    expect(deliveryOf('$JS.ACK.S.c.3.17.40.1796153596111205417.2')).toEqual({ streamSeq: 17, deliveries: 3, storedAt: 1796153596111 });
    expect(deliveryOf('$JS.ACK.dom.hash.S.c.2.9.40.1796153596111205417.0.rnd')).toMatchObject({ streamSeq: 9, deliveries: 2 });
    for (const bad of ['', '$JS.ACK.S.c.x.1.1.1.1', '$JS.ACK.S.c.0.1.1.1.1', 'other.ACK.S.c.1.1.1.1.1']) expect(deliveryOf(bad), bad).toBeUndefined();
    expect(issuerOf('abcdefgh')).toBeUndefined();
    expect(issuerOf('abcdefghXYZ')).toBe('abcdefgh');
  });
});

describe('PubAck answers', () => {
  const reply = (text: string) => readPubAck({ string: () => text } as Parameters<typeof readPubAck>[0]);
  it('reads stored, duplicate and refused answers, and nothing from anything else', () => {
    expect(reply('{"stream":"S","seq":7}')).toEqual({ duplicate: false });
    expect(reply('{"stream":"S","seq":7,"duplicate":true}')).toEqual({ duplicate: true });
    // As nats-server 2.9.10 writes them.
    expect(reply('{"stream":"S", "seq":140001}')).toEqual({ duplicate: false });
    expect(reply('{"stream":"S", "seq":140001,"duplicate": true}')).toEqual({ duplicate: true });
    expect(reply('{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}')).toEqual({ errCode: 10_077, description: 'maximum messages exceeded' });
    for (const bad of ['', 'not json', '[]', '{"stream":"S"}']) expect(reply(bad), bad).toBeUndefined();
  });
});

const missing = natsServerMissing();
if (missing !== undefined) console.warn(`SKIPPED: JetStream set-up and lease tests need nats-server: ${missing}`);

describe.skipIf(missing !== undefined)('JetStream queues on a real nats-server', () => {
  let nats: NatsHandle;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  async function connect(prefix: string, rules: JetStreamRules = RULES): Promise<JetStreamQueues> {
    const scheduler = new Scheduler(systemClock);
    const queues = await JetStreamQueues.connect({ config: { servers: [nats.url], replicas: 1, prefix, timeoutMs: 5_000 }, rules, clock: systemClock, scheduler, logger: silentLogger('setup-test') });
    onTestFinished(async () => {
      scheduler.stop();
      await queues.close();
    });
    return queues;
  }

  it('lets nodes race to create a queue, and refuses one whose rules differ, saying which', async () => {
    const prefix = testPrefix();
    const [one, two] = await Promise.all([connect(prefix), connect(prefix)]);
    const opened = await Promise.all([one, two, one, two].map((queues) => queues.open('race.q', NO_DEAD_LETTERS, false)));
    expect(opened.map((backend) => backend.kind)).toEqual(['jetstream', 'jetstream', 'jetstream', 'jetstream']);
    const other = await connect(prefix, { ...RULES, maxMessages: 7 });
    const refused = await other.open('race.q', NO_DEAD_LETTERS, false).catch((error: unknown) => error);
    expect(isStreampyError(refused, 'ERR_BAD_OPTION')).toBe(true);
    expect((refused as Error).message).toMatch(/max_msgs 100 \(this node: 7\)/);
    const slower = await connect(prefix, { ...RULES, ackWaitMs: 5_000 });
    expect((await slower.open('race.q', NO_DEAD_LETTERS, false).catch((error: unknown) => error)) as Error).toMatchObject({ code: 'ERR_BAD_OPTION', message: expect.stringMatching(/ack_wait/) as string });
    await Promise.all(opened.map((backend) => backend.close()));
  });

  it('counts a message given back through one node as ready on every node, until one of them fetches it', async () => {
    const prefix = testPrefix();
    const [one, two] = await Promise.all([connect(prefix), connect(prefix)]);
    const a = await one.open('shared', NO_DEAD_LETTERS, false);
    const b = await two.open('shared', NO_DEAD_LETTERS, false);
    onTestFinished(async () => {
      await Promise.all([a.close(), b.close()]);
    });
    await a.put(new TextEncoder().encode('again'), undefined);
    const first = new MessageBatch().reset(Infinity, 0);
    await a.reserve(1, 60_000, first);
    expect(await b.size()).toBe(0);
    expect(await a.nack(`${first.messageIds[0]}.1.${first.nonces[0]}`, 0)).toBe(true);
    await waitFor(async () => (await b.size()) === 1, { what: 'B to count the message A gave back' });
    const second = new MessageBatch().reset(Infinity, 0);
    await b.reserve(1, 60_000, second);
    expect(second.deliveries).toEqual([2]);
    await waitFor(async () => (await a.size()) === 0, { what: 'A to hear that B took it' });
    expect(await b.size()).toBe(0);
  });

  it('keeps a lease longer than the ack wait alive with keep-alives, until it is acked', async () => {
    const queues = await connect(testPrefix());
    const backend = await queues.open('long', NO_DEAD_LETTERS, false);
    onTestFinished(() => backend.close());
    await backend.put(new TextEncoder().encode('slow job'), undefined);
    const batch = new MessageBatch().reset(Infinity, 0);
    // Three ack waits (1 s each) long: without keep-alives the server would redeliver it after one.
    await backend.reserve(1, 3_000, batch);
    const token = `${batch.messageIds[0]}.${batch.deliveries[0]}.${batch.nonces[0]}`;
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    await backend.settle();
    expect(await backend.size()).toBe(0);
    expect(backend.stats()).toMatchObject({ leased: 1, redeliveries: 0 });
    const again = new MessageBatch().reset(Infinity, 0);
    await backend.reserve(1, 1_000, again);
    expect(again.length).toBe(0);
    expect(await backend.ack(token)).toBe(true);
    expect(await backend.size()).toBe(0);
  });
});
