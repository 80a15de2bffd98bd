import { MqError } from '../errors.js';

/** The one durable pull consumer every streampy node shares on a queue's stream. */
export const CONSUMER = 'streampy';
export const DEFAULT_PREFIX = 'STREAMPY';

/** `[A-Za-z0-9_-]{1,32}`: a NATS stream-name and subject-token safe prefix. */
export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    throw new MqError('ERR_BAD_OPTION', `the NATS prefix must be 1-32 of A-Z a-z 0-9 _ -, got "${prefix.slice(0, 40)}"`);
  }
  return prefix;
}

/**
 * A queue name as NATS allows it in stream names and subject tokens, which forbid the dot:
 * `_` becomes `__` and `.` becomes `_d`, so two queue names never share a stream.
 */
export function encodeQueueName(queue: string): string {
  return queue.replace(/[_.]/g, (c) => (c === '_' ? '__' : '_d'));
}

/** The stream that keeps `queue`: `<PREFIX>_<encoded queue>`. */
export function streamName(prefix: string, queue: string): string {
  return `${prefix}_${encodeQueueName(queue)}`;
}

/** The one subject a queue's stream listens on: `<PREFIX>.q.<encoded queue>`. */
export function queueSubject(prefix: string, queue: string): string {
  return `${prefix}.q.${encodeQueueName(queue)}`;
}

/** Where the nodes of a queue tell each other which of its messages were given back (see `SharedReady`). */
export function readySubject(prefix: string, queue: string): string {
  return `${prefix}.ready.${encodeQueueName(queue)}`;
}

/** Where the node `nodeId` answers for the leases it handed out (see `LeaseRouter`). */
export function leaseSubject(prefix: string, nodeId: string): string {
  return `${prefix}.lease.${nodeId}`;
}

/**
 * Characters of a node id at the start of each nonce: 8 base64url characters (48 random bits),
 * which also make a valid subject token. The rest of the nonce is the node's own random part.
 */
export const NODE_ID_LENGTH = 8;

/** The node a lease nonce names as its issuer, or undefined when it cannot be one. */
export function issuerOf(nonce: string): string | undefined {
  return nonce.length > NODE_ID_LENGTH ? nonce.slice(0, NODE_ID_LENGTH) : undefined;
}

/** What a JetStream ack subject tells of a delivery. */
export interface DeliveryInfo {
  readonly streamSeq: number;
  readonly deliveries: number;
  /** When the message was stored, ms since the epoch. */
  readonly storedAt: number;
}

/**
 * Reads `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>`
 * (nats-server 2.9), or the newer form with a domain and account hash after `ACK`.
 */
export function deliveryOf(reply: string): DeliveryInfo | undefined {
  const parts = reply.split('.');
  const at = parts.length === 9 ? 4 : parts.length >= 12 ? 6 : -1;
  if (at < 0 || parts[0] !== '$JS' || parts[1] !== 'ACK') return undefined;
  const deliveries = Number(parts[at]);
  const streamSeq = Number(parts[at + 1]);
  const nanos = Number(parts[at + 3]);
  if (!Number.isSafeInteger(deliveries) || !Number.isSafeInteger(streamSeq) || deliveries < 1 || streamSeq < 1) return undefined;
  return { streamSeq, deliveries, storedAt: Number.isFinite(nanos) ? Math.floor(nanos / 1e6) : 0 };
}
