import { decodeFrame, decodeFrames, encodeFrame, encodeFrames, encodeRequest, parseReply, type Reply, type Request } from '@streampy/codec';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createQueueNode, MAX_MESSAGE_BYTES, type QueueNode } from '../src/index.js';
import { TestPeer, silentLogger, text, waitFor } from './udp.js';

const nodes: QueueNode[] = [];
const peers: TestPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.close();
  for (const node of nodes.splice(0)) await node.close();
});

async function openPeer(): Promise<TestPeer> {
  const peer = await TestPeer.open();
  peers.push(peer);
  return peer;
}

let clientDatagrams = 0;

/** Sends `request` and waits for the reply carrying its id, skipping stray replies. */
async function call(peer: TestPeer, node: QueueNode, request: Request & { id: string }): Promise<Reply> {
  clientDatagrams++;
  peer.send(node.address, encodeFrame(encodeRequest(request)));
  for (let skipped = 0; skipped < 100; skipped++) {
    const payload = decodeFrame(await peer.next(10_000));
    if (text(payload).startsWith(`#${request.id} `)) return parseReply(payload, request);
  }
  throw new Error('too many stray replies');
}

const VALID = ['PUT:hello', 'GET', 'SIZE', 'STATS', 'RESERVE max=3', 'ACK 1.1', 'NACK 5.2 delay=10', 'EXTEND 1.1 lease=5', 'PUT key=abc:x', '#7 GET max=4', 'PUT q=junk1:zz', 'GET q=junk2'];

/** A generator of hostile datagrams: random bytes and every way of breaking a valid frame. */
function hostileDatagram(): fc.Arbitrary<Uint8Array> {
  const valid = fc.constantFrom(...VALID).map((payload) => encodeFrame(payload));
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    valid.chain((frame) => fc.integer({ min: 0, max: frame.length - 1 }).map((cut) => frame.subarray(0, cut))),
    valid.chain((frame) =>
      fc.tuple(fc.integer({ min: 0, max: frame.length - 1 }), fc.integer({ min: 0, max: 255 })).map(([at, byte]) => {
        const copy = Uint8Array.from(frame);
        copy[at] = byte;
        return copy;
      }),
    ),
    fc.constantFrom('ffffffffffffffffPUT:x', '8ffffffffGET', '4ffffPUT:', '1fGET', 'e0000000000000003GET').map((s) => Buffer.from(s)),
    fc.stringMatching(/^[A-Z]{1,12}$/).filter((verb) => !['PUT', 'GET', 'SIZE', 'STATS', 'RESERVE', 'ACK', 'NACK', 'EXTEND'].includes(verb)).map((verb) => encodeFrame(verb)),
    fc.integer({ min: MAX_MESSAGE_BYTES + 1, max: 65_400 }).map((n) => encodeFrame(`PUT:${'o'.repeat(n)}`)),
    fc.uint8Array({ minLength: 1, maxLength: 40 }).map((body) => encodeFrame(Buffer.concat([Buffer.from('PUT:'), body]))),
    fc.array(valid, { minLength: 2, maxLength: 6 }).chain((frames) =>
      fc.uint8Array({ maxLength: 10 }).map((junk) => Buffer.concat([...frames, junk])),
    ),
    fc.array(fc.constantFrom(...VALID), { minLength: 2, maxLength: 8 }).map((payloads) => encodeFrames(payloads)),
  );
}

describe('flood', () => {
  it('stays up, answers a real client correctly and loses nothing under 10,000+ hostile datagrams', async () => {
    const node = await createQueueNode({ logger: silentLogger() });
    nodes.push(node);
    clientDatagrams = 0;
    const client = await openPeer();
    const attacker = await openPeer();
    // The client's queue exists before the flood, so hostile queue names cannot use up the slots.
    expect((await call(client, node, { id: 'init', verb: 'SIZE', queue: 'client' })).kind).toBe('size');

    const hostile = fc.sample(hostileDatagram(), { numRuns: 12_000, seed: 42 });
    let sent = 0;
    const flood = (async () => {
      for (const datagram of hostile) {
        attacker.send(node.address, datagram);
        sent++;
        // Paced in bursts, so the kernel's socket buffers (not the node) never drop anything.
        if (sent % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();

    const accepted: string[] = [];
    const received: string[] = [];
    let step = 0;
    while (sent < hostile.length || step < 300) {
      step++;
      const body = `msg-${step}-é`;
      const put = await call(client, node, { id: `p${step}`, verb: 'PUT', key: `k${step}`, queue: 'client', body: Buffer.from(body) });
      expect(put).toEqual({ id: `p${step}`, kind: 'put', bytes: Buffer.byteLength(body), duplicate: false });
      accepted.push(body);
      if (step % 3 === 0) {
        const got = await call(client, node, { id: `g${step}`, verb: 'GET', queue: 'client' });
        expect(got.kind).toBe('message');
        if (got.kind === 'message') received.push(text(got.body));
      }
      if (step > 100_000) throw new Error('flood never finished');
    }
    await flood;
    for (let drained = 0; drained <= accepted.length; drained++) {
      const got = await call(client, node, { id: `d${drained}`, verb: 'GET', queue: 'client' });
      if (got.kind === 'empty') break;
      if (got.kind === 'message') received.push(text(got.body));
    }
    // Every accepted put came back exactly once, in order.
    expect(received).toEqual(accepted);

    const expectedIn = hostile.length + clientDatagrams;
    await waitFor(() => node.stats().datagramsIn >= expectedIn, { timeoutMs: 20_000, what: 'every hostile datagram counted' });
    const stats = node.stats();
    expect(stats.datagramsIn).toBe(expectedIn);
    expect(stats.badFrames).toBeGreaterThan(1_000);
    expect(stats.unknownVerbs).toBeGreaterThan(100);
    expect(stats.errors).toBeGreaterThan(stats.badFrames);
    expect(stats.queues.client).toMatchObject({ size: 0, puts: accepted.length, gets: accepted.length, duplicates: 0 });
    expect(text(await client.exchange(node.address, 'SIZE q=client'))).toBe('SIZE 0');
  });

  it('keeps a bounded node within its bounds under a put flood, refuses with FULL and loses nothing accepted', async () => {
    const maxMessages = 40;
    const maxBytes = 1_500;
    const node = await createQueueNode({ logger: silentLogger(), maxMessages, maxBytes });
    nodes.push(node);
    const producers = await Promise.all([openPeer(), openPeer(), openPeer()]);
    const consumer = await openPeer();
    const accepted = new Set<string>();
    let refused = 0;
    let boundsHeld = true;
    const checkBounds = (): void => {
      const q = node.stats().queues.default;
      if (q && (q.bytes > maxBytes || q.size + q.leased + q.delayed > maxMessages)) boundsHeld = false;
    };

    const produce = async (peer: TestPeer, p: number): Promise<void> => {
      for (let i = 0; i < 400; i++) {
        const body = `p${p}-${i}-${'x'.repeat(i % 60)}`;
        // Several puts per datagram: the node answers each one, in order.
        const requests = [0, 1, 2, 3].map((j) => ({ id: `p${p}i${i}j${j}`, verb: 'PUT' as const, key: `p${p}i${i}j${j}`, body: Buffer.from(`${body}-${j}`) }));
        peer.send(node.address, encodeFrames(requests.map(encodeRequest)));
        const frames: Uint8Array[] = [];
        while (frames.length < requests.length) frames.push(...decodeFrames(await peer.next(10_000)));
        frames.forEach((frame, j) => {
          const reply = parseReply(frame, requests[j] as Request);
          if (reply.kind === 'put') accepted.add(text((requests[j] as { body: Uint8Array }).body));
          else if (reply.kind === 'error' && reply.code === 'FULL') refused++;
          else throw new Error(`unexpected reply ${text(frame)}`);
        });
        checkBounds();
      }
    };

    const received: string[] = [];
    let producing = true;
    const consume = async (): Promise<void> => {
      for (let i = 0; producing && i < 100_000; i++) {
        const reply = await call(consumer, node, { id: `c${i}`, verb: 'GET', max: 3 });
        if (reply.kind === 'messages') received.push(...reply.bodies.map(text));
        checkBounds();
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    const consumer$ = consume();
    await Promise.all(producers.map(produce));
    producing = false;
    await consumer$;
    for (let i = 0; i < 1_000; i++) {
      const reply = await call(consumer, node, { id: `drain${i}`, verb: 'GET', max: 50 });
      if (reply.kind !== 'messages' || reply.bodies.length === 0) break;
      received.push(...reply.bodies.map(text));
    }

    expect(boundsHeld).toBe(true);
    expect(refused).toBeGreaterThan(0);
    expect(node.stats().queues.default?.rejectedFull).toBe(refused);
    expect(received).toHaveLength(accepted.size);
    expect(new Set(received)).toEqual(accepted);
  });
});
