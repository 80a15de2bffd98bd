import { decodeFrames, encodeFrames, parseReply, parseRequest, scanFrames, type Delivery, type NodeStats } from '@streampy/codec';
import { ManualClock, silentLogger, text } from '@streampy/testing';
import { MemoryBudget } from '../src/budget.js';
import { DeadLetterRouter } from '../src/dead-letter.js';
import { Dispatcher } from '../src/dispatch.js';
import { MAX_MESSAGE_BYTES } from '../src/limits.js';
import { LocalBackend, type LocalContext, type LocalLimits } from '../src/local/backend.js';
import { NoncePool } from '../src/local/nonces.js';
import { Registry } from '../src/registry.js';
import { RequestReader, type Peer } from '../src/requests.js';
import { Scheduler } from '../src/scheduler.js';
import { RecentBodies, newCounters, nodeStats } from '../src/stats.js';
import type { EngineFactory } from '../src/storage/engine.js';
import { createMemoryEngine } from '../src/storage/memory.js';
import { ThrottledLog } from '../src/throttled-log.js';

export interface DispatchHarnessOptions {
  readonly limits?: Partial<LocalLimits>;
  readonly engine?: EngineFactory;
  readonly maxQueues?: number;
  readonly leaseMs?: number;
  /** The node's memory budget, bytes. Default: unbounded. */
  readonly maxMemory?: number;
}

const DATAGRAM_BYTES = 65_507;

/**
 * Dispatch over local backends with no socket: datagrams in, reply frames out, time on a
 * manual clock. What a node composes, built the same way, minus the UDP server.
 */
export async function dispatchHarness(options: DispatchHarnessOptions = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const logger = silentLogger();
  const counters = newCounters();
  const recent = new RecentBodies();
  const scheduler = new Scheduler(clock);
  const limits: LocalLimits = { maxMessages: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER, maxDeliveries: 5, dedupWindowMs: 300_000, maxDedupKeys: 100_000, ...options.limits };
  const engine = options.engine ?? (() => createMemoryEngine());
  const registry: Registry = new Registry((name) => LocalBackend.open(name, engine(name), context, name === 'dead'), options.maxQueues ?? 64, logger);
  const budget = new MemoryBudget(options.maxMemory ?? Number.MAX_SAFE_INTEGER);
  const context: LocalContext = { clock, budget, scheduler, nonces: new NoncePool(), limits, deadLetters: new DeadLetterRouter('dead', registry, logger, undefined) };
  const stats = (): NodeStats =>
    nodeStats({ address: '127.0.0.1:0', engine: 'memory', uptimeMs: 0, counters, deadLettersForwarded: 0, deadLettersPending: 0, queues: registry.backends(), recent });
  /** Every datagram sent back, in order. */
  const sent: Uint8Array[] = [];
  /** Each exchange is its own peer, so that replies sent later find their request. */
  const waiting = new Map<Peer, (datagrams: Uint8Array[]) => void>();
  const dispatcher = new Dispatcher<Peer>({
    registry,
    reader: new RequestReader(counters, new ThrottledLog(logger, clock), MAX_MESSAGE_BYTES),
    clock,
    logger,
    counters,
    recent,
    stats,
    leaseMs: options.leaseMs ?? 30_000,
    maxDatagramBytes: DATAGRAM_BYTES,
    send: (out, peer) => {
      const datagrams: Uint8Array[] = [];
      out.flush((datagram) => datagrams.push(datagram));
      sent.push(...datagrams);
      waiting.get(peer)?.(datagrams);
      waiting.delete(peer);
    },
  });
  await registry.open('default');
  await registry.open('dead');

  /** Hands one datagram to dispatch as the server would; the reply frames once they are sent. */
  let port = 1;
  const exchange = async (datagram: Uint8Array): Promise<Uint8Array[]> => {
    const peer: Peer = { address: '127.0.0.1', port: port++ };
    const replied = new Promise<Uint8Array[]>((resolve) => waiting.set(peer, resolve));
    const { frames, error } = scanFrames(datagram, { maxFrameBytes: DATAGRAM_BYTES });
    dispatcher.handle(frames, error, peer, false);
    return (await replied).flatMap((reply) => decodeFrames(reply));
  };
  const send = async (datagram: Uint8Array): Promise<string[]> => (await exchange(datagram)).map(text);

  return {
    clock,
    budget,
    counters,
    registry,
    scheduler,
    sent,
    stats,
    dispatcher,
    send,
    /** Frames with these payloads, in one datagram. */
    request: (...payloads: string[]): Promise<string[]> => send(encodeFrames(payloads)),
    /** One request, its one reply. */
    one: async (payload: string): Promise<string> => {
      const replies = await send(encodeFrames([payload]));
      if (replies.length !== 1) throw new Error(`expected one reply to ${payload}, got ${JSON.stringify(replies)}`);
      return replies[0] as string;
    },
    /** A RESERVE request, its deliveries read by the codec. */
    reserve: async (payload = 'RESERVE'): Promise<Delivery[]> => {
      const [reply] = await exchange(encodeFrames([payload]));
      const parsed = parseReply(reply ?? new Uint8Array(0), parseRequest(new TextEncoder().encode(payload)));
      if (parsed.kind !== 'leased') throw new Error(`expected LEASED, got ${text(reply ?? new Uint8Array(0))}`);
      return parsed.deliveries;
    },
  };
}

export type DispatchHarness = Awaited<ReturnType<typeof dispatchHarness>>;
