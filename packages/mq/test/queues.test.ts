import { decodeFrame, encodeFrame } from '@streampy/codec';
import { describe, expect, it } from 'vitest';
import { createMemoryEngine, type NodeStats } from '../src/index.js';
import { ManualClock } from '@streampy/testing';
import { nodeFixtures, text } from './udp.js';

const setup = nodeFixtures();

describe('named queues', () => {
  it('keeps queues apart and creates them on first use', async () => {
    const { node, peer } = await setup();
    expect(text(await peer.exchange(node.address, 'PUT q=jobs:x'))).toBe('PUT 1 bytes');
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('0');
    expect(text(await peer.exchange(node.address, 'SIZE q=jobs'))).toBe('SIZE 1');
    expect(text(await peer.exchange(node.address, 'GET'))).toBe('');
    expect(text(await peer.exchange(node.address, 'GET q=jobs'))).toBe('MSG:x');
    expect(Object.keys(node.stats().queues).sort()).toEqual(['dead', 'default', 'jobs']);
  });

  it('caps the number of queues with a clear error', async () => {
    const { node, peer } = await setup({ maxQueues: 3 });
    expect(text(await peer.exchange(node.address, 'PUT q=one:x'))).toBe('PUT 1 bytes');
    expect(text(await peer.exchange(node.address, '#t PUT q=two:x'))).toMatch(/^#t ERR BAD_REQUEST .*at most 3 queues/);
    expect(text(await peer.exchange(node.address, 'SIZE q=one'))).toBe('SIZE 1');
  });

  it('opens each queue engine once, even when several datagrams race to create it', async () => {
    const opened: string[] = [];
    const { node, peer } = await setup({
      engine: (name) => {
        opened.push(name);
        return createMemoryEngine();
      },
    });
    for (let i = 0; i < 20; i++) peer.send(node.address, encodeFrame(`PUT q=new:${i % 10}`));
    for (let i = 0; i < 20; i++) expect(text(decodeFrame(await peer.next()))).toBe('PUT 1 bytes');
    expect(opened.filter((name) => name === 'new')).toHaveLength(1);
    expect(text(await peer.exchange(node.address, 'SIZE q=new'))).toBe('SIZE 20');
  });
});

describe('idempotent puts', () => {
  it('answers a repeated key with DUP and does not enqueue it', async () => {
    const { node, peer } = await setup();
    expect(text(await peer.exchange(node.address, 'PUT key=k1:hello'))).toBe('PUT 5 bytes');
    expect(text(await peer.exchange(node.address, 'PUT key=k1:hello'))).toBe('PUT 5 bytes DUP');
    expect(text(await peer.exchange(node.address, '#z PUT key=k1:hello'))).toBe('#z PUT 5 bytes DUP');
    expect(text(await peer.exchange(node.address, 'PUT key=k2:hello'))).toBe('PUT 5 bytes');
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('2');
    // Keys are per queue.
    expect(text(await peer.exchange(node.address, 'PUT key=k1 q=other:hello'))).toBe('PUT 5 bytes');
    expect(node.stats().queues.default).toMatchObject({ puts: 2, duplicates: 2 });
  });

  it('forgets keys after the dedup window', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { node, peer } = await setup({ dedupWindowMs: 100, clock });
    expect(text(await peer.exchange(node.address, 'PUT key=k:a'))).toBe('PUT 1 bytes');
    clock.advance(99);
    expect(text(await peer.exchange(node.address, 'PUT key=k:a'))).toBe('PUT 1 bytes DUP');
    clock.advance(1);
    expect(text(await peer.exchange(node.address, 'PUT key=k:a'))).toBe('PUT 1 bytes');
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('2');
  });

  it('refuses new keys beyond maxDedupKeys instead of forgetting one inside its window', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { node, peer } = await setup({ maxDedupKeys: 2, dedupWindowMs: 100, clock });
    for (const key of ['a', 'b']) expect(text(await peer.exchange(node.address, `PUT key=${key}:x`))).toBe('PUT 1 bytes');
    expect(text(await peer.exchange(node.address, 'PUT key=c:x'))).toMatch(/^ERR FULL queue default key table is full/);
    expect(text(await peer.exchange(node.address, 'PUT key=a:x'))).toBe('PUT 1 bytes DUP');
    // Once a key's window is over it goes first, and makes room.
    clock.advance(100);
    expect(text(await peer.exchange(node.address, 'PUT key=c:x'))).toBe('PUT 1 bytes');
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('3');
  });

  it('does not record the key of a put refused as FULL', async () => {
    const { node, peer } = await setup({ maxMessages: 1 });
    await peer.exchange(node.address, 'PUT:x');
    expect(text(await peer.exchange(node.address, 'PUT key=k:y'))).toMatch(/^ERR FULL /);
    await peer.exchange(node.address, 'GET');
    expect(text(await peer.exchange(node.address, 'PUT key=k:y'))).toBe('PUT 1 bytes');
  });
});

describe('backpressure', () => {
  it('counts ready, leased and delayed messages against maxMessages', async () => {
    const { node, peer } = await setup({ maxMessages: 2 });
    await peer.exchange(node.address, 'PUT:a');
    await peer.exchange(node.address, 'PUT:b');
    expect(text(await peer.exchange(node.address, 'PUT:c'))).toMatch(/^ERR FULL /);
    const reserved = await peer.call(node.address, { verb: 'RESERVE' });
    expect(text(await peer.exchange(node.address, '#f PUT:c'))).toMatch(/^#f ERR FULL /);
    const token = reserved.kind === 'leased' ? reserved.deliveries[0]?.token : undefined;
    expect(token).toMatch(/^[0-9a-z]+\.1\.[A-Za-z0-9_-]{12}$/);
    expect(text(await peer.exchange(node.address, `NACK ${token ?? ''} delay=60000`))).toBe('OK');
    expect(text(await peer.exchange(node.address, 'PUT:c'))).toMatch(/^ERR FULL /);
    expect(node.stats().queues.default).toMatchObject({ size: 1, delayed: 1 });
    await peer.exchange(node.address, 'GET');
    expect(text(await peer.exchange(node.address, 'PUT:c'))).toBe('PUT 1 bytes');
    expect(node.stats().queues.default).toMatchObject({ rejectedFull: 3, size: 1, delayed: 1 });
  });

  it('bounds body bytes with maxBytes', async () => {
    const { node, peer } = await setup({ maxBytes: 10 });
    expect(text(await peer.exchange(node.address, `PUT:${'x'.repeat(8)}`))).toBe('PUT 8 bytes');
    expect(text(await peer.exchange(node.address, 'PUT:abc'))).toMatch(/^ERR FULL /);
    expect(text(await peer.exchange(node.address, 'PUT:ab'))).toBe('PUT 2 bytes');
    expect(node.stats().queues.default?.bytes).toBe(10);
  });
});

describe('STATS', () => {
  it('reports node counters, per-queue counters and the recent bodies', async () => {
    const { node, peer } = await setup();
    for (let i = 1; i <= 7; i++) await peer.exchange(node.address, `PUT:${i === 7 ? 'L'.repeat(50) : `m${i}`}`);
    await peer.exchange(node.address, 'GET');
    await peer.exchange(node.address, 'NOPE');
    const reply = text(await peer.exchange(node.address, '#s STATS'));
    expect(reply.startsWith('#s STATS:')).toBe(true);
    const stats = JSON.parse(reply.slice('#s STATS:'.length)) as NodeStats;
    expect(stats).toMatchObject({ datagramsIn: 10, framesIn: 10, unknownVerbs: 1, errors: 1, badFrames: 0 });
    expect(stats.datagramsOut).toBe(9);
    expect(stats.uptimeMs).toBeGreaterThanOrEqual(0);
    expect(stats.queues.default).toEqual({
      size: 6, leased: 0, delayed: 0, bytes: 10 + 50, puts: 7, gets: 1, reserves: 0, acks: 0, nacks: 0, extends: 0,
      redeliveries: 0, deadLettered: 0, duplicates: 0, rejectedFull: 0,
    });
    expect(stats.recent).toEqual(['m3', 'm4', 'm5', 'm6', 'L'.repeat(40)]);
    // STATS reports the whole node; a q= on it creates no queue.
    await peer.exchange(node.address, 'STATS q=nothing');
    expect(Object.keys(node.stats().queues).sort()).toEqual(['dead', 'default']);
  });
});
