import { CodecError } from './errors.js';
import { decodeFrames } from './frame.js';
import { replyId } from './ids.js';
import { type NodeStats, parseNodeStats } from './stats.js';
import { decodeText } from './text.js';
import { isWireErrorCode, type WireErrorCode } from './wire-errors.js';

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

const COLON = 0x3a;
const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function badRequest(message: string): CodecError {
  return new CodecError('ERR_BAD_REQUEST', message);
}

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

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

function parseCount(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,15}$/.test(text)) throw badRequest(`${name} must be a decimal integer, got "${text}"`);
  const value = Number(text);
  if (value < min || value > max) throw badRequest(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function checkName(what: string, value: string, maxLength: number): string {
  if (value.length === 0 || value.length > maxLength || !NAME_RE.test(value)) {
    throw badRequest(`${what} must be 1-${maxLength} characters of A-Z a-z 0-9 _ . -, got "${value.slice(0, 80)}"`);
  }
  return value;
}

/** Error thrown by `parseRequest` for an unknown verb; carries the verb text. */
export class UnknownVerbError extends CodecError {
  readonly verb: string;
  constructor(verb: string) {
    super('ERR_UNKNOWN_VERB', `unknown verb "${verb.slice(0, 40)}"; known: PUT GET SIZE RESERVE ACK NACK EXTEND STATS`);
    this.verb = verb;
  }
}

/**
 * Parses a request payload. Throws `UnknownVerbError` for an unknown verb and `CodecError`
 * `ERR_BAD_REQUEST` for malformed arguments. The body of a PUT is a view into `payload`.
 * Only the head (before the first `:`) is examined; callers validate UTF-8 where they need to.
 */
export function parseRequest(payload: Uint8Array): Request {
  return parseCommonRequest(payload) ?? parseRequestGeneral(payload);
}

// ---- fast path: the heads a busy node sees most, read byte by byte -------------------------

const SPACE = 0x20;
const HASH = 0x23;

/** A byte of the name rule `[A-Za-z0-9_.-]`. */
function isNameByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2e || b === 0x2d;
}

/** End of the run of name bytes from `start`. */
function nameEnd(payload: Uint8Array, start: number): number {
  let i = start;
  while (i < payload.length && isNameByte(payload[i] as number)) i++;
  return i;
}

/** True when `payload` holds the ASCII `word` at `at`. */
function hasWord(payload: Uint8Array, at: number, word: string): boolean {
  if (at + word.length > payload.length) return false;
  for (let k = 0; k < word.length; k++) if (payload[at + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** True at the end of the head: the end of the payload or the first `:`. */
function atHeadEnd(payload: Uint8Array, at: number): boolean {
  return at === payload.length || payload[at] === COLON;
}

/**
 * The `max=<digits>` (and, for RESERVE, `lease=<digits>`) arguments read by hand; undefined
 * sends the request to the general parser.
 */
function fastCounts(payload: Uint8Array, at: number, allowLease: boolean): { max?: number; leaseMs?: number } | undefined {
  const counts: { max?: number; leaseMs?: number } = {};
  let i = at;
  while (!atHeadEnd(payload, i)) {
    if (payload[i] !== SPACE) return undefined;
    i++;
    const isMax = hasWord(payload, i, 'max=');
    if (!isMax && !(allowLease && hasWord(payload, i, 'lease='))) return undefined;
    i += isMax ? 4 : 6;
    const start = i;
    let value = 0;
    while (i < payload.length && (payload[i] as number) >= 0x30 && (payload[i] as number) <= 0x39) value = value * 10 + (payload[i++] as number) - 0x30;
    if (i === start || i - start > 15) return undefined;
    if (isMax) {
      if (counts.max !== undefined || value < 1 || value > PROTOCOL_LIMITS.maxBatch) return undefined;
      counts.max = value;
    } else {
      if (counts.leaseMs !== undefined || value < 1 || value > PROTOCOL_LIMITS.maxLeaseMs) return undefined;
      counts.leaseMs = value;
    }
  }
  return counts;
}

function fastReserve(payload: Uint8Array, at: number, id: string | undefined): Request | undefined {
  const counts = fastCounts(payload, at, true);
  if (counts === undefined) return undefined;
  const request: { id?: string; verb: 'RESERVE'; max?: number; leaseMs?: number } = { verb: 'RESERVE' };
  if (id !== undefined) request.id = id;
  if (counts.max !== undefined) request.max = counts.max;
  if (counts.leaseMs !== undefined) request.leaseMs = counts.leaseMs;
  return request;
}

function fastGet(payload: Uint8Array, at: number, id: string | undefined): Request | undefined {
  // The seed ignored anything after `GET:`, so the head ends at the first colon here too.
  const counts = fastCounts(payload, at, false);
  if (counts === undefined) return undefined;
  const request: { id?: string; verb: 'GET'; max?: number } = { verb: 'GET' };
  if (id !== undefined) request.id = id;
  if (counts.max !== undefined) request.max = counts.max;
  return request;
}

/**
 * The common requests (`PUT:`, `GET [max=]`, `SIZE`, `RESERVE [max=] [lease=]`, `ACK <token>`, each
 * with an optional `#id`) parsed without building strings for the head. Anything else, valid
 * or not, returns undefined and goes to the general parser, which is the reference: the two
 * agree on every input this accepts (a property test checks it).
 */
export function parseCommonRequest(payload: Uint8Array): Request | undefined {
  let at = 0;
  let id: string | undefined;
  if (payload[0] === HASH) {
    const end = nameEnd(payload, 1);
    if (end === 1 || end - 1 > PROTOCOL_LIMITS.maxIdLength || payload[end] !== SPACE) return undefined;
    id = latin1(payload, 1, end);
    at = end + 1;
  }
  switch (payload[at]) {
    case 0x50: // P
      if (!hasWord(payload, at, 'PUT')) return undefined;
      at += 3;
      if (at === payload.length) return id === undefined ? { verb: 'PUT', body: payload.subarray(at) } : { id, verb: 'PUT', body: payload.subarray(at) };
      if (payload[at] !== COLON) return undefined;
      return id === undefined ? { verb: 'PUT', body: payload.subarray(at + 1) } : { id, verb: 'PUT', body: payload.subarray(at + 1) };
    case 0x47: // G
      return hasWord(payload, at, 'GET') ? fastGet(payload, at + 3, id) : undefined;
    case 0x53: // S
      if (!hasWord(payload, at, 'SIZE') || !atHeadEnd(payload, at + 4)) return undefined;
      return id === undefined ? { verb: 'SIZE' } : { id, verb: 'SIZE' };
    case 0x52: // R
      return hasWord(payload, at, 'RESERVE') ? fastReserve(payload, at + 7, id) : undefined;
    case 0x41: {
      // A
      if (!hasWord(payload, at, 'ACK ')) return undefined;
      const end = nameEnd(payload, at + 4);
      if (end === at + 4 || end - at - 4 > PROTOCOL_LIMITS.maxNameLength || !atHeadEnd(payload, end)) return undefined;
      const token = latin1(payload, at + 4, end);
      return id === undefined ? { verb: 'ACK', token } : { id, verb: 'ACK', token };
    }
    default:
      return undefined;
  }
}

/** The reference parser: every request form, every error. */
export function parseRequestGeneral(payload: Uint8Array): Request {
  let headEnd = payload.indexOf(COLON);
  const hasBody = headEnd >= 0;
  if (!hasBody) headEnd = payload.length;
  const head = latin1(payload, 0, headEnd);
  const tokens = head.split(' ');
  let id: string | undefined;
  if (tokens[0]?.startsWith('#')) {
    id = checkName('request id', tokens[0].slice(1), PROTOCOL_LIMITS.maxIdLength);
    tokens.shift();
  }
  const verbText = tokens.shift() ?? '';
  // No prototype: an argument named `__proto__` or `constructor` is just an unknown argument.
  const options = Object.create(null) as Record<string, string>;
  const positional: string[] = [];
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq > 0) {
      const key = token.slice(0, eq);
      if (Object.hasOwn(options, key)) throw badRequest(`argument ${key} given twice`);
      options[key] = token.slice(eq + 1);
    } else positional.push(token);
  }
  const base: { id?: string; queue?: string } = {};
  if (id !== undefined) base.id = id;
  if (options.q !== undefined) base.queue = checkName('queue name', options.q, PROTOCOL_LIMITS.maxNameLength);
  const allow = (keys: string[], positionals: number): void => {
    for (const key of Object.keys(options)) {
      if (key !== 'q' && !keys.includes(key)) throw badRequest(`${verbText} takes no argument "${key}"`);
    }
    if (positional.length !== positionals) {
      throw badRequest(`${verbText} takes ${positionals === 0 ? 'no' : positionals} positional argument${positionals === 1 ? '' : 's'}, got ${positional.length}`);
    }
  };
  switch (verbText) {
    case 'PUT': {
      allow(['key'], 0);
      const body = hasBody ? payload.subarray(headEnd + 1) : payload.subarray(payload.length);
      if (options.key !== undefined) {
        return { ...base, verb: 'PUT', body, key: checkName('key', options.key, PROTOCOL_LIMITS.maxNameLength) };
      }
      return { ...base, verb: 'PUT', body };
    }
    case 'GET':
      // The seed ignored anything after `GET:`, so the body is ignored here too.
      allow(['max'], 0);
      if (options.max !== undefined) return { ...base, verb: 'GET', max: parseCount('max', options.max, 1, PROTOCOL_LIMITS.maxBatch) };
      return { ...base, verb: 'GET' };
    case 'SIZE':
      allow([], 0);
      return { ...base, verb: 'SIZE' };
    case 'STATS':
      allow([], 0);
      return { ...base, verb: 'STATS' };
    case 'RESERVE': {
      allow(['max', 'lease'], 0);
      const request: { max?: number; leaseMs?: number } = {};
      if (options.max !== undefined) request.max = parseCount('max', options.max, 1, PROTOCOL_LIMITS.maxBatch);
      if (options.lease !== undefined) request.leaseMs = parseCount('lease', options.lease, 1, PROTOCOL_LIMITS.maxLeaseMs);
      return { ...base, verb: 'RESERVE', ...request };
    }
    case 'ACK': {
      allow([], 1);
      return { ...base, verb: 'ACK', token: checkName('lease token', positional[0] as string, PROTOCOL_LIMITS.maxNameLength) };
    }
    case 'NACK': {
      allow(['delay'], 1);
      const token = checkName('lease token', positional[0] as string, PROTOCOL_LIMITS.maxNameLength);
      if (options.delay !== undefined) {
        return { ...base, verb: 'NACK', token, delayMs: parseCount('delay', options.delay, 0, PROTOCOL_LIMITS.maxLeaseMs) };
      }
      return { ...base, verb: 'NACK', token };
    }
    case 'EXTEND': {
      allow(['lease'], 1);
      if (options.lease === undefined) throw badRequest('EXTEND needs lease=<ms>');
      return {
        ...base,
        verb: 'EXTEND',
        token: checkName('lease token', positional[0] as string, PROTOCOL_LIMITS.maxNameLength),
        leaseMs: parseCount('lease', options.lease, 1, PROTOCOL_LIMITS.maxLeaseMs),
      };
    }
    default:
      throw new UnknownVerbError(verbText);
  }
}

function badReply(message: string): CodecError {
  return new CodecError('ERR_BAD_REPLY', message);
}

function parseError(text: string, id: string | undefined): Reply | undefined {
  const match = /^ERR ([A-Z_]+) ?(.*)$/s.exec(text);
  if (!match) return undefined;
  const code = match[1] as string;
  const base = id === undefined ? {} : { id };
  return { ...base, kind: 'error', code: isWireErrorCode(code) ? code : 'INTERNAL', message: match[2] ?? '' };
}

/**
 * Parses a reply payload to `request`. Seed-form requests are read as the seed prototype
 * answers them (a GET reply is the bare message); others by their status word.
 */
export function parseReply(payload: Uint8Array, request: Request): Reply {
  if (isSeedForm(request)) return parseSeedReply(payload, request.verb);
  const id = replyId(payload);
  const start = id === undefined ? 0 : id.length + 2;
  let headEnd = payload.indexOf(COLON, start);
  const hasBody = headEnd >= 0;
  if (!hasBody) headEnd = payload.length;
  const body = payload.subarray(hasBody ? headEnd + 1 : payload.length);
  const head = latin1(payload, start, headEnd);
  const base = id === undefined ? {} : { id };
  if (head.startsWith('ERR ')) {
    return parseError(decodeText(payload.subarray(start)), id) ?? raise(badReply(`malformed error reply "${head.slice(0, 80)}"`));
  }
  const words = head.split(' ');
  switch (words[0]) {
    case 'PUT': {
      const match = /^PUT (\d+) bytes( DUP)?$/.exec(head);
      if (!match) throw badReply(`malformed PUT reply "${head.slice(0, 80)}"`);
      return { ...base, kind: 'put', bytes: Number(match[1]), duplicate: match[2] !== undefined };
    }
    case 'MSG':
      return { ...base, kind: 'message', body };
    case 'EMPTY':
      return { ...base, kind: 'empty' };
    case 'SIZE':
      return { ...base, kind: 'size', size: parseReplyCount(words[1]) };
    case 'OK':
      return { ...base, kind: 'ok' };
    case 'MSGS': {
      const bodies = body.length === 0 ? [] : decodeFrames(body);
      if (bodies.length !== parseReplyCount(words[1])) throw badReply('MSGS count disagrees with the frames it carries');
      return { ...base, kind: 'messages', bodies };
    }
    case 'LEASED': {
      const items = body.length === 0 ? [] : decodeFrames(body);
      if (items.length !== parseReplyCount(words[1])) throw badReply('LEASED count disagrees with the frames it carries');
      return { ...base, kind: 'leased', deliveries: items.map(parseDelivery) };
    }
    case 'STATS': {
      let stats: unknown;
      try {
        stats = JSON.parse(decodeText(body));
      } catch (cause) {
        throw new CodecError('ERR_BAD_REPLY', 'STATS reply is not JSON', { cause });
      }
      return { ...base, kind: 'stats', stats: parseNodeStats(stats) };
    }
    default:
      throw badReply(`unknown reply status "${head.slice(0, 80)}"`);
  }
}

function raise(error: Error): never {
  throw error;
}

function parseReplyCount(text: string | undefined): number {
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw badReply(`expected a count, got "${text ?? ''}"`);
  return Number(text);
}

function parseDelivery(item: Uint8Array): Delivery {
  const colon = item.indexOf(COLON);
  if (colon < 0) throw badReply('leased item without a body separator');
  const [token, deliveries] = latin1(item, 0, colon).split(' ');
  if (token === undefined || token.length === 0) throw badReply('leased item without a token');
  return { token, deliveries: parseReplyCount(deliveries), body: item.subarray(colon + 1) };
}

function parseSeedReply(payload: Uint8Array, verb: Verb): Reply {
  if (verb === 'GET') {
    // The seed answers GET with the bare message; an empty payload means an empty queue.
    return payload.length === 0 ? { kind: 'empty' } : { kind: 'message', body: payload };
  }
  const text = decodeText(payload);
  const error = parseError(text, undefined);
  if (error) return error;
  if (verb === 'PUT') {
    const match = /^PUT (\d+) bytes$/.exec(text);
    if (!match) throw badReply(`malformed PUT reply "${text.slice(0, 80)}"`);
    return { kind: 'put', bytes: Number(match[1]), duplicate: false };
  }
  if (!/^\d{1,15}$/.test(text)) throw badReply(`malformed SIZE reply "${text.slice(0, 80)}"`);
  return { kind: 'size', size: Number(text) };
}
