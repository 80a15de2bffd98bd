import { isUtf8 } from 'node:buffer';
import { UnknownVerbError, isCodecError, isQueueName, parseRequest, requestId, type CodecError, type Request, type WireErrorCode } from '@streampy/codec';
import type { NodeCounters } from './stats.js';
import type { ThrottledLog } from './throttled-log.js';

/** Where a datagram came from, for log lines. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** The error reply a request frame earned before it reached a queue. */
export class Refusal {
  constructor(
    readonly id: string | undefined,
    readonly code: WireErrorCode,
    readonly message: string,
  ) {}
}

/** One request frame of a datagram: parsed, or refused. */
export type Step = Request | Refusal;

const peerText = (peer: Peer): string => `${peer.address}:${peer.port}`;

/**
 * Turns request frames into requests with the codec's parser, and every way a frame can be
 * wrong into its refusal, counted and logged (throttled: the network decides how often).
 */
export class RequestReader {
  constructor(
    private readonly counters: NodeCounters,
    private readonly log: ThrottledLog,
    private readonly maxMessageBytes: number,
  ) {}

  /** `knownUtf8`: the whole datagram was checked already (frame headers are ASCII, so its payloads are UTF-8 too). */
  read(payload: Uint8Array, peer: Peer, knownUtf8: boolean): Step {
    // The seed decoder required UTF-8 for the whole payload, so do we.
    if (!knownUtf8 && !isUtf8(payload)) {
      this.counters.badFrames++;
      this.log.warn('bad frame', { peer: peerText(peer), reason: 'payload is not valid UTF-8' });
      return new Refusal(requestId(payload), 'BAD_FRAME', 'payload is not valid UTF-8');
    }
    let request: Request;
    try {
      request = parseRequest(payload);
    } catch (error) {
      if (!isCodecError(error)) throw error;
      const id = requestId(payload);
      if (error instanceof UnknownVerbError) {
        this.counters.unknownVerbs++;
        this.log.warn('unknown verb', { peer: peerText(peer), verb: error.verb.slice(0, 40) });
        return new Refusal(id, 'UNKNOWN_VERB', error.message);
      }
      this.counters.badRequests++;
      this.log.warn('bad request', { peer: peerText(peer), reason: error.message });
      return new Refusal(id, 'BAD_REQUEST', error.message);
    }
    // The parser checked the name; a queue name is also a directory name, so no leading dot.
    if (request.queue !== undefined && !isQueueName(request.queue)) {
      this.counters.badRequests++;
      return new Refusal(request.id, 'BAD_REQUEST', `queue name must not start with ".", got "${request.queue}"`);
    }
    if (request.verb === 'PUT' && request.body.byteLength > this.maxMessageBytes) {
      const bytes = request.body.byteLength;
      return new Refusal(request.id, 'TOO_LARGE', `message of ${bytes} bytes is over this node's limit of ${this.maxMessageBytes} bytes`);
    }
    return request;
  }

  /** The refusal that ends a datagram whose frames stop parsing at a bad frame. */
  badFrame(error: CodecError, peer: Peer): Refusal {
    this.counters.badFrames++;
    this.log.warn('bad frame', { peer: peerText(peer), code: error.code, reason: error.message, offset: error.offset });
    return new Refusal(undefined, 'BAD_FRAME', `${error.message} (at byte ${error.offset ?? 0})`);
  }
}
