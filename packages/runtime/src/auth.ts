import { createHmac, createSecretKey, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';
import {
  AUTH_FRAME_MAX_BYTES,
  AUTH_KEY_ID_START,
  AUTH_MAC_HEX,
  AUTH_NONCE_HEX,
  authSigningPrefix,
  checkInteger,
  decodeText,
  encodeAuthFrame,
  encodeText,
  scanAuthFrame,
  writeAuthMac,
  type AuthRole,
} from '@streampy/codec';
import { systemClock, type Clock } from './clock.js';
import type { Keyring } from './key-file.js';
import { ReplayCache } from './replay-cache.js';

/*
 * Shared-key authentication of datagrams with HMAC-SHA-256: the Node.js side of the codec's
 * AUTH envelope (PROTOCOL.md, "Access control"). It authenticates; it does not encrypt: anyone
 * on the path can read the messages.
 */

/** Why a datagram was refused; receivers count them per reason. */
export type AuthFailure = 'unsigned' | 'unknownKey' | 'badMac' | 'stale' | 'replayed' | 'replayCacheFull';

export const AUTH_FAILURES: readonly AuthFailure[] = ['unsigned', 'unknownKey', 'badMac', 'stale', 'replayed', 'replayCacheFull'];

export type AuthFailureCounts = Record<AuthFailure, number>;

/** Every reason at 0. */
export function newAuthFailureCounts(): AuthFailureCounts {
  return { unsigned: 0, unknownKey: 0, badMac: 0, stale: 0, replayed: 0, replayCacheFull: 0 };
}

export type AuthVerdict = { readonly ok: true; readonly rest: Uint8Array } | { readonly ok: false; readonly reason: AuthFailure };

export interface AuthenticatorOptions {
  /** Time of signatures and of the window. Default the system clock. */
  readonly clock?: Clock;
  /** How far a datagram's timestamp may be from the receiver's clock, either way, ms. Default 10,000. */
  readonly windowMs?: number;
  /** Nonces remembered at most; beyond it datagrams are refused (never a replay let through). Default 1,048,576 (at most 32 MiB). */
  readonly maxReplayEntries?: number;
  /**
   * Timestamps before this are stale, whatever the window. A node passes the time it started:
   * it cannot remember the nonces its previous run accepted, so it refuses everything signed
   * before it started instead.
   */
  readonly notBefore?: number;
}

export interface Authenticator {
  /** The id of the key that signs. */
  readonly keyId: string;
  /**
   * The AUTH frame that signs `frames` (one buffer, or several sent gathered in order) as
   * `role`: the sender puts it first in the datagram, before them.
   */
  signFrame(role: AuthRole, frames: Uint8Array | readonly Uint8Array[]): Uint8Array;
  /**
   * Checks a datagram signed by a peer in `role` (a node verifies `request`s, a client
   * `reply`s); on success, the frames it carries (a view into `datagram`). The cheap checks come
   * first: a datagram without an envelope, with an unknown key, out of the window or replayed
   * costs no HMAC.
   */
  verify(role: AuthRole, datagram: Uint8Array): AuthVerdict;
}

export const DEFAULT_AUTH_WINDOW_MS = 10_000;
export const DEFAULT_MAX_REPLAY_ENTRIES = 1 << 20;

const NONCE_BYTES = AUTH_NONCE_HEX / 2;
/** Random bytes drawn from the CSPRNG at a time: one call for 512 nonces. */
const NONCE_POOL_BYTES = 512 * NONCE_BYTES;

function checkPositive(name: string, value: number): number {
  return checkInteger(name, value, 1, Number.MAX_SAFE_INTEGER, 'ERR_BAD_OPTION');
}

/** A key as the hot path uses it: its id as bytes, to match a datagram's without building a string. */
interface VerifyingKey {
  readonly id: Uint8Array;
  readonly secret: KeyObject;
}

function matchKey(keys: readonly VerifyingKey[], datagram: Uint8Array, end: number): VerifyingKey | undefined {
  const length = end - AUTH_KEY_ID_START;
  search: for (const key of keys) {
    if (key.id.length !== length) continue;
    for (let i = 0; i < length; i++) if (key.id[i] !== datagram[AUTH_KEY_ID_START + i]) continue search;
    return key;
  }
  return undefined;
}

const PLACEHOLDER_MAC = '0'.repeat(AUTH_MAC_HEX);
const NEWLINE = 0x0a;

/** Signs and verifies datagrams with the keys of `keyring`. */
export function createAuthenticator(keyring: Keyring, options: AuthenticatorOptions = {}): Authenticator {
  const clock = options.clock ?? systemClock;
  const windowMs = checkPositive('windowMs', options.windowMs ?? DEFAULT_AUTH_WINDOW_MS);
  const replay = new ReplayCache(windowMs, checkPositive('maxReplayEntries', options.maxReplayEntries ?? DEFAULT_MAX_REPLAY_ENTRIES));
  const notBefore = options.notBefore ?? Number.NEGATIVE_INFINITY;
  // One KeyObject per key: the secret is imported once, not for every datagram.
  const keys: VerifyingKey[] = [...keyring.keys.values()].map((key) => ({ id: encodeText(key.id), secret: createSecretKey(key.secret) }));
  const signingId = keyring.signing.id;
  const signingSecret = keys.find((key) => decodeText(key.id) === signingId)?.secret ?? createSecretKey(keyring.signing.secret);
  const prefixes: Readonly<Record<AuthRole, Uint8Array>> = { request: authSigningPrefix('request'), reply: authSigningPrefix('reply') };
  /** The signing input, composed here so the HMAC takes it in one update. */
  const input = new Uint8Array(32 + AUTH_FRAME_MAX_BYTES);
  /** A received MAC is compared with the expected one written out as hex here. */
  const expectedHex = new Uint8Array(AUTH_MAC_HEX);

  const pool = new Uint8Array(NONCE_POOL_BYTES);
  let poolAt = NONCE_POOL_BYTES;
  const nextNonce = (): string => {
    if (poolAt === NONCE_POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const nonce = Buffer.from(pool.buffer, pool.byteOffset + poolAt, NONCE_BYTES).toString('hex');
    poolAt += NONCE_BYTES;
    return nonce;
  };

  /** HMAC of the signing input (the AUTH frame's fields in `source`, up to `fieldsEnd`) and the frames. */
  const digest = (secret: KeyObject, role: AuthRole, source: Uint8Array, fieldsEnd: number, frames: Uint8Array | readonly Uint8Array[]): Buffer => {
    const prefix = prefixes[role];
    input.set(prefix);
    input.set(source.subarray(AUTH_KEY_ID_START, fieldsEnd), prefix.length);
    const inputEnd = prefix.length + fieldsEnd - AUTH_KEY_ID_START;
    input[inputEnd] = NEWLINE;
    const hmac = createHmac('sha256', secret).update(input.subarray(0, inputEnd + 1));
    if (frames instanceof Uint8Array) hmac.update(frames);
    else for (const part of frames) hmac.update(part);
    return hmac.digest();
  };

  return {
    keyId: signingId,
    signFrame(role, frames) {
      // The frame is written with a placeholder MAC, which is then computed over its fields and written in.
      const frame = encodeAuthFrame({ keyId: signingId, timestampMs: clock.now(), nonce: nextNonce(), mac: PLACEHOLDER_MAC });
      writeAuthMac(frame, digest(signingSecret, role, frame, frame.length - AUTH_MAC_HEX - 1, frames));
      return frame;
    },
    verify(role, datagram) {
      const view = scanAuthFrame(datagram);
      if (view === undefined) return { ok: false, reason: 'unsigned' };
      const key = matchKey(keys, datagram, view.keyEnd);
      if (key === undefined) return { ok: false, reason: 'unknownKey' };
      const now = clock.now();
      const { timestampMs, nonceHigh, nonceLow, restOffset } = view;
      if (timestampMs < notBefore || Math.abs(now - timestampMs) > windowMs) return { ok: false, reason: 'stale' };
      // Looking up is safe before the MAC check; only a datagram with a valid MAC may be added.
      if (replay.seen(timestampMs, nonceHigh, nonceLow)) return { ok: false, reason: 'replayed' };
      const rest = datagram.subarray(restOffset);
      writeAuthMac(expectedHex, digest(key.secret, role, datagram, view.nonceStart + AUTH_NONCE_HEX, rest));
      if (!timingSafeEqual(expectedHex, datagram.subarray(restOffset - AUTH_MAC_HEX, restOffset))) return { ok: false, reason: 'badMac' };
      if (!replay.add(timestampMs, nonceHigh, nonceLow, now)) return { ok: false, reason: 'replayCacheFull' };
      return { ok: true, rest };
    },
  };
}
