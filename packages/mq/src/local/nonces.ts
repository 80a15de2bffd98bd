import { randomFillSync } from 'node:crypto';

/** 72 random bits per nonce: over the 64 a token needs, and 12 base64url characters with no padding. */
const NONCE_BYTES = 9;
/** Nonces per refill: one CSPRNG call per 512 deliveries keeps the reserve path cheap. */
const POOL_NONCES = 512;

/**
 * Lease-token nonces from the OS's CSPRNG, drawn from a pooled buffer refilled with
 * `randomFillSync`: knowing other tokens, STATS or the clock tells nothing about the next one.
 */
export class NoncePool {
  readonly #pool = Buffer.allocUnsafe(NONCE_BYTES * POOL_NONCES);
  #at = this.#pool.length;

  /** A fresh nonce: 12 characters of `[A-Za-z0-9_-]`. */
  next(): string {
    if (this.#at === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#at = 0;
    }
    const start = this.#at;
    this.#at += NONCE_BYTES;
    return this.#pool.toString('base64url', start, this.#at);
  }
}
