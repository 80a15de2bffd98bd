import { parseReply, replyId, type Delivery, type Reply, type Request } from '@streampy/codec';
import type { ReplyReader } from './correlator.js';
import { BadReplyError, remoteError } from './errors.js';
import { NOT_FAST, readReply, statusStart, type Expect } from './wire.js';

/** Marks a reply that is not a possible answer to the request. */
const MISMATCH = Symbol('mismatch');

type Pick<T> = (reply: Reply) => T | typeof MISMATCH;

/** The STATS of a node, as the codec reads them. */
export type StatsReply = Extract<Reply, { kind: 'stats' }>['stats'];

export interface PutResult {
  /** UTF-8 bytes of the message, as the node counted them. */
  readonly bytes: number;
  /** True when the key was already seen and the message was not enqueued again. */
  readonly duplicate: boolean;
}

/** What each kind of request resolves to, read from its reply. */
export interface Readers {
  readonly put: ReplyReader<PutResult, Request>;
  readonly get: ReplyReader<Uint8Array | undefined, Request>;
  readonly batch: ReplyReader<Uint8Array[], Request>;
  readonly size: ReplyReader<number, Request>;
  readonly leased: ReplyReader<Delivery[], Request>;
  readonly ok: ReplyReader<undefined, Request>;
  readonly stats: ReplyReader<StatsReply, Request>;
  /** Any reply but an error. */
  readonly any: ReplyReader<Reply, Request>;
}

function reader<T>(expect: Expect, pick: Pick<T>, seed: boolean): ReplyReader<T, Request> {
  return (payload, request) => {
    if (!seed) {
      const fast = readReply(payload, statusStart(payload), expect);
      if (fast !== NOT_FAST) return fast as T;
    }
    let reply: Reply;
    try {
      // The codec reads a request without id as seed form: give it the id the reply carries.
      const id = seed ? undefined : replyId(payload);
      reply = parseReply(payload, id === undefined ? request : { ...request, id });
    } catch (cause) {
      return new BadReplyError(`bad reply to ${request.verb}: ${(cause as Error).message}`, { cause });
    }
    if (reply.kind === 'error') return remoteError(reply.code, reply.message);
    const value = pick(reply);
    return value === MISMATCH ? new BadReplyError(`a ${reply.kind} reply cannot answer ${request.verb}`) : value;
  };
}

/** The readers of a client speaking the seed protocol (`seed`) or the extended one. */
export function replyReaders(seed: boolean): Readers {
  return {
    put: reader('put', (r) => (r.kind === 'put' ? { bytes: r.bytes, duplicate: r.duplicate } : MISMATCH), seed),
    get: reader('get', (r) => (r.kind === 'message' ? r.body : r.kind === 'empty' ? undefined : MISMATCH), seed),
    batch: reader('batch', (r) => (r.kind === 'messages' ? r.bodies : r.kind === 'empty' ? [] : r.kind === 'message' ? [r.body] : MISMATCH), seed),
    size: reader('size', (r) => (r.kind === 'size' ? r.size : MISMATCH), seed),
    leased: reader('leased', (r) => (r.kind === 'leased' ? r.deliveries : r.kind === 'empty' ? [] : MISMATCH), seed),
    ok: reader('ok', (r) => (r.kind === 'ok' ? undefined : MISMATCH), seed),
    stats: reader('stats', (r) => (r.kind === 'stats' ? r.stats : MISMATCH), seed),
    any: reader('any', (r) => r, seed),
  };
}
