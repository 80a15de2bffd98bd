import { isNameByte } from './grammar.js';

/**
 * A lease token names one delivery of one message: `<messageId>.<delivery>.<nonce>`.
 * The message id stays the same across redeliveries (workers derive idempotency keys from
 * it); the nonce, at least 64 random bits from a CSPRNG chosen by the node per delivery,
 * makes a token unguessable.
 */
export interface LeaseToken {
  /** `[0-9a-z]{1,16}`: the message's id (base 36), stable across redeliveries. */
  readonly messageId: string;
  /** 1-65535: which delivery of the message this token leases. */
  readonly delivery: number;
  /** `[A-Za-z0-9_-]{1,22}`: random per delivery. */
  readonly nonce: string;
}

const MAX_MESSAGE_ID = 16;
const MAX_DELIVERY = 65_535;
const MAX_DELIVERY_DIGITS = 5;
const MAX_NONCE = 22;

/** The longest token `formatLeaseToken` makes (45), well within a protocol name (64). */
export const LEASE_TOKEN_MAX_LENGTH = MAX_MESSAGE_ID + 1 + MAX_DELIVERY_DIGITS + 1 + MAX_NONCE;

function isMessageIdUnit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
}

/** `[A-Za-z0-9_-]`: a name byte other than the dot, which separates the parts. */
function isNonceUnit(c: number): boolean {
  return c !== 0x2e && isNameByte(c);
}

function isValidPart(text: string, maxLength: number, unit: (c: number) => boolean): boolean {
  if (text.length === 0 || text.length > maxLength) return false;
  for (let i = 0; i < text.length; i++) if (!unit(text.charCodeAt(i))) return false;
  return true;
}

/** The token of a delivery. Throws `RangeError` for parts outside the format: a programming error. */
export function formatLeaseToken(token: LeaseToken): string {
  const { messageId, delivery, nonce } = token;
  if (!isValidPart(messageId, MAX_MESSAGE_ID, isMessageIdUnit)) throw new RangeError(`lease token message id must be 1-${MAX_MESSAGE_ID} of 0-9 a-z, got "${messageId.slice(0, 40)}"`);
  if (!Number.isInteger(delivery) || delivery < 1 || delivery > MAX_DELIVERY) throw new RangeError(`lease token delivery must be an integer from 1 to ${MAX_DELIVERY}, got ${String(delivery)}`);
  if (!isValidPart(nonce, MAX_NONCE, isNonceUnit)) throw new RangeError(`lease token nonce must be 1-${MAX_NONCE} of A-Z a-z 0-9 _ -, got "${nonce.slice(0, 40)}"`);
  return `${messageId}.${delivery}.${nonce}`;
}

/**
 * The parts of a token, or undefined when it is not one `formatLeaseToken` could have made:
 * exactly three parts, each of its charset and length, the delivery in canonical decimal
 * (no leading zero) from 1 to 65535.
 */
export function parseLeaseToken(token: string): LeaseToken | undefined {
  const n = token.length;
  if (n < 5 || n > LEASE_TOKEN_MAX_LENGTH) return undefined;
  let i = 0;
  while (i < n && isMessageIdUnit(token.charCodeAt(i))) i++;
  if (i === 0 || i > MAX_MESSAGE_ID || token.charCodeAt(i) !== 0x2e) return undefined;
  const idEnd = i++;
  const first = token.charCodeAt(i);
  if (first < 0x31 || first > 0x39) return undefined;
  let delivery = 0;
  const digitsStart = i;
  for (let c = first; c >= 0x30 && c <= 0x39; c = token.charCodeAt(++i)) delivery = delivery * 10 + c - 0x30;
  if (i - digitsStart > MAX_DELIVERY_DIGITS || delivery > MAX_DELIVERY || token.charCodeAt(i) !== 0x2e) return undefined;
  const nonceStart = ++i;
  for (; i < n; i++) if (!isNonceUnit(token.charCodeAt(i))) return undefined;
  if (i === nonceStart || i - nonceStart > MAX_NONCE) return undefined;
  return { messageId: token.slice(0, idEnd), delivery, nonce: token.slice(nonceStart) };
}
