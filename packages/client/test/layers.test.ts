import { describe, expect, it } from 'vitest';
import { ManualClock } from '@streampy/testing';
import { createClientOver } from '../src/client.js';
import { MemoryTransport } from './memory-transport.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('client layers over an in-memory transport', () => {
  it('sends the frames of one turn as one contiguous datagram, matches the replies, holds the process only while busy', async () => {
    const transport = new MemoryTransport();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock: new ManualClock() });
    const sizes = Promise.all([client.size(), client.size({ queue: 'a' }), client.size({ queue: 'b' })]);
    await turn();
    expect(transport.sent).toHaveLength(1);
    // Written side by side into one buffer, so the datagram is one view, not a gathered list.
    expect(transport.sent[0]).toBeInstanceOf(Uint8Array);
    expect(transport.frames(0).map((payload) => payload.replace(/^#\S+ /, ''))).toEqual(['SIZE', 'SIZE q=a', 'SIZE q=b']);
    expect(transport.holds).toEqual([true]);
    transport.answerSizes(0, 7);
    expect(await sizes).toEqual([7, 7, 7]);
    await turn();
    expect(transport.holds).toEqual([true, false]);
    await client.close();
    expect(transport.closed).toBe(true);
  });

  it('times out on the injected clock alone, and a late reply changes nothing', async () => {
    const transport = new MemoryTransport();
    const clock = new ManualClock();
    const client = createClientOver(transport, { host: '127.0.0.1', port: 1 }, { clock, timeoutMs: 50, retries: 0 });
    const size = client.size().catch((error: unknown) => error);
    await turn();
    clock.advance(49);
    await turn();
    clock.advance(1);
    expect(await size).toMatchObject({ code: 'ERR_TIMEOUT', attempts: 1 });
    transport.answerSizes(0, 3);
    expect(clock.pending).toBe(0);
    expect(transport.sent).toHaveLength(1);
    await client.close();
  });
});
