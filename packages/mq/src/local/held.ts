import type { Deadline } from '../scheduler.js';

/** Largest delivery count kept per message (and the largest `maxDeliveries`). */
export const MAX_DELIVERIES = 65_535;

/**
 * The message id of a seq as tokens and dead-letter keys carry it: base 36, shorter than
 * decimal (a clock-based seq of 16 digits takes 10 characters).
 */
export function messageIdOf(seq: number): string {
  return seq.toString(36);
}

/** A message out of the ready ring: leased to a consumer, or waiting out a NACK delay. */
export class HeldMessage implements Deadline {
  dueAt = 0;
  heapIndex = -1;
  state: 'leased' | 'delayed' = 'leased';
  readonly messageId: string;

  constructor(
    readonly queue: { expired(message: HeldMessage): void },
    readonly seq: number,
    readonly body: string,
    readonly bytes: number,
    readonly enqueuedAt: number,
    readonly deliveries: number,
    /** The random part of this delivery's token: what makes it unguessable. */
    readonly nonce: string,
  ) {
    this.messageId = messageIdOf(seq);
  }

  expire(): void {
    this.queue.expired(this);
  }
}

/**
 * What a put on a durable engine holds until its round is written, beside the message: its
 * encoded record, and the batch that record is written in.
 */
export function pendingCopies(bytes: number): number {
  return 2 * bytes;
}

export function utf8Text(bytes: Uint8Array): string {
  // A body from the server is a Buffer already (a view of its datagram): no wrapper to make.
  if (Buffer.isBuffer(bytes)) return bytes.toString('utf8');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
