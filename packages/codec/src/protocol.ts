import type { NodeStats } from './stats.js';
import type { WireErrorCode } from './wire-errors.js';

/*
 * The queue protocol: one request per frame, one reply frame per request.
 *
 *   request = [ "#" id " " ] verb *( " " arg ) [ ":" body ]
 *   reply   = [ "#" id " " ] status [ ":" body ]
 *
 * The seed commands (`PUT:<msg>`, `GET`, `SIZE`) sent without an id or arguments get the seed
 * prototype's replies byte for byte. A request with an id, arguments or a newer verb gets a
 * typed reply whose status word says what it is (MSG, EMPTY, ...). PROTOCOL.md is the reference.
 */

export type Verb = 'PUT' | 'GET' | 'SIZE' | 'RESERVE' | 'ACK' | 'NACK' | 'EXTEND' | 'STATS';

/** Verbs the seed prototype knows; their bare form gets seed replies. */
export const SEED_VERBS: readonly Verb[] = ['PUT', 'GET', 'SIZE'];

interface RequestBase {
  /** Correlation id, echoed in the reply. */
  readonly id?: string;
  /** Named queue on the node; the default queue when absent. */
  readonly queue?: string;
}

export type Request =
  | (RequestBase & { readonly verb: 'PUT'; readonly body: Uint8Array; /** idempotency key */ readonly key?: string })
  | (RequestBase & { readonly verb: 'GET'; readonly max?: number })
  | (RequestBase & { readonly verb: 'SIZE' })
  | (RequestBase & { readonly verb: 'RESERVE'; readonly max?: number; readonly leaseMs?: number })
  | (RequestBase & { readonly verb: 'ACK'; readonly token: string })
  | (RequestBase & { readonly verb: 'NACK'; readonly token: string; readonly delayMs?: number })
  | (RequestBase & { readonly verb: 'EXTEND'; readonly token: string; readonly leaseMs: number })
  | (RequestBase & { readonly verb: 'STATS' });

/** A leased message: `token` names this delivery for ACK, NACK and EXTEND. */
export interface Delivery {
  readonly token: string;
  /** 1 on first delivery, raised by every redelivery. */
  readonly deliveries: number;
  readonly body: Uint8Array;
}

export type Reply =
  | { readonly kind: 'put'; readonly id?: string; readonly bytes: number; readonly duplicate: boolean }
  | { readonly kind: 'message'; readonly id?: string; readonly body: Uint8Array }
  | { readonly kind: 'empty'; readonly id?: string }
  | { readonly kind: 'messages'; readonly id?: string; readonly bodies: Uint8Array[] }
  | { readonly kind: 'leased'; readonly id?: string; readonly deliveries: Delivery[] }
  | { readonly kind: 'size'; readonly id?: string; readonly size: number }
  | { readonly kind: 'ok'; readonly id?: string }
  | { readonly kind: 'stats'; readonly id?: string; readonly stats: NodeStats }
  | { readonly kind: 'error'; readonly id?: string; readonly code: WireErrorCode; readonly message: string };

/** Limits on request fields; a request outside them is `BAD_REQUEST`. */
export const PROTOCOL_LIMITS = {
  maxIdLength: 40,
  maxNameLength: 64,
  maxBatch: 1000,
  maxLeaseMs: 86_400_000,
} as const;

/** A request without id or arguments, using a seed verb: it gets the seed's reply bytes. */
export function isSeedForm(request: Request): boolean {
  if (request.id !== undefined || request.queue !== undefined) return false;
  switch (request.verb) {
    case 'PUT':
      return request.key === undefined;
    case 'GET':
      return request.max === undefined;
    case 'SIZE':
      return true;
    default:
      return false;
  }
}
