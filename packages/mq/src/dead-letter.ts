import { createSocket, type Socket } from 'node:dgram';
import { decodeFrame, encodeFrame, encodeRequest, isCodecError, parseReply, replyId, type Request } from '@streampy/codec';
import type { HostPort, Logger } from '@streampy/runtime';

/** Outcome of forwarding one dead letter: stored by the remote node, or refused for good. */
export type ForwardOutcome = 'forwarded' | 'refused';

interface Pending {
  readonly request: Request & { readonly verb: 'PUT' };
  readonly frame: Uint8Array;
  readonly settle: (outcome: ForwardOutcome) => void;
  attempts: number;
  nextAt: number;
}

const SWEEP_MS = 200;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;
/** Remote errors worth retrying: the remote queue is full or its storage failed. */
const RETRYABLE = new Set(['FULL', 'INTERNAL']);

/**
 * PUTs dead letters to another queue node over its own UDP socket (never the node's server
 * socket, whose peers' replies would read as requests). Each dead letter carries an
 * idempotency key, so retrying a PUT whose reply was lost never stores it twice; it is
 * retried with backoff until the remote node answers.
 */
export class DeadLetterForwarder {
  readonly #target: HostPort;
  readonly #logger: Logger;
  readonly #socket: Socket;
  readonly #pending = new Map<string, Pending>();
  #nextId = 1;
  #sweep: NodeJS.Timeout | undefined;
  forwarded = 0;

  private constructor(target: HostPort, logger: Logger) {
    this.#target = target;
    this.#logger = logger;
    this.#socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.on('message', (datagram) => this.#onReply(datagram));
    this.#socket.on('error', (error) => this.#logger.warn('dead-letter socket error', { error: error.message }));
  }

  static async start(target: HostPort, logger: Logger): Promise<DeadLetterForwarder> {
    const forwarder = new DeadLetterForwarder(target, logger);
    await new Promise<void>((resolve, reject) => {
      forwarder.#socket.once('error', reject);
      forwarder.#socket.bind(0, () => {
        forwarder.#socket.off('error', reject);
        resolve();
      });
    });
    return forwarder;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Sends `body` with `key`; `settle` is called once, when the remote node stored it or refused it. */
  forward(body: string, key: string, settle: (outcome: ForwardOutcome) => void): void {
    const id = `dl${this.#nextId++}`;
    const request = { id, verb: 'PUT', key, body: Buffer.from(body, 'utf8') } as const;
    const entry: Pending = { request, frame: encodeFrame(encodeRequest(request)), settle, attempts: 0, nextAt: 0 };
    this.#pending.set(id, entry);
    this.#send(entry, Date.now());
    this.#sweep ??= setInterval(() => this.#retryDue(), SWEEP_MS);
  }

  /** Waits up to `graceMs` for pending forwards, then closes; returns how many never settled. */
  async close(graceMs: number): Promise<number> {
    const deadline = Date.now() + graceMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (this.#sweep) clearInterval(this.#sweep);
    this.#sweep = undefined;
    const left = this.#pending.size;
    this.#pending.clear();
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    return left;
  }

  #send(entry: Pending, now: number): void {
    entry.attempts++;
    entry.nextAt = now + Math.min(FIRST_RETRY_MS * 2 ** (entry.attempts - 1), MAX_RETRY_MS);
    this.#socket.send(entry.frame, this.#target.port, this.#target.host, (error) => {
      if (error) this.#logger.warn('dead-letter send failed', { error: error.message, attempts: entry.attempts });
    });
  }

  #retryDue(): void {
    const now = Date.now();
    for (const entry of this.#pending.values()) {
      if (entry.nextAt <= now) this.#send(entry, now);
    }
    if (this.#pending.size === 0 && this.#sweep) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #onReply(datagram: Buffer): void {
    try {
      const payload = decodeFrame(datagram);
      const id = replyId(payload);
      const entry = id === undefined ? undefined : this.#pending.get(id);
      if (!entry || id === undefined) return;
      const reply = parseReply(payload, entry.request);
      if (reply.kind === 'error' && RETRYABLE.has(reply.code)) return;
      this.#pending.delete(id);
      if (reply.kind === 'put') {
        this.forwarded++;
        entry.settle('forwarded');
      } else {
        this.#logger.error('dead-letter destination refused a message', {
          destination: `${this.#target.host}:${this.#target.port}`,
          reply: reply.kind === 'error' ? `${reply.code} ${reply.message}` : reply.kind,
        });
        entry.settle('refused');
      }
    } catch (error) {
      if (!isCodecError(error)) throw error;
      this.#logger.warn('dead-letter destination sent an unreadable reply', { error: error.message });
    }
  }
}
