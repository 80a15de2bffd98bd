import { encodeFrames } from '@streampy/codec';
import { describe, expect, it } from 'vitest';
import { MAX_LARGE_REPLIES_PER_DATAGRAM, MAX_WAITING_DATAGRAMS } from '../src/dispatch.js';
import type { RecoveredState, StorageEngine } from '../src/storage/engine.js';
import { dispatchHarness } from './dispatch-harness.js';

/** An engine that must be durable before answering, whose flushes all wait for `open()`. */
function gatedEngine(): { engine: () => StorageEngine; open: () => void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  return {
    engine: () => ({
      kind: 'gated',
      open: (): Promise<RecoveredState> => Promise.resolve({ messages: [], nextSeq: 1, keys: new Map() }),
      append: () => {},
      remove: () => {},
      flush: () => gate,
      syncBeforeAck: true,
      close: () => Promise.resolve(),
    }),
    open: () => release(),
  };
}

describe('dispatch bounds what one client can make the node build', () => {
  it('answers at most 16 GET, RESERVE and STATS requests of one datagram, and takes nothing for the rest', async () => {
    const { one, request } = await dispatchHarness();
    for (let i = 0; i < 40; i++) expect(await one(`PUT:${'b'.repeat(60_000)}`)).toBe('PUT 60000 bytes');
    const replies = await request(...Array.from({ length: 40 }, (_, i) => `#g${i} GET`));
    expect(replies.filter((reply) => /^#g\d+ MSG:b/.test(reply))).toHaveLength(MAX_LARGE_REPLIES_PER_DATAGRAM);
    expect(replies.slice(MAX_LARGE_REPLIES_PER_DATAGRAM)).toEqual(
      Array.from({ length: 40 - MAX_LARGE_REPLIES_PER_DATAGRAM }, (_, i) => `#g${i + MAX_LARGE_REPLIES_PER_DATAGRAM} ERR BAD_REQUEST a datagram may carry at most 16 GET, RESERVE and STATS requests; send the rest in another datagram`),
    );
    expect(await one('SIZE')).toBe(String(40 - MAX_LARGE_REPLIES_PER_DATAGRAM));
    // STATS counts too; small replies (SIZE, PUT) do not.
    const mixed = await request(...Array.from({ length: 20 }, () => 'STATS'), ...Array.from({ length: 30 }, () => 'SIZE'));
    expect(mixed.filter((reply) => reply.startsWith('STATS:'))).toHaveLength(16);
    expect(mixed.filter((reply) => reply.startsWith('ERR BAD_REQUEST'))).toHaveLength(4);
    expect(mixed.filter((reply) => reply === '24')).toHaveLength(30);
  });

  it(`keeps at most ${MAX_WAITING_DATAGRAMS} datagrams waiting for storage, refusing the next with FULL until they are answered`, async () => {
    const gated = gatedEngine();
    const { send, one } = await dispatchHarness({ engine: gated.engine });
    const waiting = Array.from({ length: MAX_WAITING_DATAGRAMS }, (_, i) => send(encodeFrames([`#w${i} PUT:x`])));
    expect(await one('#over PUT:x')).toBe(`#over ERR FULL the replies of ${MAX_WAITING_DATAGRAMS} datagrams are waiting for storage; retry later`);
    // What never waits is still answered.
    expect(await one('SIZE')).toBe('0');
    gated.open();
    const replies = await Promise.all(waiting);
    expect(replies).toEqual(Array.from({ length: MAX_WAITING_DATAGRAMS }, (_, i) => [`#w${i} PUT 1 bytes`]));
    expect(await one('#after PUT:x')).toBe('#after PUT 1 bytes');
    expect(await one('SIZE')).toBe(String(MAX_WAITING_DATAGRAMS + 1));
  });
});
