import { parseReply, type Delivery, type NodeStats, type Reply, type Request } from '@streampy/codec';
import { BadReplyError, remoteError } from './errors.js';
import type { ReplyReader } from './outstanding.js';

/** Marks a reply that is not a possible answer to the request. */
const MISMATCH = Symbol('mismatch');

type Pick<T> = (reply: Reply) => T | typeof MISMATCH;

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
  readonly stats: ReplyReader<NodeStats, Request>;
  /** Any reply but an error. */
  readonly any: ReplyReader<Reply, Request>;
}

/** A reader of replies the codec parses (`seed`: as the seed answers), keeping those `pick` accepts. */
function reader<T>(pick: Pick<T>, seed: boolean): ReplyReader<T, Request> {
  return (payload, request) => {
    let reply: Reply;
    try {
      // The request travelled with an id the object does not carry: say its form outright.
      reply = parseReply(payload, request, seed);
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
    put: reader((r) => (r.kind === 'put' ? { bytes: r.bytes, duplicate: r.duplicate } : MISMATCH), seed),
    get: reader((r) => (r.kind === 'message' ? r.body : r.kind === 'empty' ? undefined : MISMATCH), seed),
    batch: reader((r) => (r.kind === 'messages' ? r.bodies : r.kind === 'empty' ? [] : r.kind === 'message' ? [r.body] : MISMATCH), seed),
    size: reader((r) => (r.kind === 'size' ? r.size : MISMATCH), seed),
    leased: reader((r) => (r.kind === 'leased' ? r.deliveries : r.kind === 'empty' ? [] : MISMATCH), seed),
    ok: reader((r) => (r.kind === 'ok' ? undefined : MISMATCH), seed),
    stats: reader((r) => (r.kind === 'stats' ? r.stats : MISMATCH), seed),
    any: reader((r) => r, seed),
  };
}
