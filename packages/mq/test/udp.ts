import { createSocket, type Socket } from 'node:dgram';
import { afterEach } from 'vitest';
import { createQueueNode, type QueueNode, type QueueNodeOptions } from '../src/index.js';
import { decodeFrame, decodeFrames, encodeFrame, encodeFrames, encodeRequest, parseReply, type Reply, type Request } from '@streampy/codec';
import type { HostPort, Logger } from '@streampy/runtime';

/**
 * A tiny test-only UDP peer: sends datagrams to a node and hands back the replies in the
 * order they arrive. Every wait has a deadline, so a missing reply fails the test instead
 * of hanging it.
 */
export class TestPeer {
  readonly #socket: Socket;
  readonly #inbox: { datagram: Buffer; from: HostPort }[] = [];
  /** Sender of the datagram `next()` returned last. */
  lastSender: HostPort | undefined;
  #waiter: ((datagram: Buffer) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (datagram, info) => {
      const from = { host: info.address, port: info.port };
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) {
        this.lastSender = from;
        waiter(datagram);
      } else this.#inbox.push({ datagram, from });
    });
  }

  static async open(): Promise<TestPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new TestPeer(socket);
  }

  get address(): HostPort {
    const bound = this.#socket.address();
    return { host: bound.address, port: bound.port };
  }

  send(to: HostPort, datagram: Uint8Array | string): void {
    this.#socket.send(typeof datagram === 'string' ? Buffer.from(datagram, 'utf8') : datagram, to.port, to.host);
  }

  /** The next datagram received, or a rejection after `timeoutMs`. */
  next(timeoutMs = 5_000): Promise<Buffer> {
    const queued = this.#inbox.shift();
    if (queued) {
      this.lastSender = queued.from;
      return Promise.resolve(queued.datagram);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (datagram) => {
        clearTimeout(timer);
        resolve(datagram);
      };
    });
  }

  /** True when no datagram arrives within `ms` (used only to check that nothing extra was sent). */
  async silentFor(ms: number): Promise<boolean> {
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  /** Sends one frame with `payload`; returns the payload of the one-frame reply datagram. */
  async exchange(to: HostPort, payload: Uint8Array | string): Promise<Uint8Array> {
    this.send(to, encodeFrame(payload));
    return decodeFrame(await this.next());
  }

  /** Sends several frames in one datagram; returns the reply frames of every reply datagram needed to hold `expected` frames. */
  async exchangeBatch(to: HostPort, payloads: (Uint8Array | string)[], expected = payloads.length): Promise<{ frames: Uint8Array[]; datagrams: number }> {
    this.send(to, encodeFrames(payloads));
    const frames: Uint8Array[] = [];
    let datagrams = 0;
    while (frames.length < expected) {
      frames.push(...decodeFrames(await this.next()));
      datagrams++;
    }
    return { frames, datagrams };
  }

  /** A typed request, its reply parsed by the codec. */
  async call(to: HostPort, request: Request): Promise<Reply> {
    return parseReply(await this.exchange(to, encodeRequest(request)), request);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** A logger that drops everything, for nodes under test. */
export function silentLogger(): Logger {
  const noop = (): void => {};
  return { name: 'test', level: 'error', file: undefined, enabled: () => false, debug: noop, info: noop, warn: noop, error: noop, close: () => Promise.resolve() };
}

/** Polls `check` until it returns true; fails after `timeoutMs`. Never asserts on speed: the deadline is generous. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Per-test fixtures: `setup()` starts a silent node and a peer, both closed after each test.
 * Call once at the top of a test file.
 */
export function nodeFixtures(): (options?: QueueNodeOptions) => Promise<{ node: QueueNode; peer: TestPeer }> {
  const nodes: QueueNode[] = [];
  const peers: TestPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
    for (const node of nodes.splice(0)) await node.close();
  });
  return async (options = {}) => {
    const node = await createQueueNode({ logger: silentLogger(), ...options });
    const peer = await TestPeer.open();
    nodes.push(node);
    peers.push(peer);
    return { node, peer };
  };
}
