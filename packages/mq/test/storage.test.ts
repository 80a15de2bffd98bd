import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame, encodeFrame } from '@streampy/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogEngine, createQueueNode, type QueueNode, type RecoveredState, type StorageEngine, type StoredMessage } from '../src/index.js';
import { TestPeer, silentLogger, text, waitFor } from './udp.js';

/** A fake engine over a shared in-memory "disk", recording what the node asks of it. */
class FakeDisk {
  readonly queues = new Map<string, { messages: Map<number, StoredMessage>; keys: Map<string, number>; nextSeq: number }>();
  flushes = 0;
  /** While set, flush() waits for it: lets a test see that PUT replies wait for durability. */
  gate: Promise<void> | undefined;
  failFlush = false;

  factory = (name: string): StorageEngine => {
    const gate = (): Promise<void> | undefined => this.gate;
    const failing = (): boolean => this.failFlush;
    const countFlush = (): void => void this.flushes++;
    const state = this.queues.get(name) ?? { messages: new Map<number, StoredMessage>(), keys: new Map<string, number>(), nextSeq: 1 };
    this.queues.set(name, state);
    return {
      kind: 'fake',
      syncBeforeAck: true,
      open: (): Promise<RecoveredState> =>
        Promise.resolve({ messages: [...state.messages.values()].sort((a, b) => a.seq - b.seq), nextSeq: state.nextSeq, keys: new Map(state.keys) }),
      append(message) {
        state.messages.set(message.seq, { ...message, body: Uint8Array.from(message.body) });
        if (message.key !== undefined) state.keys.set(message.key, message.enqueuedAt);
        state.nextSeq = Math.max(state.nextSeq, message.seq + 1);
      },
      remove(seq) {
        state.messages.delete(seq);
      },
      async flush() {
        countFlush();
        await gate();
        if (failing()) throw new Error('disk on fire');
      },
      close: () => Promise.resolve(),
    };
  };
}

const nodes: QueueNode[] = [];
const peers: TestPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) await peer.close();
  for (const node of nodes.splice(0)) await node.close();
});

async function open(options: Parameters<typeof createQueueNode>[0]): Promise<{ node: QueueNode; peer: TestPeer }> {
  const node = await createQueueNode({ logger: silentLogger(), ...options });
  const peer = await TestPeer.open();
  nodes.push(node);
  peers.push(peer);
  return { node, peer };
}

describe('storage engines', () => {
  it('restores messages, message ids and dedup keys after a restart; leases are not persisted', async () => {
    const disk = new FakeDisk();
    const first = await open({ engine: disk.factory });
    await first.peer.exchange(first.node.address, 'PUT:a');
    await first.peer.exchange(first.node.address, 'PUT key=k:b');
    await first.peer.exchange(first.node.address, 'PUT q=jobs:c');
    expect(text(await first.peer.exchange(first.node.address, 'GET'))).toBe('a');
    const leased = await first.peer.call(first.node.address, { verb: 'RESERVE' });
    const token = leased.kind === 'leased' ? (leased.deliveries[0]?.token ?? '') : '';
    expect(await first.node.close()).toEqual({ size: 2 });

    const second = await open({ engine: disk.factory });
    const { node, peer } = second;
    // b was leased, never acked: live again after the restart (at-least-once).
    expect(text(await peer.exchange(node.address, 'SIZE'))).toBe('1');
    expect(text(await peer.exchange(node.address, 'PUT key=k:b'))).toBe('PUT 1 bytes DUP');
    const again = await peer.call(node.address, { verb: 'RESERVE' });
    expect(again.kind === 'leased' && again.deliveries[0]?.token.split('.')[0]).toBe(token.split('.')[0]);
    expect(text(await peer.exchange(node.address, 'GET q=jobs'))).toBe('MSG:c');
    expect(text(await peer.exchange(node.address, 'PUT:d'))).toBe('PUT 1 bytes');
    const seqs = [...(disk.queues.get('default')?.messages.keys() ?? [])];
    expect(seqs).toHaveLength(2);
    expect(new Set(seqs).size).toBe(2);
  });

  it('sends PUT replies only after flush() when the engine syncs before acknowledging', async () => {
    const disk = new FakeDisk();
    const { node, peer } = await open({ engine: disk.factory });
    let release = (): void => {};
    disk.gate = new Promise((resolve) => (release = resolve));
    peer.send(node.address, encodeFrame('#1 PUT:held'));
    // flush() is called once the put is applied: the reply, were it not held, would be on its way.
    await waitFor(() => disk.flushes > 0, { what: 'the flush of the put' });
    peer.send(node.address, encodeFrame('#2 SIZE'));
    // The node answers later datagrams meanwhile, so the SIZE reply overtakes the held PUT reply.
    expect(text(decodeFrame(await peer.next()))).toMatch(/^#2 /);
    release();
    expect(text(decodeFrame(await peer.next()))).toBe('#1 PUT 4 bytes');
  });

  it('answers ERR INTERNAL when flush fails', async () => {
    const disk = new FakeDisk();
    const { node, peer } = await open({ engine: disk.factory });
    disk.failFlush = true;
    expect(text(await peer.exchange(node.address, '#f PUT:x'))).toMatch(/^#f ERR INTERNAL /);
  });

  it('a keyed put retried after its segment was deleted, and again after a restart, is stored once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'streampy-node-log-'));
    try {
      const engine = (name: string): StorageEngine => createLogEngine({ dir: join(dir, name), fsync: 'always', segmentBytes: 2048, logger: silentLogger() });
      const first = await open({ engine });
      expect(text(await first.peer.exchange(first.node.address, 'PUT key=order-7:first'))).toBe('PUT 5 bytes');
      expect(text(await first.peer.exchange(first.node.address, 'GET'))).toBe('first');
      for (let i = 0; i < 150; i++) {
        await first.peer.exchange(first.node.address, `PUT:filler-${i}-${'x'.repeat(40)}`);
        await first.peer.exchange(first.node.address, 'GET');
      }
      // The segment that held the keyed put (and its removal) is gone.
      expect(await readdir(join(dir, 'default'))).not.toContain('0000000000000001.seg');
      expect(text(await first.peer.exchange(first.node.address, 'PUT key=order-7:first'))).toBe('PUT 5 bytes DUP');
      await first.node.close();
      const second = await open({ engine });
      expect(text(await second.peer.exchange(second.node.address, 'PUT key=order-7:first'))).toBe('PUT 5 bytes DUP');
      expect(text(await second.peer.exchange(second.node.address, 'SIZE'))).toBe('0');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
