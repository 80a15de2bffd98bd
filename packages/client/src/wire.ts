import { decodeFrames, type Delivery, type Request } from '@streampy/codec';

/*
 * The client's hot path over bytes: one request frame written in one allocation, and the common
 * replies read without building strings, splitting or regexes. The codec (`encodeRequest`,
 * `parseReply`) stays the reference: a test checks these produce and accept the same bytes, and
 * any reply read here does not recognise goes to `parseReply`, which also words every error.
 */

const COLON = 0x3a;
const SPACE = 0x20;
const HASH = 0x23;

/** What a request's reply resolves to; the fast reader knows every kind but `stats` and `any`. */
export type Expect = 'put' | 'get' | 'batch' | 'size' | 'leased' | 'ok' | 'stats' | 'any';

/** The fast reader did not recognise the reply: hand it to the codec's `parseReply`. */
export const NOT_FAST = Symbol('not-fast');

function head(request: Request): string {
  let text: string = request.verb;
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) text += ` key=${request.key}`;
      break;
    case 'GET':
      if (request.max !== undefined) text += ` max=${request.max}`;
      break;
    case 'RESERVE':
      if (request.max !== undefined) text += ` max=${request.max}`;
      if (request.leaseMs !== undefined) text += ` lease=${request.leaseMs}`;
      break;
    case 'ACK':
      text += ` ${request.token}`;
      break;
    case 'NACK':
      text += ` ${request.token}`;
      if (request.delayMs !== undefined) text += ` delay=${request.delayMs}`;
      break;
    case 'EXTEND':
      text += ` ${request.token} lease=${request.leaseMs}`;
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
  if (request.queue !== undefined) text += ` q=${request.queue}`;
  return text;
}

/**
 * The frame of `request` with correlation id `id` (none for seed form): the bytes of
 * `encodeFrame(encodeRequest({ ...request, id }))`. Every head character is ASCII, since
 * names, tokens and ids are checked against `[A-Za-z0-9_.-]` before this is called.
 */
export function encodeRequestFrame(request: Request, id: string | undefined): Uint8Array {
  const text = id === undefined ? head(request) : `#${id} ${head(request)}`;
  const body = request.verb === 'PUT' ? request.body : undefined;
  const length = body === undefined ? text.length : text.length + 1 + body.length;
  const digits = length.toString(16);
  const start = 1 + digits.length;
  const frame = new Uint8Array(start + length);
  frame[0] = digits.length.toString(16).charCodeAt(0);
  for (let i = 0; i < digits.length; i++) frame[1 + i] = digits.charCodeAt(i);
  for (let i = 0; i < text.length; i++) frame[start + i] = text.charCodeAt(i);
  if (body !== undefined) {
    frame[start + text.length] = COLON;
    frame.set(body, start + text.length + 1);
  }
  return frame;
}

/** The ASCII bytes of a correlation-id prefix, to match reply ids without building strings. */
export function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function base36Digit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x7a) return byte - 0x61 + 10;
  return -1;
}

/**
 * The counter of a reply id `#<prefix><base-36 counter> `, or -1 when the reply carries no id
 * or one this client did not make. `prefix` is the client's id prefix as bytes.
 */
export function replyCounter(payload: Uint8Array, prefix: Uint8Array): number {
  if (payload[0] !== HASH) return -1;
  const first = 1 + prefix.length;
  for (let i = 0; i < prefix.length; i++) if (payload[1 + i] !== prefix[i]) return -1;
  let value = 0;
  let i = first;
  // 10 base-36 digits stay below 2^53.
  for (; i < payload.length && i - first <= 10; i++) {
    const byte = payload[i] as number;
    if (byte === SPACE) return i === first ? -1 : value;
    const digit = base36Digit(byte);
    if (digit < 0) return -1;
    value = value * 36 + digit;
  }
  return -1;
}

/** Where the status word starts: after `#id `, or 0 without an id. */
export function statusStart(payload: Uint8Array): number {
  if (payload[0] !== HASH) return 0;
  const space = payload.indexOf(SPACE);
  return space < 0 ? payload.length : space + 1;
}

/** True when `payload` holds the ASCII `word` at `at`. */
function hasWord(payload: Uint8Array, at: number, word: string): boolean {
  if (at + word.length > payload.length) return false;
  for (let i = 0; i < word.length; i++) if (payload[at + i] !== word.charCodeAt(i)) return false;
  return true;
}

/** A decimal count of 1-15 digits from `at` to `end`, or -1. */
function count(payload: Uint8Array, at: number, end: number): number {
  if (end <= at || end - at > 15) return -1;
  let value = 0;
  for (let i = at; i < end; i++) {
    const digit = (payload[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** Exactly `word` from `at` to the end of the payload. */
function isOnly(payload: Uint8Array, at: number, word: string): boolean {
  return at + word.length === payload.length && hasWord(payload, at, word);
}

/** `MSG` or `MSG:<body>`: the body, or undefined. */
function message(payload: Uint8Array, at: number): Uint8Array | undefined {
  if (!hasWord(payload, at, 'MSG')) return undefined;
  const end = at + 3;
  if (end === payload.length) return payload.subarray(end);
  return payload[end] === COLON ? payload.subarray(end + 1) : undefined;
}

/** The frames after `<word> <n>:`, when there are exactly n; else undefined. */
function counted(payload: Uint8Array, at: number, word: string): Uint8Array[] | undefined {
  if (!hasWord(payload, at, word) || payload[at + word.length] !== SPACE) return undefined;
  const digits = at + word.length + 1;
  const colon = payload.indexOf(COLON, digits);
  if (colon < 0) return undefined;
  const n = count(payload, digits, colon);
  if (n <= 0 || colon + 1 === payload.length) return undefined;
  let frames: Uint8Array[];
  try {
    frames = decodeFrames(payload.subarray(colon + 1));
  } catch {
    return undefined;
  }
  return frames.length === n ? frames : undefined;
}

function delivery(item: Uint8Array): Delivery | undefined {
  const space = item.indexOf(SPACE);
  const colon = item.indexOf(COLON);
  if (space <= 0 || colon < space) return undefined;
  const deliveries = count(item, space + 1, colon);
  if (deliveries < 0) return undefined;
  let token = '';
  for (let i = 0; i < space; i++) token += String.fromCharCode(item[i] as number);
  return { token, deliveries, body: item.subarray(colon + 1) };
}

/** `PUT <n> bytes` or `PUT <n> bytes DUP`, nothing else. */
function putResult(payload: Uint8Array, at: number): { bytes: number; duplicate: boolean } | undefined {
  if (!hasWord(payload, at, 'PUT ')) return undefined;
  const digits = at + 4;
  const space = payload.indexOf(SPACE, digits);
  if (space < 0) return undefined;
  const bytes = count(payload, digits, space);
  if (bytes < 0) return undefined;
  if (isOnly(payload, space, ' bytes')) return { bytes, duplicate: false };
  if (isOnly(payload, space, ' bytes DUP')) return { bytes, duplicate: true };
  return undefined;
}

/**
 * The value an extended reply resolves a request to, read from the status word at `at`; or
 * `NOT_FAST` for anything else (errors, STATS, malformed or mismatched replies).
 */
export function readReply(payload: Uint8Array, at: number, expect: Expect): unknown {
  switch (expect) {
    case 'put':
      return putResult(payload, at) ?? NOT_FAST;
    case 'get':
      if (isOnly(payload, at, 'EMPTY')) return undefined;
      return message(payload, at) ?? NOT_FAST;
    case 'batch': {
      if (isOnly(payload, at, 'EMPTY')) return [];
      const single = message(payload, at);
      if (single !== undefined) return [single];
      return counted(payload, at, 'MSGS') ?? NOT_FAST;
    }
    case 'leased': {
      if (isOnly(payload, at, 'EMPTY')) return [];
      const items = counted(payload, at, 'LEASED');
      if (items === undefined) return NOT_FAST;
      const deliveries: Delivery[] = [];
      for (const item of items) {
        const leased = delivery(item);
        if (leased === undefined) return NOT_FAST;
        deliveries.push(leased);
      }
      return deliveries;
    }
    case 'size': {
      if (!hasWord(payload, at, 'SIZE ')) return NOT_FAST;
      const size = count(payload, at + 5, payload.length);
      return size < 0 ? NOT_FAST : size;
    }
    case 'ok':
      return isOnly(payload, at, 'OK') ? undefined : NOT_FAST;
    case 'stats':
    case 'any':
      return NOT_FAST;
  }
}
