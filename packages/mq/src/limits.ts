import { DEFAULT_MAX_FRAME_BYTES, MAX_ONE_MESSAGE_REPLY_OVERHEAD, MAX_PUT_REQUEST_OVERHEAD } from '@streampy/codec';

/**
 * Largest message body a node accepts for a given datagram size: any reply carrying it (id
 * prefix, status, lease token) and any PUT carrying it (id, key, queue) fits one datagram,
 * so an accepted message can always be delivered, retried and forwarded.
 */
export function maxMessageBytesFor(maxDatagramBytes: number): number {
  return maxDatagramBytes - Math.max(MAX_ONE_MESSAGE_REPLY_OVERHEAD, MAX_PUT_REQUEST_OVERHEAD);
}

/** Largest body a PUT accepts with the default 65,507-byte datagrams (65,320 bytes). */
export const MAX_MESSAGE_BYTES = maxMessageBytesFor(DEFAULT_MAX_FRAME_BYTES);
