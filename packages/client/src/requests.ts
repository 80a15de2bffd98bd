import { PROTOCOL_LIMITS, checkInteger, checkName, encodeText, isStreampyError, type Request } from '@streampy/codec';
import { ClientError } from './errors.js';

/** The codec's verdict on an argument, as the client's own error (the base every client error shares). */
function asClientError(error: unknown): unknown {
  return isStreampyError(error, 'ERR_INVALID_ARGUMENT') ? new ClientError('ERR_INVALID_ARGUMENT', error.message, { cause: error }) : error;
}

/** A protocol name (queue, key, token), checked by the codec. */
export function name(what: string, value: string): string {
  try {
    return checkName(what, value);
  } catch (error) {
    throw asClientError(error);
  }
}

/** An integer in [min, max], checked by the codec. */
export function integer(what: string, value: number, min: number, max: number): number {
  try {
    return checkInteger(what, value, min, max);
  } catch (error) {
    throw asClientError(error);
  }
}

/** Checks the fields a caller chose, so a bad one is a clear local error, not a garbled frame. */
export function checkRequest(request: Request): void {
  if (request.queue !== undefined) name('queue name', request.queue);
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) name('key', request.key);
      break;
    case 'GET':
      if (request.max !== undefined) integer('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      break;
    case 'RESERVE':
      if (request.max !== undefined) integer('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      if (request.leaseMs !== undefined) integer('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'ACK':
      name('lease token', request.token);
      break;
    case 'NACK':
      name('lease token', request.token);
      if (request.delayMs !== undefined) integer('delayMs', request.delayMs, 0, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'EXTEND':
      name('lease token', request.token);
      integer('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'SIZE':
    case 'STATS':
      break;
  }
}

/** Adds `queue` when given (exactOptionalPropertyTypes: absent, never `undefined`). */
export function withQueue<T extends object>(request: T, queue: string | undefined): T & { queue?: string } {
  if (queue === undefined) return request;
  (request as T & { queue?: string }).queue = queue;
  return request;
}

/** The bytes of a message: text as UTF-8, bytes as they are. */
export function bodyOf(message: string | Uint8Array): Uint8Array {
  return typeof message === 'string' ? encodeText(message) : message;
}
