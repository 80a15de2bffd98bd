import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrames, parseNodeStats, parseReply, scanFrames, type Request } from '@streampy/codec';
import { createClient, type QueueClient } from '@streampy/client';
import { createAuthenticator, parseKeyFile, type Authenticator, type Keyring } from '@streampy/runtime';
import { ManualClock, recordingLogger, type RecordingLogger } from '@streampy/testing';
import { MAX_MESSAGE_BYTES, createQueueNode, type QueueNode, type QueueNodeOptions } from '../src/index.js';
import { UdpServer } from '../src/server.js';
import { newCounters } from '../src/stats.js';
import { TestPeer, silentLogger, text, waitFor } from './udp.js';

const RING: Keyring = parseKeyFile(`k1 ${'5a'.repeat(32)}\n`);
const START = 1_764_600_000_000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function node(options: QueueNodeOptions): Promise<QueueNode> {
  const started = await createQueueNode({ address: '127.0.0.1:0', logger: silentLogger(), ...options });
  cleanups.push(() => started.close());
  return started;
}

async function peer(host = '127.0.0.1'): Promise<TestPeer> {
  const opened = await TestPeer.open({ host });
  cleanups.push(() => opened.close());
  return opened;
}

async function client(target: QueueNode, options: { auth?: Keyring; clock?: ManualClock } = {}): Promise<QueueClient> {
  const opened = await createClient({ address: target.address, timeoutMs: 2_000, retries: 2, ...options });
  cleanups.push(() => opened.close());
  return opened;
}

/** A datagram of request frames, signed by `signer` (role request). */
function signed(signer: Authenticator, ...payloads: string[]): Uint8Array {
  const body = encodeFrames(payloads);
  return Uint8Array.from(Buffer.concat([signer.signFrame('request', body), body]));
}

/** STATS counters a test compares before and after: what would change if a datagram got through. */
function stateOf(stats: ReturnType<QueueNode['stats']>): unknown {
  const queue = stats.queues.default;
  return { size: queue?.size, puts: queue?.puts, gets: queue?.gets, bytes: queue?.bytes, errors: stats.errors, datagramsOut: stats.datagramsOut };
}

const extra = (stats: unknown): Record<string, unknown> => stats as Record<string, unknown>;

describe('a node that listens beyond loopback', () => {
  it('refuses to start with neither an allowlist nor a key, saying what to give', async () => {
    for (const address of ['0.0.0.0:0', '[::]:0']) {
      await expect(createQueueNode({ address, logger: silentLogger() })).rejects.toMatchObject({
        name: 'MqError',
        code: 'ERR_BAD_OPTION',
        message: expect.stringMatching(/^refusing to listen on (0\.0\.0\.0|\[::\]):0 without access control: give --allow CIDR\[,CIDR\.\.\.\] \(option allow: the sources to answer\) or --auth-key-file FILE \(option auth: a shared key\)$/) as unknown,
      });
    }
  });

  it('starts with a key, and answers signed requests from anywhere', async () => {
    const queue = await node({ address: '0.0.0.0:0', auth: RING });
    const local = await createClient({ address: { host: '127.0.0.1', port: queue.address.port }, auth: RING, timeoutMs: 2_000 });
    cleanups.push(() => local.close());
    expect(await local.put('hello')).toEqual({ bytes: 5, duplicate: false });
  });

  it('starts with an allowlist', async () => {
    const queue = await node({ address: '0.0.0.0:0', allow: '127.0.0.0/8' });
    const raw = await peer();
    expect(text(await raw.exchange({ host: '127.0.0.1', port: queue.address.port }, 'SIZE'))).toBe('0');
  });
});

describe('the allowlist', () => {
  it('drops datagrams from other sources unanswered, counts them, logs them at most once a second', async () => {
    const clock = new ManualClock(START);
    const logger: RecordingLogger = recordingLogger('warn');
    const queue = await node({ allow: ['127.0.0.1/32'], clock, logger });
    const outsider = await peer('127.0.0.2');
    const insider = await peer('127.0.0.1');
    for (let i = 0; i < 5; i++) outsider.send(queue.address, encodeFrames([`PUT:x${i}`, 'STATS']));
    // Sent after the five, answered after them: by then each was handled, and none answered.
    await waitFor(() => queue.stats().datagramsIn === 5, { what: 'the five datagrams' });
    expect(text(await insider.exchange(queue.address, 'SIZE'))).toBe('0');
    expect(outsider.received).toBe(0);
    expect(extra(queue.stats()).deniedDatagrams).toBe(5);
    expect(logger.find({ event: 'datagram denied' })).toHaveLength(1);
    expect(logger.find({ event: 'datagram denied' })[0]?.fields).toMatchObject({ from: expect.stringMatching(/^127\.0\.0\.2:\d+$/) as unknown });
    clock.advance(1_000);
    outsider.send(queue.address, encodeFrames(['SIZE']));
    await waitFor(() => extra(queue.stats()).deniedDatagrams === 6, { what: 'the sixth' });
    expect(logger.find({ event: 'datagram denied' })[1]?.fields).toMatchObject({ suppressed: 4 });
  });

  it('answers every loopback source by default on a loopback address', async () => {
    const queue = await node({});
    const other = await peer('127.0.0.2');
    expect(text(await other.exchange(queue.address, 'SIZE'))).toBe('0');
    expect(extra(queue.stats()).deniedDatagrams).toBe(0);
  });

  it('refuses a malformed allowlist', async () => {
    await expect(createQueueNode({ allow: '10.0.0.0/40', logger: silentLogger() })).rejects.toMatchObject({ code: 'ERR_BAD_OPTION' });
  });
});

describe('a node with a key', () => {
  it('answers only signed requests, signs its replies, and refuses unsigned, forged, wrong-key, stale, early and replayed ones', async () => {
    const clock = new ManualClock(START);
    const early = createAuthenticator(RING, { clock: new ManualClock(START - 1) });
    const earlyDatagram = signed(early, 'PUT:early'); // stamped before the node starts
    const logger = recordingLogger('warn');
    const queue = await node({ auth: RING, clock, logger });
    const sender = createAuthenticator(RING, { clock });
    const stranger = createAuthenticator(parseKeyFile(`k1 ${'77'.repeat(32)}\n`), { clock });
    const unknown = createAuthenticator(parseKeyFile(`k2 ${'5a'.repeat(32)}\n`), { clock });
    const late = createAuthenticator(RING, { clock: new ManualClock(START - 10_001) });
    const raw = await peer();
    const before = stateOf(queue.stats());

    const flipped = signed(sender, 'PUT:flip');
    flipped[flipped.length - 1] = 'q'.charCodeAt(0); // PUT:flip -> PUT:fliq
    const good = signed(sender, '#g1 PUT:good');
    for (const datagram of [
      encodeFrames(['PUT:unsigned']),
      signed(stranger, 'PUT:forged'),
      signed(unknown, 'PUT:unknown-key'),
      flipped,
      signed(late, 'PUT:stale'),
      earlyDatagram,
      good,
      good, // the exact same datagram again: a replay
      signed(sender, '#g2 SIZE'),
    ]) raw.send(queue.address, datagram);

    // Loopback keeps the order: had any refused datagram been answered, its reply would come first.
    const verifier = createAuthenticator(RING, { clock });
    const answers: string[] = [];
    for (let i = 0; i < 2; i++) {
      const verdict = verifier.verify('reply', new Uint8Array(await raw.next()));
      expect(verdict.ok).toBe(true);
      if (verdict.ok) answers.push(...scanFrames(verdict.rest).frames.map((f) => text(f)));
    }
    expect(answers).toEqual(['#g1 PUT 4 bytes', '#g2 SIZE 1']);
    const stats = queue.stats();
    expect(extra(stats).authFailures).toEqual({ unsigned: 1, unknownKey: 1, badMac: 2, stale: 2, replayed: 1, replayCacheFull: 0 });
    expect(stateOf(stats)).toEqual({ ...(before as object), size: 1, puts: 1, bytes: 4, datagramsOut: 2 });
    expect(logger.find({ event: 'datagram not authenticated' })).toHaveLength(1);
    expect(raw.queued).toBe(0);
  });

  it('works with our client, up to the largest message, which is smaller by the AUTH frame', async () => {
    const queue = await node({ auth: RING });
    const signedClient = await client(queue, { auth: RING });
    const largest = MAX_MESSAGE_BYTES - 139;
    expect(await signedClient.put('x'.repeat(largest))).toEqual({ bytes: largest, duplicate: false });
    await expect(signedClient.put('x'.repeat(largest + 1))).rejects.toMatchObject({ code: 'ERR_TOO_LARGE' });
    const [lease] = await signedClient.reserve({ leaseMs: 5_000 });
    expect(lease?.body.length).toBe(largest);
    await signedClient.ack(lease?.token ?? '');
    expect(await signedClient.size()).toBe(0);
    const results = await signedClient.putMany(Array.from({ length: 300 }, (_, i) => `m${i}`.padEnd(400, '.')));
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    expect((await signedClient.getBatch(1000)).length).toBeGreaterThan(0);
    expect(signedClient.authFailures).toEqual({ unsigned: 0, unknownKey: 0, badMac: 0, stale: 0, replayed: 0, replayCacheFull: 0 });
  });

  it('gives a client without the key nothing: its requests time out, and the node counts them', async () => {
    const queue = await node({ auth: RING });
    const plain = await createClient({ address: queue.address, timeoutMs: 50, retries: 1, retryBackoffMs: 0 });
    cleanups.push(() => plain.close());
    await expect(plain.put('x')).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(extra(queue.stats()).authFailures).toMatchObject({ unsigned: 2 });
    expect(queue.stats().queues.default?.size).toBe(0);
  });
});

describe('STATS and message bodies', () => {
  const statsRequest: Request = { verb: 'STATS', id: 's' };

  it('are for a loopback source, or any source of a node with a key', () => {
    const address = { host: '127.0.0.1', port: 0 };
    const open = new UdpServer(address, 65_507, newCounters(), { allow: undefined, keyring: undefined, windowMs: 1_000 });
    const keyed = new UdpServer(address, 65_507, newCounters(), { allow: undefined, keyring: RING, windowMs: 1_000 });
    cleanups.push(() => open.close(), () => keyed.close());
    for (const source of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) expect(open.showsBodiesTo({ address: source }), source).toBe(true);
    for (const source of ['192.0.2.2', '10.0.0.1', 'fd00::2', '::ffff:10.0.0.1']) {
      expect(open.showsBodiesTo({ address: source }), source).toBe(false);
      expect(keyed.showsBodiesTo({ address: source }), source).toBe(true);
    }
  });

  it('shows recent bodies to a loopback source', async () => {
    const queue = await node({});
    const raw = await peer('127.0.0.2');
    await raw.exchange(queue.address, 'PUT:secret');
    const reply = parseReply(await raw.exchange(queue.address, '#s STATS'), statsRequest);
    expect(reply.kind === 'stats' ? reply.stats.recent : undefined).toEqual(['secret']);
  });

  it('shows them to an authenticated source on a node with a key', async () => {
    const queue = await node({ address: '0.0.0.0:0', auth: RING });
    const signedClient = await createClient({ address: { host: '127.0.0.1', port: queue.address.port }, auth: RING });
    cleanups.push(() => signedClient.close());
    await signedClient.put('secret');
    expect((await signedClient.stats()).recent).toEqual(['secret']);
    expect(parseNodeStats(JSON.parse(JSON.stringify(queue.stats()))).recent).toEqual(['secret']);
  });
});
