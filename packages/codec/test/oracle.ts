import { CodecError, UnknownVerbError, decodeFrames, decodeText, encodeFrameInto, encodeText, encodedFrameLength, isWireErrorCode, isSeedForm, parseNodeStats, PROTOCOL_LIMITS } from '../src/index.js';
import type { Delivery, Reply, Request, Verb } from '../src/index.js';

/*
 * The reference implementations the codec had before its byte-level reader and writers: the
 * general request parser, the string-built request and reply encoders and the regex reply
 * parser. They are kept here, unchanged but for the typed STATS, as test oracles: property
 * tests prove the codec agrees with them on every input.
 */

const COLON = 0x3a;
const NAME_RE = /^[A-Za-z0-9_.-]+$/;

function badRequest(message: string): CodecError {
  return new CodecError('ERR_BAD_REQUEST', message);
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

/** The reference parser: every request form, every error. */
export function oracleParseRequest(payload: Uint8Array): Request {
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

/** UTF-8 bytes of a head; heads are nearly always ASCII, which is copied by hand (cheaper than a TextEncoder call). */
function headBytes(head: string, extra: number): { bytes: Uint8Array; at: number } {
  const n = head.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (head.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    const encoded = encodeText(head);
    const bytes = new Uint8Array(encoded.length + extra);
    bytes.set(encoded, 0);
    return { bytes, at: encoded.length };
  }
  const bytes = new Uint8Array(n + extra);
  for (let i = 0; i < n; i++) bytes[i] = head.charCodeAt(i);
  return { bytes, at: n };
}

function joinHeadBody(head: string, body: Uint8Array | undefined): Uint8Array {
  if (body === undefined) return headBytes(head, 0).bytes;
  const { bytes, at } = headBytes(head, 1 + body.length);
  bytes[at] = COLON;
  bytes.set(body, at + 1);
  return bytes;
}

/** The payload of a request (frame it with `encodeFrame`). */
export function oracleEncodeRequest(request: Request): Uint8Array {
  const parts: string[] = [];
  if (request.id !== undefined) parts.push(`#${request.id}`);
  parts.push(request.verb);
  let body: Uint8Array | undefined;
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) parts.push(`key=${request.key}`);
      body = request.body;
      break;
    case 'GET':
      if (request.max !== undefined) parts.push(`max=${request.max}`);
      break;
    case 'RESERVE':
      if (request.max !== undefined) parts.push(`max=${request.max}`);
      if (request.leaseMs !== undefined) parts.push(`lease=${request.leaseMs}`);
      break;
    case 'ACK':
      parts.push(request.token);
      break;
    case 'NACK':
      parts.push(request.token);
      if (request.delayMs !== undefined) parts.push(`delay=${request.delayMs}`);
      break;
    case 'EXTEND':
      parts.push(request.token, `lease=${request.leaseMs}`);
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
  if (request.queue !== undefined) parts.push(`q=${request.queue}`);
  return joinHeadBody(parts.join(' '), body);
}

/**
 * The payload of a reply. `seedForm` (see `isSeedForm`) selects the seed prototype's bytes
 * for PUT, GET and SIZE replies; errors are `ERR <CODE> <sentence>` in both forms.
 */
export function oracleEncodeReply(reply: Reply, seedForm = false): Uint8Array {
  const prefix = reply.id === undefined ? '' : `#${reply.id} `;
  switch (reply.kind) {
    case 'put':
      return joinHeadBody(`${prefix}PUT ${reply.bytes} bytes${reply.duplicate && !seedForm ? ' DUP' : ''}`, undefined);
    case 'message':
      return seedForm ? reply.body : joinHeadBody(`${prefix}MSG`, reply.body);
    case 'empty':
      return seedForm ? new Uint8Array(0) : joinHeadBody(`${prefix}EMPTY`, undefined);
    case 'size':
      return joinHeadBody(seedForm ? String(reply.size) : `${prefix}SIZE ${reply.size}`, undefined);
    case 'messages':
      return encodeBatch(`${prefix}MSGS ${reply.bodies.length}`, reply.bodies);
    case 'leased':
      return encodeBatch(`${prefix}LEASED ${reply.deliveries.length}`, reply.deliveries.map((d) => joinHeadBody(`${d.token} ${d.deliveries}`, d.body)));
    case 'ok':
      return joinHeadBody(`${prefix}OK`, undefined);
    case 'stats':
      return joinHeadBody(`${prefix}STATS`, encodeText(JSON.stringify(reply.stats)));
    case 'error':
      return joinHeadBody(`${prefix}ERR ${reply.code} ${reply.message}`, undefined);
  }
}

/** `<head>:` followed by one frame per item, in one allocation. */
function encodeBatch(head: string, items: readonly Uint8Array[]): Uint8Array {
  let total = 1;
  for (const item of items) total += encodedFrameLength(item.length);
  const { bytes, at } = headBytes(head, total);
  bytes[at] = COLON;
  let offset = at + 1;
  for (const item of items) offset = encodeFrameInto(bytes, offset, item);
  return bytes;
}

function badReply(message: string): CodecError {
  return new CodecError('ERR_BAD_REPLY', message);
}

function replyId(payload: Uint8Array): string | undefined {
  if (payload[0] !== 0x23) return undefined;
  const space = payload.indexOf(0x20);
  if (space < 2) return undefined;
  return latin1(payload, 1, space);
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
export function oracleParseReply(payload: Uint8Array, request: Request): Reply {
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
      if (typeof stats !== 'object' || stats === null || Array.isArray(stats)) throw badReply('STATS reply is not a JSON object');
      // The one change: STATS is typed now, its shape checked.
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
