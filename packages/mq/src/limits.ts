import { DEFAULT_MAX_FRAME_BYTES, LEASE_TOKEN_MAX_LENGTH, PROTOCOL_LIMITS } from '@streampy/codec';

/** Frame header of any payload up to 65,535 bytes: `L` plus four hex digits. */
const FRAME_HEADER = 1 + 4;
const ID_PREFIX = '#'.length + PROTOCOL_LIMITS.maxIdLength + ' '.length;

/** The widest reply carrying one message: `#<id> LEASED 1:` + the inner frame `<token> <deliveries>:<body>`. */
const REPLY_OVERHEAD = FRAME_HEADER + ID_PREFIX + 'LEASED 1:'.length + FRAME_HEADER + LEASE_TOKEN_MAX_LENGTH + ' 65535:'.length;

/** The widest PUT request carrying one message: `#<id> PUT key=<k> q=<name>:<body>`. */
const REQUEST_OVERHEAD =
  FRAME_HEADER + ID_PREFIX + 'PUT'.length + ' key='.length + PROTOCOL_LIMITS.maxNameLength + ' q='.length + PROTOCOL_LIMITS.maxNameLength + ':'.length;

/**
 * Largest message body a node accepts for a given datagram size: any reply carrying it (id
 * prefix, status, lease token) and any PUT carrying it (id, key, queue) fits one datagram,
 * so an accepted message can always be delivered, retried and forwarded.
 */
export function maxMessageBytesFor(maxDatagramBytes: number): number {
  return maxDatagramBytes - Math.max(REPLY_OVERHEAD, REQUEST_OVERHEAD);
}

/** Largest body a PUT accepts with the default 65,507-byte datagrams (65,320 bytes). */
export const MAX_MESSAGE_BYTES = maxMessageBytesFor(DEFAULT_MAX_FRAME_BYTES);
