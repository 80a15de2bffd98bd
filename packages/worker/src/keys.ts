import { createHash } from 'node:crypto';

/**
 * The idempotency key of one output put under exactly-once. It depends only on where the
 * input came from and which of its results this is, so a redelivered input (same messageId)
 * puts under the same keys and the output node drops the copies. 22 base64url characters
 * (132 bits) fit the protocol's key syntax with room to spare.
 */
export function outputKey(input: string, queue: string, messageId: string, output: number, item: number): string {
  return createHash('sha256').update(`${input}\n${queue}\n${messageId}\n${output}\n${item}`).digest('base64url').slice(0, 22);
}

/**
 * A number in [0, 1) fixed by the key: under exactly-once a `random` route must send a
 * redelivered message's results where the first delivery sent them, or dedup cannot work.
 */
export function keyFraction(key: string): number {
  const bytes = Buffer.from(key, 'base64url');
  return (bytes.readUInt32BE(0) >>> 0) / 4294967296;
}
