import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, encodeReply, isStreampyError, parseRequest, scanFrames } from '@streampy/codec';
import { parseKeyFile } from '@streampy/runtime';
import { ManualClock, launch, waitFor } from '@streampy/testing';
import { createClient, createClientOver } from '../src/client.js';
import { fakeQueue, startFakeNode, type FakeNode } from './fake-node.js';
import { MemoryTransport } from './memory-transport.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = `${REPO}packages/client/dist/cli.js`;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

function bindUdp(port = 0): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/** A loopback port the OS just handed out and nothing listens on any more. */
async function closedPort(): Promise<number> {
  const socket = await bindUdp();
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function fakeNode(): Promise<FakeNode> {
  const node = await startFakeNode(fakeQueue());
  cleanup.push(() => node.close());
  return node;
}

/** Runs the built CLI; each attempt may wait 10 minutes, so a run that ends at all did not wait for a timeout. */
function cli(...args: string[]) {
  return launch(process.execPath, [CLI, '--timeout', '600000', ...args], { cwd: REPO, deadlineMs: 60_000 }).finished;
}

describe('a node the operating system reports unreachable (real UDP sockets)', () => {
  it('rejects with ERR_UNREACHABLE after its retries, before any timeout could pass', async () => {
    const port = await closedPort();
    const clock = new ManualClock();
    const client = await createClient({ address: `127.0.0.1:${port}`, clock, timeoutMs: 60_000, retries: 2, retryBackoffMs: 0 });
    cleanup.push(() => client.close());
    const error = await client.size().catch((e: unknown) => e);
    expect(isStreampyError(error, 'ERR_UNREACHABLE')).toBe(true);
    expect(error).toMatchObject({ name: 'UnreachableError', attempts: 3, address: { host: '127.0.0.1', port } });
    expect((error as Error).message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} is unreachable: the operating system reported ECONNREFUSED for SIZE after 3 attempts`));
    // The manual clock never moved: no attempt waited for its deadline.
    expect(clock.now()).toBe(0);
  });

  it('does so with authentication too: the signing transport passes the report on', async () => {
    const port = await closedPort();
    const clock = new ManualClock(Date.now());
    const auth = parseKeyFile(`k1 ${'a1'.repeat(32)}\n`);
    const client = await createClient({ address: `127.0.0.1:${port}`, clock, auth, timeoutMs: 60_000, retries: 1, retryBackoffMs: 0 });
    cleanup.push(() => client.close());
    await expect(client.put('x')).rejects.toMatchObject({ code: 'ERR_UNREACHABLE', attempts: 2 });
  });

  it('lets its retry policy decide: a node that comes up during the backoff answers the next attempt', async () => {
    const port = await closedPort();
    const clock = new ManualClock();
    const client = await createClient({ address: `127.0.0.1:${port}`, clock, timeoutMs: 60_000, retries: 3, retryBackoffMs: 100 });
    cleanup.push(() => client.close());
    const size = client.size();
    // The first attempt's unreachable schedules the retry's backoff beside the attempt's deadline timer.
    await waitFor(() => clock.pending === 2, { what: 'the backoff timer after the unreachable report' });
    // The node starts on that port, answering every SIZE with 7.
    const node = await bindUdp(port);
    cleanup.push(() => new Promise((resolve) => node.close(() => resolve())));
    let received = 0;
    node.on('message', (datagram, from) => {
      received++;
      const [payload] = scanFrames(datagram).frames;
      const id = payload === undefined ? undefined : parseRequest(payload).id;
      node.send(encodeFrame(encodeReply({ ...(id === undefined ? {} : { id }), kind: 'size', size: 7 })), from.port, from.address);
    });
    clock.advance(100);
    expect(await size).toBe(7);
    expect(received).toBe(1);
  });

  it('streampy-client prints one line and exits 1 at once; --json gives the code', async () => {
    const port = await closedPort();
    const plain = await cli(`127.0.0.1:${port}`, 'SIZE');
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toBe(`streampy-client: 127.0.0.1:${port} is unreachable: the operating system reported ECONNREFUSED for SIZE after 3 attempts (is a queue node running there?)\n`);
    const json = await cli('--json', `127.0.0.1:${port}`, 'GET');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ sent: 'GET', reply: null, error: { code: 'ERR_UNREACHABLE' } });
  });
});

describe('a datagram the operating system refuses as too large (real UDP sockets)', () => {
  it('streampy-client reports ERR_DATAGRAM_TOO_LARGE once, without retrying, and nothing reaches the node', async () => {
    const node = await fakeNode();
    // 70,000 bytes: over the IPv4 UDP maximum, so Linux refuses it too (EMSGSIZE), as macOS does past 9,216.
    const result = await cli('--json', `127.0.0.1:${node.address.port}`, `PUT:${'x'.repeat(70_000)}`);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ reply: null, error: { code: 'ERR_DATAGRAM_TOO_LARGE' } });
    expect(result.stderr).toMatch(/^streampy-client: the operating system refused to send a 70010-byte datagram to 127\.0\.0\.1:\d+ for PUT \(EMSGSIZE\): .*macOS only 9216.*\n$/);
    // A small request afterwards is answered by the same node: it was the size, not the node.
    expect(await cli(`127.0.0.1:${node.address.port}`, 'SIZE')).toMatchObject({ code: 0, stdout: '0\n' });
    expect(node.received).toEqual([['SIZE']]);
  });
});

describe('faults reported by the transport (in memory)', () => {
  it('a refused datagram of several frames is split (the datagram size halves for good); a frame refused alone fails, never retried', async () => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock, timeoutMs: 50, retries: 3, maxDatagramBytes: 200 });
    // A frame of about 115 bytes and three of about 55: datagrams of at most 200 bytes carry
    // the put and b, then c and d.
    const put = client.put('a'.repeat(100)).catch((e: unknown) => e);
    const many = client.putMany(['b'.repeat(40), 'c'.repeat(40), 'd'.repeat(40)]);
    await turn();
    expect(transport.sent).toHaveLength(2);
    const refusedBytes = (transport.sent[0] as Uint8Array).length;
    expect(transport.frames(0)).toHaveLength(2);
    transport.fault('too-large', 0);
    await turn();
    // Sent again at half the refused size: one frame each.
    expect(transport.sent).toHaveLength(4);
    expect(transport.frames(2)).toEqual([transport.frames(0)[0]]);
    expect(transport.frames(3)).toEqual([transport.frames(0)[1]]);
    transport.fault('too-large', 2);
    expect(await put).toMatchObject({ code: 'ERR_DATAGRAM_TOO_LARGE', name: 'DatagramTooLargeError', bytes: (transport.sent[2] as Uint8Array).length });
    transport.answerPuts(1);
    transport.answerPuts(3);
    const results = await many;
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason.code))).toEqual(['ok', 'ok', 'ok']);
    // The refused put is never sent again, and the next turn packs at the lowered size.
    clock.advance(10_000);
    const later = client.putMany(['e'.repeat(40), 'f'.repeat(40)]);
    await turn();
    expect(transport.sent).toHaveLength(6);
    expect(transport.sent.slice(4).every((data) => (data as Uint8Array).length <= refusedBytes / 2)).toBe(true);
    transport.answerPuts(4);
    transport.answerPuts(5);
    expect((await later).every((r) => r.status === 'fulfilled')).toBe(true);
    await client.close();
  });

  it('an unreachable ends every attempt on the wire at once; the answered frames of a group keep their result', async () => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock, timeoutMs: 50, retries: 1, retryBackoffMs: 0 });
    const many = client.putMany(['a', 'b', 'c']);
    const size = client.size().catch((e: unknown) => e);
    await turn();
    expect(transport.sent).toHaveLength(1);
    transport.answerPuts(0, (position) => position === 0);
    transport.fault('unreachable');
    // The retry (backoff 0) resends the unanswered frames at once, in the next turn's datagram.
    await turn();
    expect(transport.sent).toHaveLength(2);
    expect(transport.frames(1).map((payload) => payload.replace(/^#\S+ /, ''))).toEqual(['PUT:b', 'PUT:c', 'SIZE']);
    transport.fault('unreachable');
    const results = await many;
    expect(results.map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason.code))).toEqual(['ok', 'ERR_UNREACHABLE', 'ERR_UNREACHABLE']);
    expect(await size).toMatchObject({ code: 'ERR_UNREACHABLE', attempts: 2 });
    expect(clock.now()).toBe(0);
    await client.close();
  });

  it('an unreachable first attempt followed by silence is a timeout that says so', async () => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock, timeoutMs: 50, retries: 1, retryBackoffMs: 0 });
    const size = client.size().catch((e: unknown) => e);
    await turn();
    transport.fault('unreachable');
    await turn();
    expect(transport.sent).toHaveLength(2);
    clock.advance(50);
    const error = await size;
    expect(error).toMatchObject({ code: 'ERR_TIMEOUT', attempts: 2 });
    expect((error as Error).message).toContain('1 of them reported unreachable by the operating system');
    await client.close();
  });

  it('a request waiting out its backoff is not ended by a later report', async () => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock, timeoutMs: 50, retries: 1, retryBackoffMs: 1000 });
    const size = client.size();
    await turn();
    transport.fault('unreachable');
    transport.fault('unreachable'); // the same ICMP seen twice, or a stale one: the request is not on the wire
    clock.advance(1000);
    await turn();
    expect(transport.sent).toHaveLength(2);
    transport.answerSizes(1, 4);
    expect(await size).toBe(4);
    await client.close();
  });
});
