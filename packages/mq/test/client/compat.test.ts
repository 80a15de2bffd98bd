import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFrameText, encodeFrame } from '@streampy/codec';
import { TimeoutError, createClient, type QueueClient } from '@streampy/client';
import { waitFor } from '@streampy/testing';
import { MQ_CLI, PYTHON, SEED_DIR, run, sleep, spawnReady, text, type Spawned } from './processes.js';

interface Step {
  readonly send?: string;
  readonly send_hex?: string;
  readonly reply: string | null;
}
interface Scenario {
  readonly name: string;
  readonly steps: Step[];
}
const SCENARIOS = (JSON.parse(readFileSync(`${SEED_DIR}scenarios.json`, 'utf8')) as { scenarios: Scenario[] }).scenarios;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends Spawned | QueueClient>(thing: T): T {
  cleanups.push(() => ('stop' in thing ? thing.stop() : thing.close()));
  return thing;
}

async function startSeedMq(): Promise<{ process: Spawned; address: string }> {
  const process = track(await spawnReady(PYTHON, [`${SEED_DIR}seed_mq.py`, '127.0.0.1:0'], /seed-mq listening on (\S+:\d+)\n/));
  return { process, address: process.ready[1] as string };
}

async function startOurMq(): Promise<{ process: Spawned; address: string }> {
  const process = track(
    await spawnReady(globalThis.process.execPath, [MQ_CLI, '--address', '127.0.0.1:0', '--log-level', 'warn'], /streampy-mq listening on (\S+:\d+)\n/),
  );
  return { process, address: process.ready[1] as string };
}

/** A plain UDP socket that sends raw datagrams and reads replies in arrival order. */
async function rawPeer(address: string): Promise<{ send(datagram: Uint8Array): void; next(): Promise<string> }> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const replies: string[] = [];
  socket.on('message', (datagram) => replies.push(decodeFrameText(new Uint8Array(datagram))));
  return {
    send: (datagram) => socket.send(datagram, port, host),
    next: async () => {
      await waitFor(() => replies.length > 0, { what: `a reply from ${address}` });
      return replies.shift() as string;
    },
  };
}

describe('seed_mq.py reproduces the documented seed behaviour', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const { address } = await startSeedMq();
      const peer = await rawPeer(address);
      for (const step of scenario.steps) {
        peer.send(step.send_hex === undefined ? encodeFrame(step.send ?? '') : Buffer.from(step.send_hex, 'hex'));
        // Steps without a reply are checked by the next reply: it must answer the next request.
        if (step.reply !== null) expect(await peer.next()).toBe(step.reply);
      }
    });
  }
});

describe('our client against the seed queue node (python3 compat/seed/seed_mq.py)', () => {
  it("speaks the seed protocol with protocol: 'seed'", async () => {
    const { address } = await startSeedMq();
    const client = track(await createClient({ address, protocol: 'seed' }));
    expect(await client.size()).toBe(0);
    const puts = await Promise.all(['ping', 'pong', 'héllo', ''].map((m) => client.put(m)));
    expect(puts.map((p) => p.bytes)).toEqual([4, 4, 6, 0]);
    expect(await client.size()).toBe(4);
    expect(text(await client.get())).toBe('ping');
    expect((await client.getBatch(2)).map(text)).toEqual(['pong', 'héllo']);
    // The seed cannot tell an enqueued empty message from an empty queue: both read as undefined.
    expect(await client.get()).toBeUndefined();
    expect(await client.size()).toBe(0);
  });

  it('times out in the extended protocol, which the seed node ignores', async () => {
    const { address } = await startSeedMq();
    const client = track(await createClient({ address, timeoutMs: 100, retries: 0 }));
    await expect(client.size()).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe("the seed's tools against our queue node (node packages/mq/dist/cli.js)", () => {
  it('udp_client.py puts, sizes and gets', async () => {
    const { address } = await startOurMq();
    const client = (...words: string[]) => run(PYTHON, [`${SEED_DIR}udp_client.py`, address, ...words, '--timeout', '5']);
    expect(await client('PUT:ping')).toMatchObject({ code: 0, stdout: 'sent: PUT:ping\nreply: PUT 4 bytes\n' });
    expect(await client('SIZE')).toMatchObject({ code: 0, stdout: 'sent: SIZE\nreply: 1\n' });
    expect(await client('GET')).toMatchObject({ code: 0, stdout: 'sent: GET\nreply: ping\n' });
    expect(await client('GET')).toMatchObject({ code: 0, stdout: 'sent: GET\nreply: \n' });
  });

  it('seed_worker.py plays pong on our queue: rounds happen, the one ball is never doubled', async () => {
    const { address } = await startOurMq();
    const seed = track(await createClient({ address, protocol: 'seed' }));
    const watcher = track(await createClient({ address }));
    await seed.put('ping');
    const worker = track(await spawnReady(PYTHON, [`${SEED_DIR}seed_worker.py`, address, address], /seed-worker pong .*\n/));

    // Watch without touching the ball: STATS shows the counters and the last bodies put. The ball
    // is in the queue only between a PUT and the next GET, so SIZE reads 0 or 1; puts - gets is
    // the number of balls the queue has handed out or holds, and must stay exactly 0 or 1.
    const seen = new Set<string>();
    const sizes = new Set<number>();
    const balance = new Set<number>();
    const rounds: number[] = [];
    const deadline = Date.now() + 20_000;
    while ((rounds.length < 5 || (rounds.at(-1) ?? 0) < 100 || seen.size < 2) && Date.now() < deadline) {
      const stats = await watcher.stats();
      const queue = stats.queues.default ?? { puts: 0, gets: 0 };
      for (const body of stats.recent ?? []) seen.add(body);
      rounds.push(queue.puts);
      balance.add(queue.puts - queue.gets);
      sizes.add(await watcher.size());
      await sleep(20);
    }
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
    expect([...seen].sort()).toEqual(['ping', 'pong']);
    expect(rounds.at(-1)).toBeGreaterThanOrEqual(100);
    // Rounds keep happening: the ball was not lost while we watched.
    expect(rounds.at(-1)).toBeGreaterThan(rounds.at(-5) ?? Infinity);
    expect([...sizes].every((size) => size === 0 || size === 1)).toBe(true);
    expect([...balance].every((held) => held === 0 || held === 1)).toBe(true);
  });
});
