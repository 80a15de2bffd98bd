import { createSocket, type Socket } from 'node:dgram';
import { decodeFrame, decodeFrames, encodeFrame, encodeFrames, encodeRequest, parseReply, type Reply, type Request } from '@streampy/codec';
import type { HostPort } from '@streampy/runtime';

export interface TestPeerOptions {
  /** Address to bind, port 0. Default `127.0.0.1` (another loopback address tests source filtering). */
  readonly host?: string;
  /**
   * Makes the peer a server: called for every datagram received, and what it returns is sent
   * back to the sender. Datagrams it answers are counted, not queued for `next()`.
   */
  readonly reply?: (datagram: Buffer, from: HostPort) => Uint8Array | string | undefined;
}

interface Waiter {
  readonly resolve: (datagram: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Default wait for a reply: generous (the machine is shared); a missing reply fails, it never hangs. */
const DEFAULT_WAIT_MS = 5_000;

/**
 * A UDP peer for tests, on a real socket: sends raw datagrams or frames to a node and hands
 * back what arrives, in arrival order. Every wait is bounded.
 */
export class TestPeer {
  readonly #socket: Socket;
  readonly #inbox: { datagram: Buffer; from: HostPort }[] = [];
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** Sender of the datagram `next()` returned last. */
  lastSender: HostPort | undefined;
  /** Every datagram received, answered or not. */
  received = 0;

  private constructor(socket: Socket, reply: TestPeerOptions['reply']) {
    this.#socket = socket;
    socket.on('message', (datagram, info) => {
      this.received++;
      const from = { host: info.address, port: info.port };
      if (reply !== undefined) {
        const answer = reply(datagram, from);
        if (answer !== undefined) socket.send(typeof answer === 'string' ? Buffer.from(answer, 'utf8') : answer, from.port, from.host);
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter === undefined) {
        this.#inbox.push({ datagram, from });
        return;
      }
      clearTimeout(waiter.timer);
      this.lastSender = from;
      waiter.resolve(datagram);
    });
  }

  static async open(options: TestPeerOptions = {}): Promise<TestPeer> {
    const host = options.host ?? '127.0.0.1';
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new TestPeer(socket, options.reply);
  }

  get address(): HostPort {
    const bound = this.#socket.address();
    return { host: bound.address, port: bound.port };
  }

  /** Datagrams received and not yet taken by `next()`. */
  get queued(): number {
    return this.#inbox.length;
  }

  /** Sends one raw datagram. */
  send(to: HostPort, datagram: Uint8Array | string): void {
    this.#socket.send(typeof datagram === 'string' ? Buffer.from(datagram, 'utf8') : datagram, to.port, to.host);
  }

  /** The next datagram received, or a rejection after `timeoutMs`. */
  next(timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const queued = this.#inbox.shift();
    if (queued) {
      this.lastSender = queued.from;
      return Promise.resolve(queued.datagram);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          reject(new Error(`no datagram within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Sends one frame with `payload`; returns the payload of the one-frame datagram that comes next. */
  async exchange(to: HostPort, payload: Uint8Array | string, timeoutMs = DEFAULT_WAIT_MS): Promise<Uint8Array> {
    this.send(to, encodeFrame(payload));
    return decodeFrame(await this.next(timeoutMs));
  }

  /** Sends several frames in one datagram; returns the frames of as many reply datagrams as hold `expected` frames. */
  async exchangeBatch(to: HostPort, payloads: (Uint8Array | string)[], expected = payloads.length, timeoutMs = DEFAULT_WAIT_MS): Promise<{ frames: Uint8Array[]; datagrams: number }> {
    this.send(to, encodeFrames(payloads));
    const frames: Uint8Array[] = [];
    let datagrams = 0;
    while (frames.length < expected) {
      frames.push(...decodeFrames(await this.next(timeoutMs)));
      datagrams++;
    }
    return { frames, datagrams };
  }

  /** A typed request, its reply read by the codec. */
  async call(to: HostPort, request: Request, timeoutMs = DEFAULT_WAIT_MS): Promise<Reply> {
    return parseReply(await this.exchange(to, encodeRequest(request), timeoutMs), request);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error('the peer was closed while waiting for a datagram'));
    }
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** A payload as UTF-8 text. */
export const text = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
