import { CodecError } from './errors.js';
import { decodeFrames } from './frame.js';
import { COLON, HASH, SPACE, hasWord, latin1, readCount, wordEnd } from './grammar.js';
import { isSeedForm, type Delivery, type Reply, type Request, type Verb } from './protocol.js';
import { parseNodeStats } from './stats.js';
import { decodeText } from './text.js';
import { isWireErrorCode } from './wire-errors.js';

/*
 * The reply reader, byte by byte:
 *
 *   reply = [ "#" id " " ] status [ ":" body ]
 *
 * The status word and its counts are read from the bytes; strings are made only for the
 * fields a reply carries (id, tokens, error messages). Every result and every error (code and
 * sentence) is the reference reader's, kept in test/oracle.ts; a property test holds the two equal.
 */

function badReply(message: string): CodecError {
  return new CodecError('ERR_BAD_REPLY', message);
}

/** Up to 80 characters of the head from `start` to `end`, for error messages. */
function shown(payload: Uint8Array, start: number, end: number): string {
  return latin1(payload, start, Math.min(end, start + 80));
}

/** `[A-Z_]`: a byte of a wire error code. */
function isCodeByte(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || b === 0x5f;
}

/**
 * `ERR <CODE>[ <message>]` from `start` (the message: the rest of the payload, UTF-8, the
 * body after a colon included), or undefined when the bytes there are not that form. An
 * unknown code becomes `INTERNAL`.
 */
function readError(payload: Uint8Array, start: number, id: string | undefined): Reply | undefined {
  if (!hasWord(payload, start, 'ERR ')) return undefined;
  const codeStart = start + 4;
  let i = codeStart;
  while (i < payload.length && isCodeByte(payload[i] as number)) i++;
  if (i === codeStart) return undefined;
  const code = latin1(payload, codeStart, i);
  if (payload[i] === SPACE) i++;
  const message = decodeText(payload.subarray(i));
  const wire = isWireErrorCode(code) ? code : 'INTERNAL';
  return id === undefined ? { kind: 'error', code: wire, message } : { id, kind: 'error', code: wire, message };
}

function isWord(payload: Uint8Array, start: number, end: number, word: string): boolean {
  return end - start === word.length && hasWord(payload, start, word);
}

/** A decimal of any number of digits from `start` to `end` as `Number` reads it, or -1. */
function digitsValue(payload: Uint8Array, start: number, end: number): number {
  if (end === start) return -1;
  if (end - start <= 15) return readCount(payload, start, end);
  for (let i = start; i < end; i++) if ((payload[i] as number) < 0x30 || (payload[i] as number) > 0x39) return -1;
  return Number(latin1(payload, start, end));
}

/**
 * The byte count of `PUT <digits> bytes` (typed: or `... bytes DUP`, see `isDuplicate`), exactly
 * from `start` to `end`; -1 for anything else.
 */
function readPut(payload: Uint8Array, start: number, end: number, allowDuplicate: boolean): number {
  if (!hasWord(payload, start, 'PUT ')) return -1;
  const digits = start + 4;
  const space = wordEnd(payload, digits, end);
  const bytes = digitsValue(payload, digits, space);
  if (bytes < 0) return -1;
  if (isWord(payload, space, end, ' bytes') || (allowDuplicate && isWord(payload, space, end, ' bytes DUP'))) return bytes;
  return -1;
}

/** Of a head `readPut` accepted: whether it ends in ` DUP` (the other form ends in ` bytes`). */
function isDuplicate(payload: Uint8Array, end: number): boolean {
  return payload[end - 1] === 0x50; // P
}

/** The second word of the head (from `start`, a space, to the next space or `end`) as a count. */
function countAfter(payload: Uint8Array, wordStop: number, end: number): number {
  if (wordStop >= end) throw badReply('expected a count, got ""');
  const start = wordStop + 1;
  const stop = wordEnd(payload, start, end);
  const value = readCount(payload, start, stop);
  if (value < 0) throw badReply(`expected a count, got "${latin1(payload, start, stop)}"`);
  return value;
}

function readDelivery(item: Uint8Array): Delivery {
  const colon = item.indexOf(COLON);
  if (colon < 0) throw badReply('leased item without a body separator');
  const tokenEnd = wordEnd(item, 0, colon);
  if (tokenEnd === 0) throw badReply('leased item without a token');
  return { token: latin1(item, 0, tokenEnd), deliveries: countAfter(item, tokenEnd, colon), body: item.subarray(colon + 1) };
}

/** The frames of a batch reply's body, checked against the count in its head. */
function batchItems(payload: Uint8Array, body: number, wordStop: number, headEnd: number, status: string): Uint8Array[] {
  const items = body >= payload.length ? [] : decodeFrames(payload.subarray(body));
  if (items.length !== countAfter(payload, wordStop, headEnd)) throw badReply(`${status} count disagrees with the frames it carries`);
  return items;
}

function readStats(body: Uint8Array): unknown {
  try {
    return JSON.parse(decodeText(body));
  } catch (cause) {
    throw new CodecError('ERR_BAD_REPLY', 'STATS reply is not JSON', { cause });
  }
}

/**
 * Parses a reply payload to `request`. Seed-form requests are read as the seed prototype
 * answers them (a GET reply is the bare message); others by their status word. `seedForm`
 * defaults to `isSeedForm(request)`: a client that keeps a request's id apart passes it.
 */
export function parseReply(payload: Uint8Array, request: Request, seedForm: boolean = isSeedForm(request)): Reply {
  if (seedForm) return parseSeedReply(payload, request.verb);
  const n = payload.length;
  let id: string | undefined;
  let start = 0;
  if (payload[0] === HASH) {
    let space = 1;
    while (space < n && payload[space] !== SPACE) space++;
    if (space < n && space >= 2) {
      id = latin1(payload, 1, space);
      start = space + 1;
    }
  }
  // The status word ends at a space, the colon that ends the head, or the end.
  const wordStop = wordEnd(payload, start, n);
  const headEnd = payload[wordStop] === SPACE ? colonFrom(payload, wordStop) : wordStop;
  const body = headEnd < n ? headEnd + 1 : n;
  switch (wordStop - start) {
    case 2:
      if (isWord(payload, start, wordStop, 'OK')) return id === undefined ? { kind: 'ok' } : { id, kind: 'ok' };
      break;
    case 3:
      if (isWord(payload, start, wordStop, 'MSG')) {
        const message = payload.subarray(body);
        return id === undefined ? { kind: 'message', body: message } : { id, kind: 'message', body: message };
      }
      if (isWord(payload, start, wordStop, 'PUT')) {
        const bytes = readPut(payload, start, headEnd, true);
        if (bytes < 0) throw badReply(`malformed PUT reply "${shown(payload, start, headEnd)}"`);
        const duplicate = isDuplicate(payload, headEnd);
        return id === undefined ? { kind: 'put', bytes, duplicate } : { id, kind: 'put', bytes, duplicate };
      }
      // "ERR" alone or before a colon is no error reply: the head must start with "ERR ".
      if (isWord(payload, start, wordStop, 'ERR') && wordStop < headEnd) {
        const error = readError(payload, start, id);
        if (error !== undefined) return error;
        decodeText(payload.subarray(start)); // invalid UTF-8 is reported as such first
        throw badReply(`malformed error reply "${shown(payload, start, headEnd)}"`);
      }
      break;
    case 4:
      if (isWord(payload, start, wordStop, 'SIZE')) {
        const size = countAfter(payload, wordStop, headEnd);
        return id === undefined ? { kind: 'size', size } : { id, kind: 'size', size };
      }
      if (isWord(payload, start, wordStop, 'MSGS')) {
        const bodies = batchItems(payload, body, wordStop, headEnd, 'MSGS');
        return id === undefined ? { kind: 'messages', bodies } : { id, kind: 'messages', bodies };
      }
      break;
    case 5:
      if (isWord(payload, start, wordStop, 'EMPTY')) return id === undefined ? { kind: 'empty' } : { id, kind: 'empty' };
      if (isWord(payload, start, wordStop, 'STATS')) {
        const stats = parseNodeStats(readStats(payload.subarray(body)));
        return id === undefined ? { kind: 'stats', stats } : { id, kind: 'stats', stats };
      }
      break;
    case 6:
      if (isWord(payload, start, wordStop, 'LEASED')) {
        const items = batchItems(payload, body, wordStop, headEnd, 'LEASED');
        const deliveries: Delivery[] = new Array<Delivery>(items.length);
        for (let i = 0; i < items.length; i++) deliveries[i] = readDelivery(items[i] as Uint8Array);
        return id === undefined ? { kind: 'leased', deliveries } : { id, kind: 'leased', deliveries };
      }
      break;
  }
  throw badReply(`unknown reply status "${shown(payload, start, headEnd)}"`);
}

/** The first colon from `at`, or the end: a short scan, cheaper than a call to `indexOf`. */
function colonFrom(payload: Uint8Array, at: number): number {
  let i = at;
  while (i < payload.length && payload[i] !== COLON) i++;
  return i;
}

/** The seed's replies: `PUT <n> bytes`, a bare message for GET (empty: none), a bare decimal for SIZE. */
function parseSeedReply(payload: Uint8Array, verb: Verb): Reply {
  if (verb === 'GET') return payload.length === 0 ? { kind: 'empty' } : { kind: 'message', body: payload };
  if (verb === 'PUT') {
    const bytes = readPut(payload, 0, payload.length, false);
    if (bytes >= 0) return { kind: 'put', bytes, duplicate: false };
  } else {
    const size = readCount(payload, 0, payload.length);
    if (size >= 0) return { kind: 'size', size };
  }
  // Not the reply expected: UTF-8 is checked first, then an error reply, else it is malformed.
  const text = decodeText(payload);
  const error = readError(payload, 0, undefined);
  if (error !== undefined) return error;
  throw badReply(`malformed ${verb === 'PUT' ? 'PUT' : 'SIZE'} reply "${text.slice(0, 80)}"`);
}
