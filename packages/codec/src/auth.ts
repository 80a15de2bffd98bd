import { StreampyError } from './errors.js';
import { writeHeader } from './frame.js';
import { SPACE, decimalLength, isNameByte, latin1, writeDecimal } from './grammar.js';
import { encodeText } from './text.js';

/*
 * The authentication envelope: with a shared key configured, every datagram starts with one
 * AUTH frame that signs the rest of the datagram (the request or reply frames after it).
 *
 *   auth-frame = "2" 2LOWHEX auth-payload  ; always two length digits: the payload is 91-136 bytes
 *   auth-payload = "AUTH1 " key-id " " timestamp " " nonce " " mac
 *   key-id    = 1*32 ( ALPHA / DIGIT / "_" / "." / "-" )
 *   timestamp = "0" / %x31-39 *14DIGIT   ; the sender's clock, ms since the epoch, no leading zeros
 *   nonce     = 16LOWHEX                  ; 64 random bits, new for every datagram
 *   mac       = 64LOWHEX                  ; HMAC-SHA-256 of authSigningInput(...) + the rest
 *
 * The MAC covers the role, so a reply cannot be passed off as a request, and every byte after
 * the AUTH frame, so no frame can be added, removed or changed. The grammar is strict (one
 * spelling of every field), so one signed datagram has exactly one form on the wire. This file
 * is grammar only: the HMAC needs a crypto library, which the codec does not depend on (the
 * Node.js side is @streampy/runtime's auth module).
 */

export const AUTH_VERSION_WORD = 'AUTH1';
/** Hex digits of the nonce (64 bits). */
export const AUTH_NONCE_HEX = 16;
/** Hex digits of the MAC (HMAC-SHA-256: 32 bytes). */
export const AUTH_MAC_HEX = 64;
/** Longest key id. */
export const AUTH_KEY_ID_MAX = 32;
const TIMESTAMP_DIGITS_MAX = 15;
const TIMESTAMP_MAX = 10 ** TIMESTAMP_DIGITS_MAX - 1;

const PAYLOAD_FIXED = AUTH_VERSION_WORD.length + 1 + 1 + 1 + AUTH_NONCE_HEX + 1 + AUTH_MAC_HEX;
const PAYLOAD_MIN = PAYLOAD_FIXED + 1 + 1;
const PAYLOAD_MAX = PAYLOAD_FIXED + AUTH_KEY_ID_MAX + TIMESTAMP_DIGITS_MAX;
/** Frame header of an AUTH frame: `2` and two hex digits. */
const HEADER = 3;
/** Where the key id starts in a datagram: after `2HH` and `AUTH1 `. */
export const AUTH_KEY_ID_START = HEADER + AUTH_VERSION_WORD.length + 1;

/** The most bytes the AUTH frame adds to a datagram (139): senders keep their frames this much under the datagram limit. */
export const AUTH_FRAME_MAX_BYTES = HEADER + PAYLOAD_MAX;

/** Who signed a datagram: a request goes to a node, a reply comes from one. */
export type AuthRole = 'request' | 'reply';

export interface AuthHeader {
  readonly keyId: string;
  /** The sender's clock when it signed, ms since the epoch. */
  readonly timestampMs: number;
  /** 16 lowercase hex digits. */
  readonly nonce: string;
  /** 64 lowercase hex digits. */
  readonly mac: string;
}

export interface ParsedAuthHeader extends AuthHeader {
  /** Where the signed rest of the datagram starts (just after the AUTH frame). */
  readonly restOffset: number;
}

const VERSION_BYTES = encodeText(`${AUTH_VERSION_WORD} `);

function isLowHex(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66);
}

function lowHexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

function isHexOf(text: string, digits: number): boolean {
  if (text.length !== digits) return false;
  for (let i = 0; i < digits; i++) if (!isLowHex(text.charCodeAt(i))) return false;
  return true;
}

/** True for a key id the envelope can carry: 1-32 characters of `A-Z a-z 0-9 _ . -`. */
export function isAuthKeyId(keyId: string): boolean {
  if (keyId.length === 0 || keyId.length > AUTH_KEY_ID_MAX) return false;
  for (let i = 0; i < keyId.length; i++) if (!isNameByte(keyId.charCodeAt(i))) return false;
  return true;
}

/**
 * The bytes the MAC covers before the rest of the datagram:
 * `streampy-auth-1 <role> <key-id> <timestamp> <nonce>\n`, where `<key-id> <timestamp> <nonce>`
 * are the AUTH frame's own bytes (`authSigningPrefix(role)`, then the frame's bytes from
 * `AUTH_KEY_ID_START` to the end of the nonce, then a newline: what a signer hashes without
 * building this buffer).
 */
export function authSigningInput(role: AuthRole, keyId: string, timestampMs: number, nonce: string): Uint8Array {
  return encodeText(`streampy-auth-1 ${role} ${keyId} ${timestampMs} ${nonce}\n`);
}

const PREFIXES: Readonly<Record<AuthRole, Uint8Array>> = { request: encodeText('streampy-auth-1 request '), reply: encodeText('streampy-auth-1 reply ') };

/** The start of the signing input of `role`: `streampy-auth-1 <role> ` (a copy: signers keep one). */
export function authSigningPrefix(role: AuthRole): Uint8Array {
  return PREFIXES[role].slice();
}

function checkHeader(header: AuthHeader): void {
  let problem: string | undefined;
  if (!isAuthKeyId(header.keyId)) problem = `auth key id must be 1-${AUTH_KEY_ID_MAX} characters of A-Z a-z 0-9 _ . -, got "${header.keyId.slice(0, 40)}"`;
  else if (!Number.isSafeInteger(header.timestampMs) || header.timestampMs < 0 || header.timestampMs > TIMESTAMP_MAX) {
    problem = `auth timestamp must be an integer from 0 to ${TIMESTAMP_MAX}, got ${String(header.timestampMs)}`;
  } else if (!isHexOf(header.nonce, AUTH_NONCE_HEX)) problem = `auth nonce must be ${AUTH_NONCE_HEX} lowercase hex digits`;
  else if (!isHexOf(header.mac, AUTH_MAC_HEX)) problem = `auth mac must be ${AUTH_MAC_HEX} lowercase hex digits`;
  if (problem !== undefined) throw new StreampyError('ERR_INVALID_ARGUMENT', problem);
}

/** Copies the ASCII `text` (already checked) to `at`; returns the offset after it. */
function writeAscii(target: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) target[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/**
 * The AUTH frame (header included) for these fields: a sender puts it first in the datagram,
 * before the frames it signs. Throws `StreampyError` `ERR_INVALID_ARGUMENT` for fields the
 * grammar cannot carry (a caller's bug, never network input).
 */
export function encodeAuthFrame(header: AuthHeader): Uint8Array {
  checkHeader(header);
  const length = PAYLOAD_FIXED + header.keyId.length + decimalLength(header.timestampMs);
  const frame = new Uint8Array(HEADER + length);
  writeHeader(frame, 0, length, 2);
  frame.set(VERSION_BYTES, HEADER);
  let at = writeAscii(frame, AUTH_KEY_ID_START, header.keyId);
  frame[at++] = SPACE;
  at = writeDecimal(frame, at, header.timestampMs);
  frame[at++] = SPACE;
  at = writeAscii(frame, at, header.nonce);
  frame[at++] = SPACE;
  writeAscii(frame, at, header.mac);
  return frame;
}

const HEX_DIGITS = encodeText('0123456789abcdef');

/**
 * Writes a 32-byte MAC as 64 lowercase hex digits over the last 64 bytes of `target`: the MAC
 * field of an AUTH frame written with a placeholder MAC (a signer writes the frame first,
 * computes the MAC over its fields, then fills it in), or a 64-byte buffer to compare a
 * received MAC field with.
 */
export function writeAuthMac(target: Uint8Array, mac: Uint8Array): void {
  if (mac.length * 2 !== AUTH_MAC_HEX || target.length < AUTH_MAC_HEX) throw new StreampyError('ERR_INVALID_ARGUMENT', 'an auth MAC is 32 bytes, written into at least 64');
  let at = target.length - AUTH_MAC_HEX;
  for (let i = 0; i < mac.length; i++) {
    const b = mac[i] as number;
    target[at++] = HEX_DIGITS[b >> 4] as number;
    target[at++] = HEX_DIGITS[b & 15] as number;
  }
}

/** Where the fields of a datagram's AUTH frame are, found without building strings. */
export interface AuthFrameView {
  /** The key id is `datagram[AUTH_KEY_ID_START, keyEnd)`. */
  readonly keyEnd: number;
  readonly timestampMs: number;
  /** The nonce's 16 hex digits start here; the signed fields end 16 bytes later. */
  readonly nonceStart: number;
  /** The nonce as two 32-bit numbers (high and low halves), for a replay cache. */
  readonly nonceHigh: number;
  readonly nonceLow: number;
  /** The end of the AUTH frame: the signed frames start here, and its 64 MAC digits end here. */
  readonly restOffset: number;
}

/** The 32-bit value of 8 lowercase hex digits from `at`, or -1. */
function hex32(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let i = at; i < at + 8; i++) {
    const digit = lowHexValue(bytes[i] as number);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/**
 * The AUTH frame at the start of a datagram, or undefined when the datagram does not start
 * with a well-formed one (which a receiver that wants signatures treats as unsigned). Cheap on
 * anything else: a datagram whose first bytes are not `2HHAUTH1 ` is refused after at most
 * nine byte comparisons. Never throws, builds no strings.
 */
export function scanAuthFrame(datagram: Uint8Array): AuthFrameView | undefined {
  if (datagram.length < HEADER + PAYLOAD_MIN || datagram[0] !== 0x32) return undefined;
  const high = lowHexValue(datagram[1] as number);
  const low = lowHexValue(datagram[2] as number);
  if (high < 0 || low < 0) return undefined;
  const length = high * 16 + low;
  const end = HEADER + length;
  if (length < PAYLOAD_MIN || length > PAYLOAD_MAX || end > datagram.length) return undefined;
  for (let k = 0; k < VERSION_BYTES.length; k++) if (datagram[HEADER + k] !== VERSION_BYTES[k]) return undefined;

  let keyEnd = AUTH_KEY_ID_START;
  while (keyEnd < end && isNameByte(datagram[keyEnd] as number)) keyEnd++;
  if (keyEnd === AUTH_KEY_ID_START || keyEnd - AUTH_KEY_ID_START > AUTH_KEY_ID_MAX || datagram[keyEnd] !== SPACE) return undefined;

  const tsStart = keyEnd + 1;
  let tsEnd = tsStart;
  let timestampMs = 0;
  for (; tsEnd < end && tsEnd - tsStart <= TIMESTAMP_DIGITS_MAX; tsEnd++) {
    const digit = (datagram[tsEnd] as number) - 0x30;
    if (digit < 0 || digit > 9) break;
    timestampMs = timestampMs * 10 + digit;
  }
  const digits = tsEnd - tsStart;
  if (digits === 0 || digits > TIMESTAMP_DIGITS_MAX || datagram[tsEnd] !== SPACE) return undefined;
  if (digits > 1 && datagram[tsStart] === 0x30) return undefined; // one spelling: no leading zeros

  const nonceStart = tsEnd + 1;
  const macStart = nonceStart + AUTH_NONCE_HEX + 1;
  if (end - macStart !== AUTH_MAC_HEX || datagram[macStart - 1] !== SPACE) return undefined;
  const nonceHigh = hex32(datagram, nonceStart);
  const nonceLow = hex32(datagram, nonceStart + 8);
  if (nonceHigh < 0 || nonceLow < 0) return undefined;
  for (let i = macStart; i < end; i++) if (!isLowHex(datagram[i] as number)) return undefined;
  return { keyEnd, timestampMs, nonceStart, nonceHigh, nonceLow, restOffset: end };
}

/** `scanAuthFrame` with the fields as strings: for tools, tests and documentation. */
export function parseAuthHeader(datagram: Uint8Array): ParsedAuthHeader | undefined {
  const view = scanAuthFrame(datagram);
  if (view === undefined) return undefined;
  return {
    keyId: latin1(datagram, AUTH_KEY_ID_START, view.keyEnd),
    timestampMs: view.timestampMs,
    nonce: latin1(datagram, view.nonceStart, view.nonceStart + AUTH_NONCE_HEX),
    mac: latin1(datagram, view.restOffset - AUTH_MAC_HEX, view.restOffset),
    restOffset: view.restOffset,
  };
}
