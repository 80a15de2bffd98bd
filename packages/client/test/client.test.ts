import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_LIMITS, parseRequest } from '@streampy/codec';
import {
  BadReplyError,
  ClientClosedError,
  ClientError,
  QueueFullError,
  RemoteError,
  TimeoutError,
  createClient,
  type ClientOptions,
  type QueueClient,
} from '../src/index.js';
import { ManualClock, waitFor } from '@streampy/testing';
import { fakeQueue, silent, startFakeNode, text, type FakeNode, type Responder } from './fake-node.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(respond: Responder, options: Partial<ClientOptions> = {}): Promise<{ node: FakeNode; client: QueueClient }> {
  const node = await startFakeNode(respond);
  cleanups.push(() => node.close());
  const client = await createClient({ address: node.address, ...options });
  cleanups.push(() => client.close());
  return { node, client };
}

/** The id of a request payload sent by the client. */
const idOf = (payload: string): string => parseRequest(new TextEncoder().encode(payload)).id ?? '';

/** Runs the clock's timers, one event-loop turn apart, until `request` settles; resolves with its value or error. */
async function settle(clock: ManualClock, request: Promise<unknown>): Promise<unknown> {
  let done = false;
  const outcome = request.then(
    (value) => value,
    (error: unknown) => error,
  ).finally(() => (done = true));
  for (let step = 0; step < 1000 && !done; step++) {
    await new Promise((resolve) => setImmediate(resolve));
    if (!done && !clock.runNext()) break;
  }
  return outcome;
}

describe('extended protocol against a fake node', () => {
  it('puts, gets, sizes and batches, every request carrying a fresh short id', async () => {
    const { node, client } = await setup(fakeQueue());
    expect(await client.put('ping')).toEqual({ bytes: 4, duplicate: false });
    expect(await client.put(new Uint8Array([0xc3, 0xa9]))).toEqual({ bytes: 2, duplicate: false });
    expect(await client.size()).toBe(2);
    expect(text(await client.get())).toBe('ping');
    expect(text(await client.get())).toBe('é');
    expect(await client.get()).toBeUndefined();
    await Promise.all(['a', 'b', 'c'].map((m) => client.put(m, { queue: 'other' })));
    expect((await client.getBatch(10, { queue: 'other' })).map(text)).toEqual(['a', 'b', 'c']);
    expect(await client.getBatch(5)).toEqual([]);
    const ids = node.received.flat().map(idOf);
    expect(ids.every((id) => /^[a-z0-9]+$/.test(id) && id.length <= PROTOCOL_LIMITS.maxIdLength)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('matches replies to requests by id when the node answers in reverse order', async () => {
    const { client } = await setup((payloads, from, node) => {
      // One datagram (coalesced); answer each in its own datagram, last first.
      for (const payload of payloads.slice().reverse()) {
        const request = parseRequest(payload);
        node.send(from, [`#${request.id ?? ''} MSG:${request.queue ?? ''}`]);
      }
      return undefined;
    });
    const bodies = await Promise.all(['q1', 'q2', 'q3', 'q4'].map((queue) => client.get({ queue })));
    expect(bodies.map(text)).toEqual(['q1', 'q2', 'q3', 'q4']);
  });

  it('decodes every frame of a reply datagram', async () => {
    const { node, client } = await setup((payloads) => {
      if (payloads.length < 3) return undefined;
      const ids = payloads.map((p) => parseRequest(p).id ?? '');
      return [`#${ids[2] ?? ''} SIZE 7`, `#${ids[0] ?? ''} PUT 1 bytes`, `#${ids[1] ?? ''} EMPTY`];
    });
    const [put, get, size] = await Promise.all([client.put('x'), client.get(), client.size()]);
    expect(put).toEqual({ bytes: 1, duplicate: false });
    expect(get).toBeUndefined();
    expect(size).toBe(7);
    expect(node.received).toHaveLength(1);
  });

  it('resends the same id after a timeout and ignores a late reply to a finished request', async () => {
    let firstId: string | undefined;
    const { node, client } = await setup(
      (payloads, from, fake) => {
        const request = parseRequest(payloads[0] as Uint8Array);
        const id = request.id ?? '';
        if (request.queue === 'a') {
          if (firstId === undefined) {
            firstId = id; // drop the first attempt
            return undefined;
          }
          return [`#${id} MSG:second`];
        }
        // Before answering B, replay a stale answer to A's id and a reply with no id at all.
        fake.send(from, [`#${firstId ?? ''} MSG:stale`, 'MSG:no-id']);
        return [`#${id} MSG:b`];
      },
      { timeoutMs: 100, retries: 3, retryBackoffMs: 1 },
    );
    expect(text(await client.get({ queue: 'a' }))).toBe('second');
    expect(node.received).toHaveLength(2);
    expect(node.received[1]).toEqual(node.received[0]);
    expect(text(await client.get({ queue: 'b' }))).toBe('b');
  });

  it('gives up with TimeoutError after 1 + retries identical attempts', async () => {
    const clock = new ManualClock();
    const { node, client } = await setup(silent, { timeoutMs: 40, retries: 2, retryBackoffMs: 1, clock });
    const error = await settle(clock, client.size());
    expect(error).toBeInstanceOf(TimeoutError);
    const timeout = error as TimeoutError;
    expect(timeout.code).toBe('ERR_TIMEOUT');
    expect(timeout.attempts).toBe(3);
    expect(timeout.verb).toBe('SIZE');
    expect(timeout.address).toEqual(node.address);
    expect(timeout.message).toContain(`127.0.0.1:${node.address.port}`);
    await waitFor(() => node.received.length === 3, { what: 'three attempts' });
    expect(new Set(node.received.map((d) => d.join('|'))).size).toBe(1);
  });

  it('a put with its own retries: 0 is sent once (at-most-once), while other requests keep the client default', async () => {
    const clock = new ManualClock();
    const { node, client } = await setup(silent, { timeoutMs: 30, retries: 2, retryBackoffMs: 1, clock });
    const error = await settle(clock, client.put('once', { retries: 0 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).attempts).toBe(1);
    // Nothing is left that could send it again, however long the clock runs.
    expect(clock.pending).toBe(0);
    await waitFor(() => node.received.length === 1, { what: 'the put' });
    const second = await settle(clock, client.put('default'));
    expect((second as TimeoutError).attempts).toBe(3);
    await waitFor(() => node.received.length === 4, { what: 'three attempts of the second put' });
  });

  it('with retries 0 sends exactly one datagram', async () => {
    const clock = new ManualClock();
    const { node, client } = await setup(silent, { timeoutMs: 30, retries: 0, clock });
    await expect(settle(clock, client.get())).resolves.toMatchObject({ code: 'ERR_TIMEOUT', attempts: 1 });
    expect(clock.pending).toBe(0);
    await waitFor(() => node.received.length === 1, { what: 'the request' });
  });

  it('backs off exponentially with jitter between attempts, on the injected clock', async () => {
    const clock = new ManualClock();
    const { node, client } = await setup(silent, { timeoutMs: 100, retries: 3, retryBackoffMs: 40, clock });
    const sentAt: number[] = [];
    const outcome = client.size().catch((e: unknown) => e);
    for (let attempt = 1; attempt <= 4; attempt++) {
      await waitFor(() => node.received.length === attempt, { what: `attempt ${attempt}` });
      sentAt.push(clock.now());
      // The attempt's deadline, then (but after the last) the backoff before the next one.
      clock.advance(100);
      if (attempt < 4) clock.runNext();
    }
    expect(await outcome).toMatchObject({ code: 'ERR_TIMEOUT', attempts: 4 });
    const pauses = sentAt.slice(1).map((at, i) => at - (sentAt[i] as number) - 100);
    // Equal jitter: the n-th pause lies in [base / 2, base] with base = 40 * 2^(n-1).
    pauses.forEach((pause, i) => {
      const base = 40 * 2 ** i;
      expect(pause).toBeGreaterThanOrEqual(base / 2);
      expect(pause).toBeLessThanOrEqual(base);
    });
  });

  it('coalesces requests of one event-loop turn into one datagram', async () => {
    const { node, client } = await setup(fakeQueue());
    const results = await Promise.all([client.put('a'), client.put('b'), client.size(), client.get(), client.get()]);
    expect(node.received).toHaveLength(1);
    expect(node.received[0]?.map((p) => p.replace(/^#\S+ /, ''))).toEqual(['PUT:a', 'PUT:b', 'SIZE', 'GET', 'GET']);
    expect(results[2]).toBe(2);
    expect(text(results[3] as Uint8Array)).toBe('a');
    expect(text(results[4] as Uint8Array)).toBe('b');
  });

  it('coalesces requests issued after an await in the same turn, and sends a lone request at once', async () => {
    const { node, client } = await setup(fakeQueue());
    const turn = (async () => {
      const first = client.put('a');
      await Promise.resolve();
      const second = client.put('b');
      const third = new Promise<unknown>((resolve) => queueMicrotask(() => resolve(client.size())));
      return Promise.all([first, second, third]);
    })();
    const [, , size] = await turn;
    expect(size).toBe(2);
    expect(node.received).toHaveLength(1);
    expect(node.received[0]?.map((p) => p.replace(/^#\S+ /, ''))).toEqual(['PUT:a', 'PUT:b', 'SIZE']);
    // A request in a turn of its own is not held back for company.
    expect(text(await client.get())).toBe('a');
    expect(node.received).toHaveLength(2);
    expect(node.received[1]?.map((p) => p.replace(/^#\S+ /, ''))).toEqual(['GET']);
  });

  it('putMany packs every frame into one datagram and returns one outcome per message', async () => {
    const queue = fakeQueue();
    const { node, client } = await setup((payloads, from, fake) =>
      payloads.map((payload) => {
        const request = parseRequest(payload);
        if (request.verb === 'PUT' && text(request.body) === 'refuse') return `#${request.id ?? ''} ERR FULL queue full`;
        if (request.verb === 'PUT' && request.key === 'seen') return `#${request.id ?? ''} PUT ${request.body.length} bytes DUP`;
        return queue([payload], from, fake)?.[0] ?? '';
      }),
    );
    const results = await client.putMany(['a', new Uint8Array([0xc3, 0xa9]), 'refuse', { message: 'k', key: 'seen' }, { message: 'z', key: 'fresh' }], { queue: 'q' });
    expect(results).toEqual([
      { status: 'fulfilled', value: { bytes: 1, duplicate: false } },
      { status: 'fulfilled', value: { bytes: 2, duplicate: false } },
      { status: 'rejected', reason: expect.any(QueueFullError) as unknown },
      { status: 'fulfilled', value: { bytes: 1, duplicate: true } },
      { status: 'fulfilled', value: { bytes: 1, duplicate: false } },
    ]);
    expect(node.received).toHaveLength(1);
    expect(node.received[0]?.map((p) => p.replace(/^#\S+ /, ''))).toEqual(['PUT q=q:a', 'PUT q=q:é', 'PUT q=q:refuse', 'PUT key=seen q=q:k', 'PUT key=fresh q=q:z']);
    expect(new Set(node.received[0]?.map(idOf)).size).toBe(5);
    expect((await client.getBatch(10, { queue: 'q' })).map(text)).toEqual(['a', 'é', 'z']);
    expect(await client.putMany([])).toEqual([]);
  });

  it('putMany splits at maxDatagramBytes and refuses bad input before sending anything', async () => {
    const { node, client } = await setup(fakeQueue(), { maxDatagramBytes: 64 });
    const messages = Array.from({ length: 12 }, (_, i) => `message-${i}`);
    const results = await client.putMany(messages);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect(node.received.length).toBeGreaterThan(1);
    expect(node.received.flat().map((p) => p.replace(/^#\S+ PUT:/, ''))).toEqual(messages);
    const sent = node.received.length;
    await expect(client.putMany(['x', { message: 'y', key: 'has space' }])).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.putMany(['x'], { queue: 'a:b' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.putMany(['x', 'y'.repeat(200)])).rejects.toMatchObject({ code: 'ERR_REQUEST_TOO_LARGE' });
    expect(node.received).toHaveLength(sent);
  });

  it('putMany resends only unanswered frames, with their ids, and times out the rest', async () => {
    let datagrams = 0;
    const { node, client } = await setup(
      (payloads) => {
        datagrams++;
        // The first datagram gets an answer for "one" only, every later one for "two" only.
        const answered = datagrams === 1 ? 'one' : 'two';
        return payloads
          .filter((payload) => {
            const request = parseRequest(payload);
            return request.verb === 'PUT' && text(request.body) === answered;
          })
          .map((payload) => `#${parseRequest(payload).id ?? ''} PUT 3 bytes`);
      },
      { timeoutMs: 50, retries: 2, retryBackoffMs: 1 },
    );
    const results = await client.putMany(['one', 'two', 'six']);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { bytes: 3, duplicate: false } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: { bytes: 3, duplicate: false } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_TIMEOUT', attempts: 3 } });
    expect(node.received.map((d) => d.map((p) => p.replace(/^#\S+ PUT:/, '')))).toEqual([['one', 'two', 'six'], ['two', 'six'], ['six']]);
    expect(node.received[1]?.[1]).toBe(node.received[0]?.[2]);
  });

  it('sends one datagram per request with coalesce: false', async () => {
    const { node, client } = await setup(fakeQueue(), { coalesce: false });
    await Promise.all([client.put('a'), client.put('b'), client.size()]);
    expect(node.received.map((d) => d.length)).toEqual([1, 1, 1]);
  });

  it('splits a turn into datagrams of at most maxDatagramBytes, in order', async () => {
    const { node, client } = await setup(fakeQueue(), { maxDatagramBytes: 64 });
    const messages = Array.from({ length: 12 }, (_, i) => `message-${i}`);
    await Promise.all(messages.map((m) => client.put(m)));
    expect(node.received.length).toBeGreaterThan(1);
    expect(node.received.flat().map((p) => p.replace(/^#\S+ PUT:/, ''))).toEqual(messages);
    // 64-byte datagrams: each frame here is ~24 bytes, so no datagram holds more than 2.
    expect(Math.max(...node.received.map((d) => d.length))).toBeLessThanOrEqual(2);
    expect((await client.getBatch(100)).map(text)).toEqual(messages);
  });

  it('maps ERR replies to typed errors', async () => {
    const { client } = await setup((payloads) =>
      payloads.map((payload) => {
        const request = parseRequest(payload);
        const code = request.verb === 'PUT' ? 'FULL' : request.verb === 'ACK' ? 'UNKNOWN_LEASE' : 'SOMETHING_NEW';
        return `#${request.id ?? ''} ERR ${code} because`;
      }),
    );
    const full = await client.put('x').catch((e: unknown) => e);
    expect(full).toBeInstanceOf(QueueFullError);
    expect(full).toBeInstanceOf(RemoteError);
    expect(full).toMatchObject({ code: 'ERR_FULL', wireCode: 'FULL', message: 'because' });
    const lease = await client.ack('t1').catch((e: unknown) => e);
    expect(lease).toBeInstanceOf(RemoteError);
    expect(lease).not.toBeInstanceOf(QueueFullError);
    expect(lease).toMatchObject({ code: 'ERR_UNKNOWN_LEASE', wireCode: 'UNKNOWN_LEASE' });
    // A code this client does not know is still an error, not a success.
    await expect(client.size()).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
  });

  it('rejects malformed and mismatched replies with BadReplyError', async () => {
    const { client } = await setup((payloads) =>
      payloads.map((payload) => {
        const request = parseRequest(payload);
        return request.verb === 'GET' ? `#${request.id ?? ''} OK` : `#${request.id ?? ''} PUT lots bytes`;
      }),
    );
    const mismatch = await client.get().catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(BadReplyError);
    expect(mismatch).toMatchObject({ code: 'ERR_BAD_REPLY' });
    await expect(client.put('x')).rejects.toMatchObject({ code: 'ERR_BAD_REPLY' });
  });

  it('survives garbage datagrams from the node', async () => {
    const { client } = await setup((payloads, from, node) => {
      node.send(from, []); // an empty datagram
      return payloads.map((p) => `#${parseRequest(p).id ?? ''} SIZE 3`);
    });
    expect(await client.size()).toBe(3);
  });

  it('rejects bad arguments and oversized requests before sending anything', async () => {
    const { node, client } = await setup(fakeQueue(), { maxDatagramBytes: 100 });
    await expect(client.put('x', { key: 'has space' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.put('x', { queue: 'a:b' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.getBatch(0)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(client.put('y'.repeat(200))).rejects.toMatchObject({ code: 'ERR_REQUEST_TOO_LARGE' });
    expect(node.received).toHaveLength(0);
  });

  it('rejects outstanding and later requests once closed', async () => {
    const node = await startFakeNode(silent);
    cleanups.push(() => node.close());
    const client = await createClient({ address: `127.0.0.1:${node.address.port}`, timeoutMs: 10_000 });
    const pending = client.get();
    await waitFor(() => node.received.length === 1, { what: 'the request' });
    await client.close();
    await expect(pending).rejects.toBeInstanceOf(ClientClosedError);
    await expect(client.size()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await client.close(); // idempotent
  });
});

/** A seed node: one frame per datagram, no ids; unknown commands ignored. Records concurrency. */
function fakeSeed(): { respond: Responder; maxInFlight: () => number } {
  const queue: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const respond: Responder = (payloads, from, node) => {
    const payload = payloads.length === 1 ? new TextDecoder().decode(payloads[0]) : undefined;
    if (payload === undefined) return undefined;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    let reply: string | undefined;
    if (payload.startsWith('PUT')) {
      queue.push(payload.slice(4));
      reply = `PUT ${Buffer.byteLength(payload.slice(4))} bytes`;
    } else if (payload === 'GET') reply = queue.shift() ?? '';
    else if (payload === 'SIZE') reply = String(queue.length);
    // Answer a little later, so a client that did not wait would be caught sending.
    setTimeout(() => {
      inFlight--;
      if (reply !== undefined) node.send(from, [reply]);
    }, 5);
    return undefined;
  };
  return { respond, maxInFlight: () => maxInFlight };
}

describe('seed protocol against a fake seed node', () => {
  it('sends bare seed frames one at a time and reads seed replies', async () => {
    const seed = fakeSeed();
    const { node, client } = await setup(seed.respond, { protocol: 'seed' });
    const [put1, put2, size] = await Promise.all([client.put('ping'), client.put('é'), client.size()]);
    expect(put1).toEqual({ bytes: 4, duplicate: false });
    expect(put2).toEqual({ bytes: 2, duplicate: false });
    expect(size).toBe(2);
    expect((await Promise.all([client.get(), client.get(), client.get()])).map(text)).toEqual(['ping', 'é', undefined]);
    expect(node.received).toEqual([['PUT:ping'], ['PUT:é'], ['SIZE'], ['GET'], ['GET'], ['GET']]);
    expect(seed.maxInFlight()).toBe(1);
  });

  it('putMany sends seed puts one at a time', async () => {
    const seed = fakeSeed();
    const { node, client } = await setup(seed.respond, { protocol: 'seed' });
    const results = await client.putMany(['a', 'bc']);
    expect(results).toEqual([
      { status: 'fulfilled', value: { bytes: 1, duplicate: false } },
      { status: 'fulfilled', value: { bytes: 2, duplicate: false } },
    ]);
    expect(node.received).toEqual([['PUT:a'], ['PUT:bc']]);
    expect(seed.maxInFlight()).toBe(1);
  });

  it('emulates getBatch with GETs until empty', async () => {
    const seed = fakeSeed();
    const { client } = await setup(seed.respond, { protocol: 'seed' });
    await Promise.all(['a', 'b', 'c'].map((m) => client.put(m)));
    expect((await client.getBatch(2)).map(text)).toEqual(['a', 'b']);
    expect((await client.getBatch(5)).map(text)).toEqual(['c']);
  });

  it('refuses what the seed cannot do with ERR_UNSUPPORTED', async () => {
    const { node, client } = await setup(fakeSeed().respond, { protocol: 'seed' });
    const attempts = [
      client.reserve(),
      client.ack('t'),
      client.nack('t'),
      client.extend('t', 100),
      client.stats(),
      client.put('x', { key: 'k' }),
      client.get({ queue: 'q' }),
      client.getBatch(2, { queue: 'q' }),
      client.request({ verb: 'SIZE', id: 'abc' }),
    ];
    for (const attempt of attempts) {
      const error = await attempt.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({ code: 'ERR_UNSUPPORTED' });
    }
    expect(node.received).toHaveLength(0);
  });

  it('retries a lost seed request and times out when the seed ignores a command', async () => {
    let dropped = false;
    const { node, client } = await setup(
      (payloads) => {
        if (!dropped) {
          dropped = true;
          return undefined;
        }
        return payloads.map(() => '0');
      },
      { protocol: 'seed', timeoutMs: 50, retries: 1, retryBackoffMs: 1 },
    );
    expect(await client.size()).toBe(0);
    expect(node.received).toEqual([['SIZE'], ['SIZE']]);
  });
});
