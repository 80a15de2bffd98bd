import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '@streampy/runtime';
import { createFaultDecider, createFaultProxy, type DirectionStats, type FaultProxy, type FaultProxyOptions } from '../src/index.js';
import { waitFor } from '@streampy/testing';
import { openEcho, openPeer, portIsFree, type Peer } from './udp.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function peer(kind: 'echo' | 'plain' = 'plain'): Promise<Peer> {
  const opened = kind === 'echo' ? await openEcho() : await openPeer();
  cleanups.push(() => opened.close());
  return opened;
}

async function proxyTo(target: Peer, options: Omit<FaultProxyOptions, 'target'> = {}): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: target.address, ...options });
  cleanups.push(() => proxy.close());
  return proxy;
}

function balanced(stats: DirectionStats): boolean {
  return stats.received + stats.duplicated === stats.forwarded + stats.dropped + stats.pending + stats.discarded;
}

const texts = (peer: Peer): string[] => peer.received.map((r) => r.data.toString());

describe('createFaultProxy', () => {
  it('forwards both ways and routes replies back to the sender', async () => {
    const echo = await peer('echo');
    const client = await peer();
    const proxy = await proxyTo(echo);
    expect(proxy.address.port).not.toBe(echo.address.port);
    client.send('hello', proxy.address);
    await waitFor(() => client.received.length === 1, { what: 'the echo' });
    expect(texts(client)).toEqual(['echo:hello']);
    expect(client.received[0]?.from.port).toBe(proxy.address.port);
    const stats = proxy.stats();
    expect(stats.toTarget).toMatchObject({ received: 1, forwarded: 1, dropped: 0 });
    expect(stats.toClient).toMatchObject({ received: 1, forwarded: 1, dropped: 0 });
  });

  it('keeps one upstream socket per client, so each gets only its own replies', async () => {
    const echo = await peer('echo');
    const [a, b] = [await peer(), await peer()];
    const proxy = await proxyTo(echo);
    for (let i = 0; i < 5; i++) {
      a.send(`a${i}`, proxy.address);
      b.send(`b${i}`, proxy.address);
    }
    await waitFor(() => a.received.length === 5 && b.received.length === 5, { what: 'both echoes' });
    expect(texts(a).sort()).toEqual(['echo:a0', 'echo:a1', 'echo:a2', 'echo:a3', 'echo:a4']);
    expect(texts(b).sort()).toEqual(['echo:b0', 'echo:b1', 'echo:b2', 'echo:b3', 'echo:b4']);
    const upstreamPorts = new Set(echo.received.map((r) => r.from.port));
    expect(upstreamPorts.size).toBe(2);
    expect(upstreamPorts.has(a.address.port) || upstreamPorts.has(b.address.port)).toBe(false);
    expect(proxy.stats()).toMatchObject({ sessions: 2, sessionsOpened: 2 });
  });

  it('bounds the session table, closing the least recently active session', async () => {
    const echo = await peer('echo');
    const [a, b] = [await peer(), await peer()];
    const proxy = await proxyTo(echo, { maxSessions: 1 });
    a.send('a', proxy.address);
    await waitFor(() => a.received.length === 1, { what: 'a echo' });
    b.send('b', proxy.address);
    await waitFor(() => b.received.length === 1, { what: 'b echo' });
    expect(proxy.stats()).toMatchObject({ sessions: 1, sessionsOpened: 2, sessionsClosed: 1 });
    a.send('a again', proxy.address);
    await waitFor(() => a.received.length === 2, { what: 'a echo again' });
    // a's session was closed to make room for b's, so a comes back through a new upstream socket.
    expect(echo.received[2]?.from.port).not.toBe(echo.received[0]?.from.port);
    expect(proxy.stats()).toMatchObject({ sessions: 1, sessionsOpened: 3, sessionsClosed: 2 });
  });

  it('closes idle sessions', async () => {
    const echo = await peer('echo');
    const client = await peer();
    const proxy = await proxyTo(echo, { sessionIdleMs: 100 });
    client.send('x', proxy.address);
    await waitFor(() => client.received.length === 1, { what: 'the echo' });
    await waitFor(() => proxy.stats().sessions === 0, { what: 'idle expiry' });
    expect(proxy.stats()).toMatchObject({ sessionsOpened: 1, sessionsClosed: 1 });
  });

  it('makes the same fault decisions for the same seed', () => {
    const spec = { drop: 0.2, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayMs: [0, 5] as const };
    const run = (seed: number) => {
      const decide = createFaultDecider(spec, seededRandom(seed));
      return Array.from({ length: 2000 }, (_, i) => decide(10 + (i % 7)));
    };
    const first = run(42);
    expect(run(42)).toEqual(first);
    expect(run(43)).not.toEqual(first);
    const drops = first.filter((d) => d.drop).length;
    expect(drops).toBeGreaterThan(300);
    expect(drops).toBeLessThan(500);
    expect(first.every((d) => d.delayMs >= 0 && d.delayMs <= 5 && d.corruptMask >= 1 && d.corruptMask <= 255)).toBe(true);
  });

  it('applies the same faults to the same traffic through proxies with the same seed', async () => {
    const arrivals = async (seed: number): Promise<string[]> => {
      const sink = await peer();
      const client = await peer();
      const proxy = await proxyTo(sink, { seed, toTarget: { drop: 0.3, duplicate: 0.2, corrupt: 0.2 } });
      for (let i = 0; i < 200; i++) client.send(`message-${i}`, proxy.address);
      await waitFor(() => proxy.stats().toTarget.received === 200, { what: 'all 200 decided' });
      const { forwarded } = proxy.stats().toTarget;
      await waitFor(() => sink.received.length === forwarded, { what: 'all forwarded arrive' });
      return texts(sink);
    };
    const first = await arrivals(7);
    expect(first.length).toBeGreaterThan(100);
    expect(await arrivals(7)).toEqual(first);
    expect(await arrivals(8)).not.toEqual(first);
  });

  it('keeps its counts consistent under every fault at once, in both directions', async () => {
    const echo = await peer('echo');
    const client = await peer();
    const faults = { drop: 0.2, duplicate: 0.1, reorder: 0.1, delayMs: [0, 3] as [number, number], corrupt: 0.05 };
    const proxy = await proxyTo(echo, { seed: 1, toTarget: faults, toClient: faults });
    for (let i = 0; i < 300; i++) client.send(`m${i}`, proxy.address);
    await waitFor(() => {
      const s = proxy.stats();
      return s.toTarget.received === 300 && s.toTarget.pending === 0 && s.toClient.received === echo.received.length && s.toClient.pending === 0 && client.received.length === s.toClient.forwarded;
    }, { what: 'quiescence' });
    const { toTarget, toClient } = proxy.stats();
    expect(balanced(toTarget) && balanced(toClient)).toBe(true);
    expect(echo.received.length).toBe(toTarget.forwarded);
    for (const stats of [toTarget, toClient]) {
      expect(stats.dropped).toBeGreaterThan(0);
      expect(stats.duplicated).toBeGreaterThan(0);
      expect(stats.reordered).toBeGreaterThan(0);
      expect(stats.delayed).toBeGreaterThan(0);
      expect(stats.corrupted).toBeGreaterThan(0);
      expect(stats.discarded).toBe(0);
    }
  });

  it('drops everything at drop=1', async () => {
    const sink = await peer();
    const client = await peer();
    const proxy = await proxyTo(sink, { toTarget: { drop: 1 } });
    for (let i = 0; i < 50; i++) client.send(`x${i}`, proxy.address);
    await waitFor(() => proxy.stats().toTarget.received === 50, { what: 'all decided' });
    // A datagram sent straight to the sink afterwards: once it is in, nothing else is on its way.
    client.send('control', sink.address);
    await waitFor(() => sink.received.length > 0, { what: 'the control datagram' });
    expect(texts(sink)).toEqual(['control']);
    expect(proxy.stats().toTarget).toMatchObject({ received: 50, dropped: 50, forwarded: 0 });
  });

  it('sends every datagram twice at duplicate=1', async () => {
    const sink = await peer();
    const client = await peer();
    const proxy = await proxyTo(sink, { toTarget: { duplicate: 1 } });
    for (let i = 0; i < 20; i++) client.send(`d${i}`, proxy.address);
    await waitFor(() => sink.received.length === 40, { what: '40 arrivals' });
    const counts = new Map<string, number>();
    for (const text of texts(sink)) counts.set(text, (counts.get(text) ?? 0) + 1);
    expect(counts.size).toBe(20);
    expect([...counts.values()].every((n) => n === 2)).toBe(true);
    expect(proxy.stats().toTarget).toMatchObject({ received: 20, duplicated: 20, forwarded: 40 });
  });

  it('reorders, and releases every held datagram eventually', async () => {
    const sink = await peer();
    const client = await peer();
    const proxy = await proxyTo(sink, { toTarget: { reorder: 1 }, reorderHoldMs: 30 });
    const sent = Array.from({ length: 11 }, (_, i) => `r${i}`);
    for (const text of sent) client.send(text, proxy.address);
    await waitFor(() => sink.received.length === 11, { what: 'all 11, the last one by timeout' });
    expect([...texts(sink)].sort()).toEqual([...sent].sort());
    expect(texts(sink)).not.toEqual(sent);
    expect(proxy.stats().toTarget).toMatchObject({ received: 11, forwarded: 11, pending: 0 });
    expect(proxy.stats().toTarget.reordered).toBeGreaterThanOrEqual(5);
  });

  it('changes exactly one byte of each datagram at corrupt=1', async () => {
    const sink = await peer();
    const client = await peer();
    const proxy = await proxyTo(sink, { toTarget: { corrupt: 1 } });
    const sent = Array.from({ length: 30 }, (_, i) => Buffer.from(`payload-${i}`));
    for (const data of sent) client.send(data, proxy.address);
    await waitFor(() => sink.received.length === 30, { what: '30 arrivals' });
    sink.received.forEach(({ data }, i) => {
      const original = sent[i] as Buffer;
      expect(data.length).toBe(original.length);
      expect(data.filter((byte, j) => byte !== original[j]).length).toBe(1);
    });
    expect(proxy.stats().toTarget.corrupted).toBe(30);
  });

  it('close() frees the listening socket and every upstream socket', async () => {
    const echo = await peer('echo');
    const client = await peer();
    const proxy = await createFaultProxy({ target: echo.address, toClient: { delayMs: 10_000 } });
    client.send('hold me', proxy.address);
    await waitFor(() => proxy.stats().toClient.pending === 1, { what: 'a delayed reply' });
    const upstream = echo.received[0]?.from;
    expect(upstream).toBeDefined();
    await proxy.close();
    await proxy.close();
    expect(await portIsFree(proxy.address)).toBe(true);
    expect(await portIsFree({ host: '127.0.0.1', port: upstream?.port ?? 0 })).toBe(true);
    expect(proxy.stats()).toMatchObject({ sessions: 0, toClient: { pending: 0, discarded: 1 } });
  });

  it('rejects bad fault specs and options', async () => {
    const sink = await peer();
    await expect(createFaultProxy({ target: sink.address, toTarget: { drop: 1.5 } })).rejects.toMatchObject({ code: 'ERR_BAD_FAULT_SPEC' });
    await expect(createFaultProxy({ target: sink.address, toClient: { delayMs: [5, 1] } })).rejects.toMatchObject({ code: 'ERR_BAD_FAULT_SPEC' });
    await expect(createFaultProxy({ target: 'nonsense' })).rejects.toMatchObject({ code: 'ERR_BAD_OPTION' });
  });
});
