import { natsServerMissing, startNats, waitFor, type NatsHandle } from '@streampy/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outcome } from './harness.js';
import { startNatsNode, startNatsNodes, type NatsNode } from './j2-nodes.js';

const missing = natsServerMissing();
if (missing !== undefined) console.warn(`SKIPPED: two streampy-mq nodes on JetStream need nats-server: ${missing}`);

const text = (body: Uint8Array | undefined): string | undefined => (body === undefined ? undefined : new TextDecoder().decode(body));

/** Takes every message of `queue` through `node` (at most `max`). */
async function drain(node: NatsNode, queue: string, max = 100): Promise<string[]> {
  const bodies: string[] = [];
  for (let body = await node.client.get({ queue }); body !== undefined && bodies.length < max; body = await node.client.get({ queue })) bodies.push(text(body) ?? '');
  return bodies;
}

/**
 * Issue 11's acceptance with real processes: two `streampy-mq --nats` nodes (the CLI, real
 * UDP, @streampy/client) in front of one nats-server serve the same queues.
 */
describe.skipIf(missing !== undefined)('two streampy-mq --nats nodes on one JetStream', () => {
  let nats: NatsHandle;
  let a: NatsNode;
  let b: NatsNode;
  // All nodes on a stream must agree on its rules: one lease (the consumer's ack wait) and delivery limit.
  const args = ['--lease-ms', '1000', '--max-deliveries', '1'];

  beforeAll(async () => {
    nats = await startNats();
    [a, b] = (await startNatsNodes(2, { nats: nats.url, args })) as [NatsNode, NatsNode];
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await nats?.stop();
  });

  it('serves puts made through one node from the other, in order', async () => {
    for (const body of ['one', 'two', 'three']) await a.client.put(body, { queue: 'orders' });
    expect(await b.client.size({ queue: 'orders' })).toBe(3);
    expect(await drain(b, 'orders')).toEqual(['one', 'two', 'three']);
    expect(await a.client.size({ queue: 'orders' })).toBe(0);
  });

  it('acks, extends and nacks through one node a lease taken through the other', async () => {
    await a.client.put('job', { queue: 'jobs' });
    const [lease] = await a.client.reserve({ queue: 'jobs', leaseMs: 60_000 });
    expect(lease).toMatchObject({ deliveries: 1 });
    const token = lease?.token ?? '';
    expect(await outcome(b.client.extend(token, 60_000, { queue: 'jobs' }))).toBe('ok');
    expect(await outcome(b.client.ack(token, { queue: 'jobs' }))).toBe('ok');
    // Acked once: neither node knows the lease any more, and the message is gone.
    expect(await outcome(b.client.ack(token, { queue: 'jobs' }))).toBe('ERR_UNKNOWN_LEASE');
    expect(await outcome(a.client.ack(token, { queue: 'jobs' }))).toBe('ERR_UNKNOWN_LEASE');
    expect(await b.client.get({ queue: 'jobs' })).toBeUndefined();
  });

  it('answers DUP for a keyed put retried through the other node', async () => {
    expect(await a.client.put('pay 10', { queue: 'payments', key: 'order-7' })).toMatchObject({ duplicate: false });
    expect(await b.client.put('pay 10', { queue: 'payments', key: 'order-7' })).toMatchObject({ duplicate: true });
    expect(await drain(a, 'payments')).toEqual(['pay 10']);
  });

  it('refuses forged, garbled and stale tokens through either node as UNKNOWN_LEASE', async () => {
    await a.client.put('mine', { queue: 'tokens' });
    const [lease] = await a.client.reserve({ queue: 'tokens', leaseMs: 60_000 });
    const token = lease?.token ?? '';
    const [id, delivery, nonce] = token.split('.') as [string, string, string];
    const flipped = (nonce.endsWith('A') ? nonce.slice(0, -1) + 'B' : nonce.slice(0, -1) + 'A');
    const forged = [
      `${id}.${delivery}.${flipped}`,
      `${id}.${Number(delivery) + 1}.${nonce}`,
      // Another issuer: a node that does not exist.
      `${id}.${delivery}.ZZZZZZZZ${nonce.slice(8)}`,
      `${id}.${delivery}.short`,
    ];
    for (const bad of forged) {
      expect(await outcome(b.client.ack(bad, { queue: 'tokens' })), bad).toBe('ERR_UNKNOWN_LEASE');
      expect(await outcome(a.client.nack(bad, { queue: 'tokens' })), bad).toBe('ERR_UNKNOWN_LEASE');
    }
    // The real lease is untouched by all of that.
    expect(await outcome(b.client.ack(token, { queue: 'tokens' }))).toBe('ok');
    expect(await outcome(a.client.ack(token, { queue: 'tokens' }))).toBe('ERR_UNKNOWN_LEASE');
  });

  it('dead-letters each message exactly once with two nodes, also when the node holding its last lease is killed', async () => {
    const queue = 'poison';
    const bodies = ['p1', 'p2', 'p3', 'p4'];
    for (const body of bodies) await a.client.put(body, { queue });
    // Leased through A, given back through B on their last delivery: A dead-letters each.
    const leases = await a.client.reserve({ queue, max: 10, leaseMs: 60_000 });
    expect(leases.map((lease) => text(lease.body))).toEqual(bodies);
    for (const lease of leases) await b.client.nack(lease.token, { queue });
    // One more, leased through a third node that is then killed -9: its lease runs out on the
    // server (the ack wait), and whichever node fetches the redelivery dead-letters it.
    await a.client.put('orphan', { queue });
    const c = await startNatsNode({ nats: nats.url, args });
    try {
      expect((await c.client.reserve({ queue, leaseMs: 60_000 })).map((lease) => text(lease.body))).toEqual(['orphan']);
      c.process.child.kill('SIGKILL');
      await waitFor(async () => (await b.client.reserve({ queue })).length === 0 && (await a.client.size({ queue: 'dead' })) === 5, { timeoutMs: 20_000, intervalMs: 200, what: 'the orphan dead-lettered' });
    } finally {
      await c.stop();
    }
    const dead = [...(await drain(b, 'dead')), ...(await drain(a, 'dead'))];
    expect(dead.sort()).toEqual([...bodies, 'orphan'].sort());
    expect(await a.client.size({ queue })).toBe(0);
    const stats = await a.client.stats();
    expect(stats.engine).toBe('jetstream');
  }, 60_000);
});
