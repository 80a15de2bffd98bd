import { HASH, SPACE, allNameBytes, latin1 } from './grammar.js';
import { PROTOCOL_LIMITS } from './protocol.js';

/*
 * Correlation ids: `#<id> ` at the start of a request, echoed at the start of its reply.
 * A client makes them as `<prefix><counter in base 36>` and matches replies by the counter.
 */

/** The id a client sends with its `counter`-th request. */
export function formatRequestId(prefix: string, counter: number): string {
  return prefix + counter.toString(36);
}

function base36Digit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x7a) return byte - 0x61 + 10;
  return -1;
}

/**
 * The counter of a reply id `#<prefix><base-36 counter> `, or -1 when the reply carries no id
 * or one not made with `prefix` (the prefix as ASCII bytes). Builds no strings.
 */
export function replyIdCounter(payload: Uint8Array, prefix: Uint8Array): number {
  if (payload[0] !== HASH) return -1;
  for (let i = 0; i < prefix.length; i++) if (payload[1 + i] !== prefix[i]) return -1;
  const first = 1 + prefix.length;
  let value = 0;
  // 10 base-36 digits stay below 2^53.
  for (let i = first; i < payload.length && i - first <= 10; i++) {
    const byte = payload[i] as number;
    if (byte === SPACE) return i === first ? -1 : value;
    const digit = base36Digit(byte);
    if (digit < 0) return -1;
    value = value * 36 + digit;
  }
  return -1;
}

/**
 * The correlation id of a reply payload, or undefined. Cheap: a client matches replies to
 * requests with it before parsing them.
 */
export function replyId(payload: Uint8Array): string | undefined {
  if (payload[0] !== HASH) return undefined;
  const space = payload.indexOf(SPACE);
  if (space < 2) return undefined;
  return latin1(payload, 1, space);
}

/**
 * The correlation id of a request payload when it is a valid id (1-40 name characters), even
 * if the rest of the request is not valid: a node echoes it in the error reply.
 */
export function requestId(payload: Uint8Array): string | undefined {
  if (payload[0] !== HASH) return undefined;
  const space = payload.indexOf(SPACE);
  if (space < 2 || space - 1 > PROTOCOL_LIMITS.maxIdLength || !allNameBytes(payload, 1, space)) return undefined;
  return latin1(payload, 1, space);
}
