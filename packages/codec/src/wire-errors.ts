/**
 * Error codes carried in `ERR <CODE> <sentence>` replies. Clients expose them as
 * `ERR_<CODE>` (see `errorCodeOf`), and every one of those is in `ERROR_CODES`.
 */
export const WIRE_ERROR_CODES = {
  BAD_FRAME: 'the datagram is not a whole, valid LHHTTT frame (or not UTF-8)',
  UNKNOWN_VERB: 'the command verb is not one this node knows',
  BAD_REQUEST: 'a known verb with malformed or out-of-range arguments',
  TOO_LARGE: 'the message could never fit in a reply datagram',
  FULL: 'a bound is reached (queue messages or bytes, a queue key table, the node memory budget): backpressure, retry later',
  UNKNOWN_LEASE: 'the lease token is not held: already acked, expired or never issued',
  INTERNAL: 'the node failed to carry out a valid request (e.g. storage error)',
  UNAVAILABLE: 'the store behind the queue (a NATS JetStream cluster) cannot be reached or has no quorum now: nothing was changed, retry later',
} as const;

export type WireErrorCode = keyof typeof WIRE_ERROR_CODES;

export function isWireErrorCode(code: string): code is WireErrorCode {
  return Object.hasOwn(WIRE_ERROR_CODES, code);
}

/** The `code` a client error carries for a wire error code: `FULL` -> `ERR_FULL`. */
export function errorCodeOf(wire: WireErrorCode): `ERR_${WireErrorCode}` {
  return `ERR_${wire}`;
}
