import { AUTH_FAILURES, createAuthenticator, loadKeyFile, newAuthFailureCounts, type AuthFailureCounts, type Authenticator, type Clock, type Keyring } from '@streampy/runtime';
import type { Transport, TransportFault } from './transport.js';

/**
 * A transport that signs every datagram it sends (an AUTH frame first, role `request`) and
 * verifies every datagram it receives (role `reply`): replies that fail are dropped before the
 * correlator sees them and counted by reason, so to the layers above a forged or replayed reply
 * is a lost one. Retries are signed afresh (a new nonce), so the node never takes one for a replay.
 */
export interface AuthenticatedTransport extends Transport {
  /** Replies dropped, by reason. */
  readonly failures: Readonly<AuthFailureCounts>;
}

export function authenticatedTransport(inner: Transport, authenticator: Authenticator): AuthenticatedTransport {
  const failures = newAuthFailureCounts();
  return {
    failures,
    send: (data) => {
      const frame = authenticator.signFrame('request', data);
      inner.send(data instanceof Uint8Array ? [frame, data] : [frame, ...data]);
    },
    onDatagram: (handler) =>
      inner.onDatagram((datagram) => {
        const verdict = authenticator.verify('reply', datagram);
        if (verdict.ok) handler(verdict.rest);
        else failures[verdict.reason]++;
      }),
    // A too-large datagram comes back with its AUTH frame first, which the correlator skips.
    ...(inner.onFault === undefined ? {} : { onFault: (handler: (fault: TransportFault) => void) => inner.onFault?.(handler) }),
    hold: (held) => inner.hold(held),
    close: () => inner.close(),
  };
}

/** A keyring, or the path of a key file (`<key id> <64 hex digits>` per line), read now. */
export function keyringOf(auth: Keyring | string): Keyring {
  return typeof auth === 'string' ? loadKeyFile(auth) : auth;
}

/** The authenticator of a client: replies are checked on the client's clock. */
export function clientAuthenticator(auth: Keyring | string, clock: Clock): Authenticator {
  return createAuthenticator(keyringOf(auth), { clock });
}

/**
 * What a timeout message adds when replies were dropped: a node with another key, or none,
 * answers every request and the client sees only silence.
 */
export function droppedRepliesHint(failures: Readonly<AuthFailureCounts>): string | undefined {
  const parts = AUTH_FAILURES.filter((reason) => failures[reason] > 0).map((reason) => `${failures[reason]} ${reason}`);
  if (parts.length === 0) return undefined;
  return `; replies dropped by authentication since the client started: ${parts.join(', ')} (does the node use the same key file?)`;
}
