import { PROTOCOL_LIMITS, encodeText, type Request } from '@streampy/codec';
import { ClientError } from './errors.js';

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

export function checkName(what: string, value: string): string {
  if (value.length === 0 || value.length > PROTOCOL_LIMITS.maxNameLength || !NAME_RE.test(value)) {
    throw new ClientError('ERR_INVALID_ARGUMENT', `${what} must be 1-${PROTOCOL_LIMITS.maxNameLength} characters of A-Z a-z 0-9 _ . -, got "${value.slice(0, 80)}"`);
  }
  return value;
}

export function checkInteger(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ClientError('ERR_INVALID_ARGUMENT', `${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Checks the fields a caller chose, so a bad one is a clear local error, not a garbled frame. */
export function checkRequest(request: Request): void {
  if (request.queue !== undefined) checkName('queue name', request.queue);
  switch (request.verb) {
    case 'PUT':
      if (request.key !== undefined) checkName('key', request.key);
      break;
    case 'GET':
      if (request.max !== undefined) checkInteger('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      break;
    case 'RESERVE':
      if (request.max !== undefined) checkInteger('max', request.max, 1, PROTOCOL_LIMITS.maxBatch);
      if (request.leaseMs !== undefined) checkInteger('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'ACK':
      checkName('lease token', request.token);
      break;
    case 'NACK':
      checkName('lease token', request.token);
      if (request.delayMs !== undefined) checkInteger('delayMs', request.delayMs, 0, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case 'EXTEND':
      checkName('lease token', request.token);
      checkInteger('leaseMs', request.leaseMs, 1, PROTOCOL_LIMITS.maxLeaseMs);
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
