import { performance } from 'node:perf_hooks';
import { DEFAULT_MAX_FRAME_BYTES, UnknownVerbError, encodeFrame, parseRequest, replyId } from '@streampy/codec';
import { systemClock, type HostPort, type Keyring } from '@streampy/runtime';
import { authenticatedTransport, clientAuthenticator, droppedRepliesHint } from './auth.js';
import { Correlator } from './correlator.js';
import { NOT_MINE, type ReplyReader } from './outstanding.js';
import { openUdpTransport } from './transport.js';

export interface RawExchangeOptions {
  readonly timeoutMs: number;
  /** Extra attempts after a timeout; each resends the same frame. */
  readonly retries: number;
  /** Sign the datagram and verify the reply with these keys (see `ClientOptions.auth`). */
  readonly auth?: Keyring;
}

export interface RawExchange {
  /** The reply frame's payload. */
  readonly reply: Uint8Array;
  /** From the first send to the reply, in ms. */
  readonly ms: number;
  readonly attempts: number;
}

/** The verb a timeout names: what the codec reads in the command, even an unknown one. */
function labelOf(payload: Uint8Array): string {
  try {
    return parseRequest(payload).verb;
  } catch (error) {
    if (error instanceof UnknownVerbError) return error.verb.length > 0 ? error.verb : '(empty command)';
    return 'the command';
  }
}

/** The first reply frame, or the first carrying the request's `#id` when it has one. */
const readRaw: ReplyReader<{ reply: Uint8Array; attempts: number }, string | undefined> = (reply, id, attempts) =>
  id === undefined || replyId(reply) === id ? { reply, attempts } : NOT_MINE;

/**
 * Sends `payload` as one frame, unchanged, and waits for one reply frame (see `readRaw`),
 * resending the same frame after each timeout. For the CLI, which must send exactly what the
 * user typed, seed command or typed command alike.
 */
export async function exchangeRaw(address: HostPort, payload: Uint8Array, options: RawExchangeOptions): Promise<RawExchange> {
  const udp = await openUdpTransport(address);
  const signed = options.auth === undefined ? undefined : authenticatedTransport(udp, clientAuthenticator(options.auth, systemClock));
  const correlator = new Correlator({
    transport: signed ?? udp,
    ...(signed === undefined ? {} : { timeoutHint: () => droppedRepliesHint(signed.failures) }),
    peer: address,
    matching: { kind: 'ordered' },
    coalesce: false,
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    backoffMs: 0,
    maxDatagramBytes: DEFAULT_MAX_FRAME_BYTES,
    clock: systemClock,
  });
  const started = performance.now();
  try {
    const { reply, attempts } = await correlator.call(labelOf(payload), -1, encodeFrame(payload), replyId(payload), readRaw);
    return { reply, ms: performance.now() - started, attempts };
  } finally {
    await correlator.close();
  }
}
