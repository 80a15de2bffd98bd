import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueueNode, type QueueNode, type QueueNodeOptions } from '../../src/index.js';
import { createLogger } from '@streampy/runtime';
import { QueueFullError, RemoteError, TimeoutError, createClient, type ClientOptions, type QueueClient } from '@streampy/client';
import { waitFor } from '@streampy/testing';
import { text } from './processes.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real queue node on 127.0.0.1:0 (logging only warnings) and a client for it. */
async function setup(nodeOptions: QueueNodeOptions = {}, clientOptions: Partial<ClientOptions> = {}): Promise<{ node: QueueNode; client: QueueClient }> {
  const node = await createQueueNode({
    address: '127.0.0.1:0',
    logger: (address) => createLogger({ name: `MQ.${address.host}-${address.port}`, level: 'error' }),
    ...nodeOptions,
  });
  cleanups.push(() => node.close());
  const client = await createClient({ address: node.address, ...clientOptions });
  cleanups.push(() => client.close());
  return { node, client };
}

describe('client against the real queue node', () => {
  it('puts, gets and sizes, per named queue', async () => {
    const { client } = await setup();
    expect(await client.size()).toBe(0);
    expect(await client.put('ping')).toEqual({ bytes: 4, duplicate: false });
    expect(await client.put('é', { queue: 'other' })).toEqual({ bytes: 2, duplicate: false });
    expect(await client.size()).toBe(1);
    expect(await client.size({ queue: 'other' })).toBe(1);
    expect(text(await client.get())).toBe('ping');
    expect(await client.get()).toBeUndefined();
    expect(text(await client.get({ queue: 'other' }))).toBe('é');
  });

  it('batches: many puts in one turn, one getBatch', async () => {
    const { client } = await setup();
    const messages = Array.from({ length: 200 }, (_, i) => `m${i}`);
    const results = await Promise.all(messages.map((m) => client.put(m)));
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect(await client.size()).toBe(200);
    const first = await client.getBatch(150);
    const rest = await client.getBatch(150);
    expect([...first, ...rest].map(text)).toEqual(messages);
    expect(await client.getBatch(10)).toEqual([]);
  });

  it('idempotent put: the same key is enqueued once and answered DUP', async () => {
    const { client } = await setup();
    expect(await client.put('once', { key: 'k-1' })).toEqual({ bytes: 4, duplicate: false });
    expect(await client.put('once', { key: 'k-1' })).toEqual({ bytes: 4, duplicate: true });
    expect(await client.size()).toBe(1);
  });

  it('reserve, ack, nack and extend', async () => {
    const { client } = await setup();
    await client.put('a');
    await client.put('b');
    const [first] = await client.reserve({ leaseMs: 60_000 });
    expect(first).toBeDefined();
    const lease = first as NonNullable<typeof first>;
    expect(text(lease.body)).toBe('a');
    expect(lease.deliveries).toBe(1);
    await client.extend(lease.token, 120_000);
    await client.ack(lease.token);
    const ackedTwice = await client.ack(lease.token).catch((e: unknown) => e);
    expect(ackedTwice).toBeInstanceOf(RemoteError);
    expect(ackedTwice).toMatchObject({ code: 'ERR_UNKNOWN_LEASE', wireCode: 'UNKNOWN_LEASE' });

    const [second] = await client.reserve({ max: 5, leaseMs: 60_000 });
    expect(text(second?.body)).toBe('b');
    await client.nack(second?.token ?? '');
    const [again] = await client.reserve({ leaseMs: 60_000 });
    expect(text(again?.body)).toBe('b');
    expect(again?.deliveries).toBe(2);
    await client.ack(again?.token ?? '');
    expect(await client.reserve()).toEqual([]);
    await expect(client.extend('no-such-token', 1000)).rejects.toMatchObject({ code: 'ERR_UNKNOWN_LEASE' });
  });

  it('stats come back as an object', async () => {
    const { client } = await setup();
    await client.put('x');
    const stats = await client.stats();
    expect(typeof stats).toBe('object');
    expect(JSON.stringify(stats)).toContain('"puts":1');
  });

  it('a bounded node answers ERR FULL as QueueFullError', async () => {
    const { client } = await setup({ maxMessages: 2 });
    await client.put('1');
    await client.put('2');
    const error = await client.put('3').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ code: 'ERR_FULL', wireCode: 'FULL' });
    expect(await client.size()).toBe(2);
  });

  it('raw requests return typed replies and throw on ERR', async () => {
    const { client } = await setup();
    expect(await client.request({ verb: 'SIZE', id: 'ignored' })).toMatchObject({ kind: 'size', size: 0 });
    await expect(client.request({ verb: 'ACK', token: 'nope' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_LEASE' });
  });

  it('seed protocol works against the real node too', async () => {
    const { client } = await setup({}, { protocol: 'seed' });
    expect(await client.put('ping')).toEqual({ bytes: 4, duplicate: false });
    expect(await client.size()).toBe(1);
    expect(text(await client.get())).toBe('ping');
    expect(await client.get()).toBeUndefined();
  });
});

describe('client against a port nobody answers', () => {
  it('throws TimeoutError after its retries', async () => {
    // A bound socket that never answers: the port stays taken, so the test cannot race another.
    const deaf: Socket = createSocket('udp4');
    await new Promise<void>((resolve) => deaf.bind(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => deaf.close(() => resolve())));
    let datagrams = 0;
    deaf.on('message', () => datagrams++);
    const client = await createClient({ address: `127.0.0.1:${deaf.address().port}`, timeoutMs: 50, retries: 2, retryBackoffMs: 1 });
    cleanups.push(() => client.close());
    const error = await client.put('lost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT', verb: 'PUT', attempts: 3 });
    await waitFor(() => datagrams === 3, { what: 'three attempts at the deaf port' });
  });
});
