import { readFileSync } from 'node:fs';
import { decodeFrames, encodeFrame, encodeFrames, parseReply, WIRE_ERROR_CODES } from '@streampy/codec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createQueueNode, MAX_MESSAGE_BYTES, type QueueNode } from '../src/index.js';
import { TestPeer, silentLogger, text } from './udp.js';

interface Scenario {
  readonly name: string;
  readonly steps: readonly { readonly send: string; readonly reply: string }[];
}

const vectors = JSON.parse(readFileSync(new URL('../../../../shared/vectors/commands.json', import.meta.url), 'utf8')) as {
  scenarios: Scenario[];
};

let node: QueueNode;
let peer: TestPeer;

beforeEach(async () => {
  node = await createQueueNode({ logger: silentLogger() });
  peer = await TestPeer.open();
});

afterEach(async () => {
  await peer.close();
  await node.close();
});

describe('seed vectors over UDP (fresh node per scenario)', () => {
  it('has scenarios to run', () => {
    expect(vectors.scenarios.length).toBeGreaterThanOrEqual(5);
  });

  for (const scenario of vectors.scenarios) {
    it(scenario.name, async () => {
      for (const step of scenario.steps) {
        const datagram = encodeFrame(step.send);
        peer.send(node.address, datagram);
        const reply = await peer.next();
        // Byte for byte: exactly one frame, exactly the seed reply.
        expect(reply.toString('utf8')).toBe(Buffer.from(encodeFrame(step.reply)).toString('utf8'));
      }
    });
  }
});

describe('exact bytes on the wire', () => {
  it('answers 18PUT:ping with b PUT 4 bytes, and GET with 14ping', async () => {
    peer.send(node.address, '18PUT:ping');
    expect((await peer.next()).toString()).toBe('bPUT 4 bytes'.replace(/^/, '1'));
    peer.send(node.address, '13GET');
    expect((await peer.next()).toString()).toBe('14ping');
    peer.send(node.address, '13GET');
    expect((await peer.next()).toString()).toBe('10');
  });

  it('accepts the decoder leniencies of the seed: uppercase hex and leading zeros', async () => {
    peer.send(node.address, '1APUT:xxxxxx');
    expect((await peer.next()).toString()).toBe('1bPUT 6 bytes');
    peer.send(node.address, '203GET');
    expect((await peer.next()).toString()).toBe('16xxxxxx');
  });
});

describe('typed replies', () => {
  it('answers a request with an id with prefixed typed replies', async () => {
    expect(text(await peer.exchange(node.address, '#a1 PUT:hello'))).toBe('#a1 PUT 5 bytes');
    expect(text(await peer.exchange(node.address, '#a2 SIZE'))).toBe('#a2 SIZE 1');
    expect(text(await peer.exchange(node.address, '#a3 GET'))).toBe('#a3 MSG:hello');
    expect(text(await peer.exchange(node.address, '#a4 GET'))).toBe('#a4 EMPTY');
    expect(text(await peer.exchange(node.address, 'GET max=5'))).toBe('MSGS 0:');
  });

  it('returns batches with GET max=N as MSGS frames', async () => {
    for (const body of ['a', 'bb', 'ccc']) await peer.exchange(node.address, `PUT:${body}`);
    const reply = parseReply(await peer.exchange(node.address, '#g GET max=2'), { id: 'g', verb: 'GET', max: 2 });
    expect(reply.kind === 'messages' && reply.bodies.map(text)).toEqual(['a', 'bb']);
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('1');
  });
});

describe('errors', () => {
  it('answers an unknown verb with ERR UNKNOWN_VERB and changes nothing', async () => {
    expect(text(await peer.exchange(node.address, 'FETCH'))).toMatch(/^ERR UNKNOWN_VERB /);
    expect(text(await peer.exchange(node.address, 'get'))).toMatch(/^ERR UNKNOWN_VERB /);
    expect(text(await peer.exchange(node.address, '#x9 FETCH'))).toMatch(/^#x9 ERR UNKNOWN_VERB /);
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('0');
    expect(node.stats().unknownVerbs).toBe(3);
  });

  it('answers malformed frames with one unprefixed ERR BAD_FRAME', async () => {
    const bad = ['', 'zz', '0', '18PUT', '14GET', '2', 'f' + 'f'.repeat(15), '5fffffGET', 'g3GET'];
    for (const datagram of bad) {
      peer.send(node.address, datagram);
      const frames = decodeFrames(await peer.next());
      expect(frames).toHaveLength(1);
      expect(text(frames[0] as Uint8Array)).toMatch(/^ERR BAD_FRAME /);
    }
    expect(node.stats().badFrames).toBe(bad.length);
    expect(node.stats().errors).toBe(bad.length);
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('0');
  });

  it('answers a payload that is not UTF-8 with ERR BAD_FRAME and stores nothing', async () => {
    const payload = Buffer.concat([Buffer.from('PUT:'), Buffer.from([0xff, 0xfe, 0x41])]);
    expect(text(await peer.exchange(node.address, payload))).toMatch(/^ERR BAD_FRAME .*UTF-8/);
    expect(text(await peer.exchange(node.address, Buffer.from([0x23, 0x71, 0x20, 0x50, 0x55, 0x54, 0x3a, 0xc3])))).toMatch(/^#q ERR BAD_FRAME/);
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('0');
  });

  it('refuses a message over MAX_MESSAGE_BYTES with ERR TOO_LARGE, and keeps one at the limit', async () => {
    expect(MAX_MESSAGE_BYTES).toBeGreaterThan(65_000);
    expect(MAX_MESSAGE_BYTES).toBeLessThan(65_507);
    const over = `PUT:${'x'.repeat(MAX_MESSAGE_BYTES + 1)}`;
    expect(text(await peer.exchange(node.address, over))).toMatch(/^ERR TOO_LARGE /);
    const at = 'y'.repeat(MAX_MESSAGE_BYTES);
    expect(text(await peer.exchange(node.address, `PUT:${at}`))).toBe(`PUT ${MAX_MESSAGE_BYTES} bytes`);
    // The widest reply carrying it still fits one datagram.
    const id = 'i'.repeat(40);
    const reply = parseReply(await peer.exchange(node.address, `#${id} RESERVE`), { id, verb: 'RESERVE' });
    expect(reply.kind === 'leased' && reply.deliveries[0] !== undefined && reply.deliveries[0].body.length).toBe(MAX_MESSAGE_BYTES);
  });

  it('answers bad arguments with ERR BAD_REQUEST, prefixed when the id is readable', async () => {
    expect(text(await peer.exchange(node.address, '#r1 RESERVE max=0'))).toMatch(/^#r1 ERR BAD_REQUEST /);
    expect(text(await peer.exchange(node.address, 'GET q=..'))).toMatch(/^ERR BAD_REQUEST /);
    expect(text(await peer.exchange(node.address, 'ACK'))).toMatch(/^ERR BAD_REQUEST /);
    expect(text(await peer.exchange(node.address, '#r2 ACK 1.1'))).toMatch(/^#r2 ERR UNKNOWN_LEASE /);
  });

  it('uses only codes from the shared table', async () => {
    const replies = await Promise.all([peer.exchange(node.address, 'NOPE')]);
    for (const reply of replies) {
      const code = /^ERR ([A-Z_]+) /.exec(text(reply))?.[1] ?? '';
      expect(Object.keys(WIRE_ERROR_CODES)).toContain(code);
    }
  });
});

describe('several frames per datagram', () => {
  it('answers every frame in order in one datagram', async () => {
    const { frames, datagrams } = await peer.exchangeBatch(node.address, ['PUT:a', '#2 PUT:b', 'SIZE', 'GET', '#5 GET', 'GET']);
    expect(frames.map(text)).toEqual(['PUT 1 bytes', '#2 PUT 1 bytes', '2', 'a', '#5 MSG:b', '']);
    expect(datagrams).toBe(1);
  });

  it('answers the good frames before a bad one, then one ERR BAD_FRAME', async () => {
    const datagram = Buffer.concat([Buffer.from(encodeFrames(['PUT:a', 'SIZE'])), Buffer.from('zzPUT:lost'), Buffer.from(encodeFrame('PUT:b'))]);
    peer.send(node.address, datagram);
    const frames = decodeFrames(await peer.next());
    expect(frames.map(text).slice(0, 2)).toEqual(['PUT 1 bytes', '1']);
    expect(frames).toHaveLength(3);
    expect(text(frames[2] as Uint8Array)).toMatch(/^ERR BAD_FRAME /);
    // Replies come in order: had anything more been sent for that datagram, it would be read here instead.
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('1');
  });

  it('splits replies over several datagrams when they do not fit one', async () => {
    for (const size of [40_000, 30_000, 30_000, 40_000]) {
      expect(text(await peer.exchange(node.address, `PUT:${'z'.repeat(size)}`))).toBe(`PUT ${size} bytes`);
    }
    const { frames, datagrams } = await peer.exchangeBatch(node.address, ['GET', 'GET', 'GET', 'GET']);
    expect(frames.map((f) => f.length)).toEqual([40_000, 30_000, 30_000, 40_000]);
    // 40k alone, then 30k + 30k together, then 40k: as few datagrams as fit.
    expect(datagrams).toBe(3);
  });
});
