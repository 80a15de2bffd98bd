import { natsServerMissing, startNats, waitFor, type NatsHandle } from '@streampy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcome } from './harness.js';
import { startNatsNode, type NatsNode } from './j2-nodes.js';

const missing = natsServerMissing();
if (missing !== undefined) console.warn(`SKIPPED: the ERR UNAVAILABLE test needs nats-server: ${missing}`);

describe.skipIf(missing !== undefined)('streampy-mq --nats while nats-server is down', () => {
  let nats: NatsHandle;
  let node: NatsNode;

  beforeAll(async () => {
    nats = await startNats();
    // The client waits longer than the node's own NATS timeout, so the node's answer is what arrives.
    node = await startNatsNode({ nats: nats.url, args: ['--nats-timeout', '1000'], timeoutMs: 5_000 });
  }, 90_000);
  afterAll(async () => {
    await node?.stop();
    await nats?.stop();
  });

  it('answers ERR UNAVAILABLE to every operation, keeps what was acknowledged, and recovers by itself', async () => {
    await node.client.put('before', { queue: 'kept', key: 'k-before' });
    const [lease] = await node.client.reserve({ queue: 'kept', leaseMs: 60_000 });
    expect(lease).toBeDefined();
    await node.client.put('short', { queue: 'brief' });
    const [brief] = await node.client.reserve({ queue: 'brief', leaseMs: 300 });
    expect(brief).toBeDefined();
    await nats.kill('SIGKILL');
    // That lease runs out while NATS is down: its NAK cannot go out, and the node carries on.
    await waitFor(async () => (await node.client.stats()).queues.brief?.leased === 0, { what: 'the short lease to run out' });

    expect(await outcome(node.client.put('during', { queue: 'kept', retries: 0 }))).toBe('ERR_UNAVAILABLE');
    expect(await outcome(node.client.get({ queue: 'kept' }))).toBe('ERR_UNAVAILABLE');
    expect(await outcome(node.client.reserve({ queue: 'kept' }))).toBe('ERR_UNAVAILABLE');
    expect(await outcome(node.client.size({ queue: 'kept' }))).toBe('ERR_UNAVAILABLE');
    expect(await outcome(node.client.ack(lease?.token ?? '', { queue: 'kept' }))).toBe('ERR_UNAVAILABLE');
    // A queue the node has not opened yet cannot be made now either.
    expect(await outcome(node.client.put('x', { queue: 'brand-new', retries: 0 }))).toBe('ERR_UNAVAILABLE');
    // STATS is the node's own: still answered.
    expect((await node.client.stats()).engine).toBe('jetstream');

    await nats.restart();
    // Back by itself: the same client, no restart of the node.
    await waitFor(async () => (await outcome(node.client.size({ queue: 'kept' }))) === 'ok', { timeoutMs: 30_000, intervalMs: 100, what: 'the node to reach NATS again' });
    // The acknowledged put survived the crash (file store); the lease taken before is still the node's to ack.
    expect(await node.client.put('before', { queue: 'kept', key: 'k-before' })).toMatchObject({ duplicate: true });
    expect(await outcome(node.client.ack(lease?.token ?? '', { queue: 'kept' }))).toBe('ok');
    expect(await outcome(node.client.put('after', { queue: 'brand-new' }))).toBe('ok');
    expect(new TextDecoder().decode(await node.client.get({ queue: 'brand-new' }))).toBe('after');
  }, 90_000);
});
