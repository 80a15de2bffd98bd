import { performance } from 'node:perf_hooks';
import { encodeFrame, replyId, scanFrames } from '@streampy/codec';
import type { HostPort } from '@streampy/runtime';
import { TimeoutError } from './errors.js';
import { openConnectedSocket } from './socket.js';

export interface RawExchangeOptions {
  readonly timeoutMs: number;
  /** Extra attempts after a timeout; each resends the same frame. */
  readonly retries: number;
}

export interface RawExchange {
  /** The reply frame's payload. */
  readonly reply: Uint8Array;
  /** From the first send to the reply, in ms. */
  readonly ms: number;
  readonly attempts: number;
}

/**
 * Sends `payload` as one frame, unchanged, and waits for one reply frame: the first to arrive,
 * or the first carrying the request's `#id` when it has one. For the CLI, which must send
 * exactly what the user typed, seed command or typed command alike.
 */
export async function exchangeRaw(address: HostPort, payload: Uint8Array, options: RawExchangeOptions): Promise<RawExchange> {
  const socket = await openConnectedSocket(address);
  const frame = encodeFrame(payload);
  const id = replyId(payload);
  const verb = /^(?:#\S+ )?([^ :]*)/.exec(Buffer.from(payload.subarray(0, 80)).toString('latin1'))?.[1] ?? '';
  const started = performance.now();
  try {
    return await new Promise<RawExchange>((resolve, reject) => {
      let attempts = 0;
      let timer: NodeJS.Timeout | undefined;
      const attempt = (): void => {
        if (attempts > options.retries) {
          reject(new TimeoutError(address, verb.length > 0 ? verb : '(empty command)', attempts, options.timeoutMs));
          return;
        }
        attempts++;
        socket.send(frame);
        timer = setTimeout(attempt, options.timeoutMs);
      };
      socket.on('error', () => undefined);
      socket.on('message', (datagram: Buffer) => {
        for (const reply of scanFrames(new Uint8Array(datagram.buffer, datagram.byteOffset, datagram.length)).frames) {
          if (id !== undefined && replyId(reply) !== id) continue;
          clearTimeout(timer);
          resolve({ reply, ms: performance.now() - started, attempts });
          return;
        }
      });
      attempt();
    });
  } finally {
    socket.close();
  }
}
