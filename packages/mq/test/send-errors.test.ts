import { afterEach, describe, expect, it } from 'vitest';
import { ReplyWriter, decodeText, encodeFrames, parseNodeStats } from '@streampy/codec';
import { ManualClock, recordingLogger } from '@streampy/testing';
import { NODE_METRICS } from '../src/metrics.js';
import { UdpServer } from '../src/server.js';
import { newCounters, nodeStats, type NodeCounters } from '../src/stats.js';
import { ThrottledLog } from '../src/throttled-log.js';
import { TestPeer, text, waitFor } from './udp.js';

const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

/**
 * A UDP server whose replies are what the test asks for: `BIG` gets a 70,000-byte message, over
 * the IPv4 UDP maximum, which Linux refuses (EMSGSIZE) as macOS refuses anything past 9,216
 * bytes; anything else gets `SIZE 0`. The node packs no reply that large itself on Linux, so this
 * drives the send path the way a macOS node meets it.
 */
async function startServer(counters: NodeCounters) {
  const logger = recordingLogger('warn');
  const server = new UdpServer({ host: '127.0.0.1', port: 0 }, 65_507, counters);
  const address = await server.bind();
  server.listen(
    {
      handle: (frames, _error, peer) => {
        const out = new ReplyWriter(100_000);
        for (const frame of frames) {
          if (decodeText(frame) === 'BIG') out.message(undefined, new Uint8Array(70_000).fill(0x78), true);
          else out.size(undefined, 0, true);
        }
        server.send(out, peer);
      },
    },
    new ThrottledLog(logger, new ManualClock()),
  );
  closing.push(() => server.close());
  const peer = await TestPeer.open();
  closing.push(() => peer.close());
  return { address, logger, peer };
}

describe('a reply the operating system refuses as too large (real UDP sockets)', () => {
  it('is dropped, counted in sendErrors and oversizedReplies, logged with the fix, and the node goes on answering', async () => {
    const counters = newCounters();
    const { address, logger, peer } = await startServer(counters);
    peer.send(address, encodeFrames(['BIG']));
    await waitFor(() => counters.oversizedReplies === 1, { what: 'the refused reply to be counted' });
    expect(counters.sendErrors).toBe(1);
    const [line] = logger.find({ event: 'reply datagram too large for the operating system: dropped' });
    expect(line?.level).toBe('warn');
    expect(line?.fields).toMatchObject({ maxDatagramBytes: 65_507, hint: expect.stringContaining('net.inet.udp.maxdgram') as unknown });
    // Still serving: the next request is answered, and the big reply never arrived.
    expect(text(await peer.exchange(address, 'SIZE'))).toBe('0');
    expect(peer.received).toBe(1);
    expect(counters.datagramsIn).toBe(2);
  });

  it('shows the counter in STATS (which the codec reads) and in the metrics', () => {
    const counters = newCounters();
    counters.sendErrors = 3;
    counters.oversizedReplies = 2;
    const stats = nodeStats({ address: '127.0.0.1:1', engine: 'memory', uptimeMs: 1, counters, deadLettersForwarded: 0, deadLettersPending: 0, queues: [], recent: undefined });
    const parsed = parseNodeStats(JSON.parse(JSON.stringify(stats)));
    expect(parsed).toMatchObject({ sendErrors: 3, oversizedReplies: 2 });
    expect(() => parseNodeStats({ ...parsed, oversizedReplies: 'many' })).toThrow(/oversizedReplies must be a number/);
    // A node from before the counter: still a valid STATS.
    const { oversizedReplies: _absent, ...older } = parsed;
    expect(parseNodeStats(older).oversizedReplies).toBeUndefined();
    const metric = NODE_METRICS.find((spec) => spec.name === 'streampy_node_oversized_replies_total');
    expect(metric?.type).toBe('counter');
    expect(metric?.read({ stats: parsed, latency: new Map() })).toBe(2);
  });
});
