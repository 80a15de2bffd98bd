/**
 * How many bytes the grammar puts around a body, so a node can size its replies and its largest
 * message without spelling the grammar itself. Each constant is what `ReplyWriter` and
 * `encodeRequest` really write at the longest (test/sizes.test.ts holds them to it).
 */
import { encodedFrameLength } from './frame.js';
import { PROTOCOL_LIMITS } from './protocol.js';
import { LEASE_TOKEN_MAX_LENGTH } from './token.js';

/** Header bytes (`L` plus the hex length digits) of a frame holding `payloadBytes`. */
export function frameHeaderLength(payloadBytes: number): number {
  return encodedFrameLength(payloadBytes) - payloadBytes;
}

/** Header bytes of any frame that fits a datagram (a payload of at most 65,535 bytes): 5. */
export const MAX_DATAGRAM_FRAME_HEADER = frameHeaderLength(0xffff);

/** Bytes of `#<id> ` before a typed reply's status or a request's verb; 0 without an id. */
export function idPrefixLength(id: string | undefined): number {
  return id === undefined ? 0 : id.length + 2;
}

/** `#<id> ` with the longest id the protocol allows (40 characters): 42. */
export const MAX_ID_PREFIX = idPrefixLength('x'.repeat(PROTOCOL_LIMITS.maxIdLength));

/** Bytes of a batch reply's status, `MSGS <count>:` or `LEASED <count>:`. */
export function batchStatusLength(kind: 'MSGS' | 'LEASED', count: number): number {
  return kind.length + 1 + String(count).length + 1;
}

/** The longest batch status: `LEASED 1000:` (12). */
export const MAX_BATCH_STATUS = batchStatusLength('LEASED', PROTOCOL_LIMITS.maxBatch);

/** Bytes beside the body in a leased item's payload, `<token> <deliveries>:`, at most (52). */
export const MAX_LEASED_ITEM_OVERHEAD = LEASE_TOKEN_MAX_LENGTH + ' 65535:'.length;

/**
 * The widest reply frame carrying one message, around its body: `#<id> LEASED 1:` plus the item
 * frame `<token> <deliveries>:<body>` (113 bytes; a `MSG:` or `MSGS 1:` reply is shorter).
 */
export const MAX_ONE_MESSAGE_REPLY_OVERHEAD =
  MAX_DATAGRAM_FRAME_HEADER + MAX_ID_PREFIX + batchStatusLength('LEASED', 1) + MAX_DATAGRAM_FRAME_HEADER + MAX_LEASED_ITEM_OVERHEAD;

/** The widest PUT request frame around its body: `#<id> PUT key=<key> q=<queue>:` (187 bytes). */
export const MAX_PUT_REQUEST_OVERHEAD =
  MAX_DATAGRAM_FRAME_HEADER + MAX_ID_PREFIX + 'PUT key='.length + PROTOCOL_LIMITS.maxNameLength + ' q='.length + PROTOCOL_LIMITS.maxNameLength + ':'.length;
