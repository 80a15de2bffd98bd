import { encodedFrameLength, hexDigitCount, writeHeader } from './frame.js';
import { COLON, EQUALS, HASH, SPACE, decimalLength, isAscii, writeDecimal } from './grammar.js';
import type { Request } from './protocol.js';
import { utf8Length, writeText } from './text.js';

/*
 * The request encoder: `[#id ]VERB[ args][ q=queue][:body]`, written straight into a buffer.
 * One head layout, measured by `payloadLength` and written by `writePayload`, so that the two
 * can never disagree.
 */

/** Bytes of a string field: its length when ASCII (ids, names and tokens always are). */
function textLength(text: string): number {
  return isAscii(text) ? text.length : utf8Length(text);
}

/** Bytes of a number as `String(value)` writes it. */
function numberLength(value: number): number {
  return Number.isSafeInteger(value) && value >= 0 ? decimalLength(value) : String(value).length;
}

function writeNumber(target: Uint8Array, at: number, value: number): number {
  return Number.isSafeInteger(value) && value >= 0 ? writeDecimal(target, at, value) : writeText(target, at, String(value));
}

/** ` <name>=<value>` */
function argLength(name: string, value: number): number {
  return 2 + name.length + numberLength(value);
}

function writeArg(target: Uint8Array, at: number, name: string, value: number): number {
  target[at++] = SPACE;
  at = writeText(target, at, name);
  target[at++] = EQUALS;
  return writeNumber(target, at, value);
}

/** Payload bytes of `request` with correlation id `id`. */
function payloadLength(request: Request, id: string | undefined): number {
  let n = request.verb.length;
  if (id !== undefined) n += 2 + textLength(id);
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) n += 5 + textLength(request.key);
      n += 1 + request.body.length;
      break;
    case 'GET':
      if (request.max !== undefined) n += argLength('max', request.max);
      break;
    case 'RESERVE':
      if (request.max !== undefined) n += argLength('max', request.max);
      if (request.leaseMs !== undefined) n += argLength('lease', request.leaseMs);
      break;
    case 'ACK':
      n += 1 + textLength(request.token);
      break;
    case 'NACK':
      n += 1 + textLength(request.token);
      if (request.delayMs !== undefined) n += argLength('delay', request.delayMs);
      break;
    case 'EXTEND':
      n += 1 + textLength(request.token) + argLength('lease', request.leaseMs);
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
  if (request.queue !== undefined) n += 3 + textLength(request.queue);
  return n;
}

function writeField(target: Uint8Array, at: number, prefix: string, text: string): number {
  target[at++] = SPACE;
  return writeText(target, writeText(target, at, prefix), text);
}

/** Writes the payload at `at` (room checked by the caller); returns the offset after it. */
function writePayload(target: Uint8Array, at: number, request: Request, id: string | undefined): number {
  if (id !== undefined) {
    target[at++] = HASH;
    at = writeText(target, at, id);
    target[at++] = SPACE;
  }
  at = writeText(target, at, request.verb);
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) at = writeField(target, at, 'key=', request.key);
      break;
    case 'GET':
      if (request.max !== undefined) at = writeArg(target, at, 'max', request.max);
      break;
    case 'RESERVE':
      if (request.max !== undefined) at = writeArg(target, at, 'max', request.max);
      if (request.leaseMs !== undefined) at = writeArg(target, at, 'lease', request.leaseMs);
      break;
    case 'ACK':
      at = writeField(target, at, '', request.token);
      break;
    case 'NACK':
      at = writeField(target, at, '', request.token);
      if (request.delayMs !== undefined) at = writeArg(target, at, 'delay', request.delayMs);
      break;
    case 'EXTEND':
      at = writeField(target, at, '', request.token);
      at = writeArg(target, at, 'lease', request.leaseMs);
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
  if (request.queue !== undefined) at = writeField(target, at, 'q=', request.queue);
  if (request.verb === 'PUT') {
    target[at++] = COLON;
    target.set(request.body, at);
    at += request.body.length;
  }
  return at;
}

/** The payload of a request (frame it with `encodeFrame`, or use `encodeRequestFrameInto`). */
export function encodeRequest(request: Request): Uint8Array {
  const n = payloadLength(request, request.id);
  const out = new Uint8Array(n);
  writePayload(out, 0, request, request.id);
  return out;
}

/** Bytes the whole frame of `request` takes, header included; `id` (when given) replaces `request.id`. */
export function encodedRequestFrameLength(request: Request, id?: string): number {
  return encodedFrameLength(payloadLength(request, id ?? request.id));
}

/**
 * Writes the whole frame of `request` into `target` at `offset` and returns the offset after
 * it, so several frames can share one datagram. `id` (when given) replaces `request.id`, so a
 * client needs no copy of the request per attempt. Throws `RangeError` when it does not fit.
 */
export function encodeRequestFrameInto(target: Uint8Array, offset: number, request: Request, id?: string): number {
  const requestId = id ?? request.id;
  const n = payloadLength(request, requestId);
  const digits = hexDigitCount(n);
  const end = offset + 1 + digits + n;
  if (end > target.length) throw new RangeError('frame does not fit in the target buffer');
  writeHeader(target, offset, n, digits);
  writePayload(target, offset + 1 + digits, request, requestId);
  return end;
}
