import { decodeFrame, encodeFrame, parseRequest, type Delivery, type Reply } from '@streampy/codec';
import { ManualClock } from '@streampy/testing';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { QueueNode } from '../src/index.js';
import { TestPeer, nodeFixtures, text, waitFor } from './udp.js';

/** The node's time: leases, delays and retries move only when a test advances it. */
const manualClock = (): ManualClock => new ManualClock(1_700_000_000_000);

const setup = nodeFixtures();

function leased(reply: Reply): Delivery[] {
  if (reply.kind !== 'leased') throw new Error(`expected LEASED, got ${JSON.stringify(reply)}`);
  return reply.deliveries;
}

function only(deliveries: Delivery[]): Delivery {
  expect(deliveries).toHaveLength(1);
  return deliveries[0] as Delivery;
}

const sizeOf = async (peer: TestPeer, node: QueueNode, queue?: string): Promise<number> => {
  const reply = await peer.call(node.address, queue === undefined ? { id: 's', verb: 'SIZE' } : { id: 's', verb: 'SIZE', queue });
  if (reply.kind !== 'size') throw new Error('expected SIZE');
  return reply.size;
};

describe('leases', () => {
  it('reserves, acks once, and refuses the token afterwards', async () => {
    const { node, peer } = await setup();
    await peer.exchange(node.address, 'PUT:job');
    const delivery = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(delivery.body)).toBe('job');
    expect(delivery.deliveries).toBe(1);
    expect(delivery.token).toMatch(/^[0-9a-z]+\.1\.[A-Za-z0-9_-]{12}$/);
    expect(await sizeOf(peer, node)).toBe(0);
    expect(node.stats().queues.default).toMatchObject({ size: 0, leased: 1, bytes: 3, reserves: 1 });
    expect(text(await peer.exchange(node.address, `ACK ${delivery.token}`))).toBe('OK');
    expect(text(await peer.exchange(node.address, `ACK ${delivery.token}`))).toMatch(/^ERR UNKNOWN_LEASE /);
    expect(node.stats().queues.default).toMatchObject({ size: 0, leased: 0, bytes: 0, acks: 1 });
  });

  it('answers RESERVE on an empty queue with LEASED 0 and reserves batches with max=', async () => {
    const { node, peer } = await setup();
    expect(text(await peer.exchange(node.address, '#e RESERVE'))).toBe('#e LEASED 0:');
    for (const body of ['a', 'b', 'c']) await peer.exchange(node.address, `PUT:${body}`);
    const batch = leased(await peer.call(node.address, { verb: 'RESERVE', max: 5 }));
    expect(batch.map((d) => text(d.body))).toEqual(['a', 'b', 'c']);
    expect(new Set(batch.map((d) => d.token)).size).toBe(3);
  });

  it('redelivers a nacked message at the head with deliveries + 1 and the same message id', async () => {
    const { node, peer } = await setup();
    await peer.exchange(node.address, 'PUT:first');
    await peer.exchange(node.address, 'PUT:second');
    const one = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(await peer.exchange(node.address, `NACK ${one.token}`))).toBe('OK');
    const two = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(two.body)).toBe('first');
    expect(two.deliveries).toBe(2);
    expect(two.token.split('.')[0]).toBe(one.token.split('.')[0]);
    // The token of the earlier delivery is stale.
    expect(text(await peer.exchange(node.address, `ACK ${one.token}`))).toMatch(/^ERR UNKNOWN_LEASE /);
    expect(text(await peer.exchange(node.address, `ACK ${two.token}`))).toBe('OK');
    expect(node.stats().queues.default).toMatchObject({ nacks: 1, redeliveries: 1, acks: 1, size: 1 });
  });

  it('holds a message nacked with delay= until the delay ends', async () => {
    const clock = manualClock();
    const { node, peer } = await setup({ clock });
    await peer.exchange(node.address, 'PUT:later');
    const one = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(await peer.exchange(node.address, `NACK ${one.token} delay=300`))).toBe('OK');
    expect(await sizeOf(peer, node)).toBe(0);
    expect(node.stats().queues.default).toMatchObject({ delayed: 1, leased: 0, bytes: 5 });
    expect(text(await peer.exchange(node.address, `ACK ${one.token}`))).toMatch(/^ERR UNKNOWN_LEASE /);
    clock.advance(299);
    expect(await sizeOf(peer, node)).toBe(0);
    clock.advance(1);
    expect(await sizeOf(peer, node)).toBe(1);
    expect(node.stats().queues.default).toMatchObject({ delayed: 0, size: 1 });
  });

  it('makes an expired lease visible again at the head, with deliveries + 1', async () => {
    const clock = manualClock();
    const { node, peer } = await setup({ clock });
    await peer.exchange(node.address, 'PUT:a');
    await peer.exchange(node.address, 'PUT:b');
    const one = only(leased(await peer.call(node.address, { verb: 'RESERVE', leaseMs: 50 })));
    clock.advance(49);
    expect(await sizeOf(peer, node)).toBe(1);
    clock.advance(1);
    expect(await sizeOf(peer, node)).toBe(2);
    expect(text(await peer.exchange(node.address, `ACK ${one.token}`))).toMatch(/^ERR UNKNOWN_LEASE /);
    const two = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(two.body)).toBe('a');
    expect(two.deliveries).toBe(2);
  });

  it('keeps an extended lease past its first deadline', async () => {
    const clock = manualClock();
    const { node, peer } = await setup({ clock });
    await peer.exchange(node.address, 'PUT:long');
    const one = only(leased(await peer.call(node.address, { verb: 'RESERVE', leaseMs: 100 })));
    clock.advance(99);
    expect(text(await peer.exchange(node.address, `EXTEND ${one.token} lease=60000`))).toBe('OK');
    clock.advance(500);
    expect(await sizeOf(peer, node)).toBe(0);
    expect(node.stats().queues.default).toMatchObject({ leased: 1, redeliveries: 0 });
    expect(text(await peer.exchange(node.address, `ACK ${one.token}`))).toBe('OK');
    expect(text(await peer.exchange(node.address, `EXTEND ${one.token} lease=100`))).toMatch(/^ERR UNKNOWN_LEASE /);
  });

  it('selects queues with q= for leases too', async () => {
    const { node, peer } = await setup();
    await peer.exchange(node.address, 'PUT q=jobs:x');
    const one = only(leased(await peer.call(node.address, { verb: 'RESERVE', queue: 'jobs' })));
    expect(text(await peer.exchange(node.address, `ACK ${one.token}`))).toMatch(/^ERR UNKNOWN_LEASE /);
    expect(text(await peer.exchange(node.address, `ACK ${one.token} q=jobs`))).toBe('OK');
  });
});

describe('dead letters', () => {
  it('moves a message to the local dead queue after maxDeliveries expired leases', async () => {
    const clock = manualClock();
    const { node, peer } = await setup({ maxDeliveries: 2, clock });
    await peer.exchange(node.address, 'PUT:poison');
    for (let delivery = 1; delivery <= 2; delivery++) {
      const d = only(leased(await peer.call(node.address, { verb: 'RESERVE', leaseMs: 30 })));
      expect(d.deliveries).toBe(delivery);
      clock.advance(30);
      expect(node.stats().queues.default?.leased).toBe(0);
    }
    expect(await sizeOf(peer, node, 'dead')).toBe(1);
    expect(await sizeOf(peer, node)).toBe(0);
    expect(text(await peer.exchange(node.address, 'GET q=dead'))).toBe('MSG:poison');
    expect(node.stats().queues.default).toMatchObject({ deadLettered: 1, bytes: 0, leased: 0 });
  });

  it('dead-letters a message nacked on its last delivery, to a named local queue', async () => {
    const { node, peer } = await setup({ maxDeliveries: 1, deadLetter: 'graveyard' });
    await peer.exchange(node.address, 'PUT:bad');
    const d = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    expect(text(await peer.exchange(node.address, `NACK ${d.token}`))).toBe('OK');
    expect(await sizeOf(peer, node, 'graveyard')).toBe(1);
    expect(await sizeOf(peer, node)).toBe(0);
  });

  it('PUTs dead letters to another node given by address, once', async () => {
    const clock = manualClock();
    const remote = await setup();
    const { node, peer } = await setup({ maxDeliveries: 1, deadLetter: remote.node.address, clock });
    await peer.exchange(node.address, 'PUT:to-remote');
    const d = only(leased(await peer.call(node.address, { verb: 'RESERVE', leaseMs: 20 })));
    expect(d.deliveries).toBe(1);
    clock.advance(20);
    await waitFor(() => node.stats().deadLettersForwarded === 1, { what: 'forward confirmed' });
    expect(await sizeOf(remote.peer, remote.node)).toBe(1);
    expect(node.stats().deadLettersPending).toBe(0);
    expect(text(await remote.peer.exchange(remote.node.address, 'GET'))).toBe('to-remote');
    expect(remote.node.stats().queues.default).toMatchObject({ puts: 1, duplicates: 0 });
    expect(await sizeOf(peer, node)).toBe(0);
    expect(await sizeOf(peer, node, 'dead')).toBe(0);
  });

  it('retries an unanswered dead-letter PUT with the same idempotency key', async () => {
    const clock = manualClock();
    const destination = await TestPeer.open();
    onTestFinished(() => destination.close());
    const { node, peer } = await setup({ maxDeliveries: 1, deadLetter: destination.address, clock });
    await peer.exchange(node.address, 'PUT:retry-me');
    const d = only(leased(await peer.call(node.address, { verb: 'RESERVE' })));
    await peer.exchange(node.address, `NACK ${d.token}`);
    const first = parseRequest(decodeFrame(await destination.next()));
    // No reply to the first attempt: once its timeout and backoff have passed, the same PUT goes again.
    clock.advance(1_000);
    const second = parseRequest(decodeFrame(await destination.next()));
    expect(first.verb === 'PUT' && first.key).toMatch(/^[0-9a-z]+\.default$/);
    expect(second.verb === 'PUT' && second.key).toBe(first.verb === 'PUT' && first.key);
    expect(second.verb === 'PUT' && text(second.body)).toBe('retry-me');
    expect(node.stats().deadLettersPending).toBe(1);
    destination.send(destination.lastSender ?? node.address, encodeFrame(`#${second.id ?? ''} PUT 8 bytes DUP`));
    await waitFor(() => node.stats().deadLettersPending === 0, { what: 'forward settled' });
    expect(node.stats().deadLettersForwarded).toBe(1);
  });
});
