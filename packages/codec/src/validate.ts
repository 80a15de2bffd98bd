import { StreampyError, type StreampyErrorCode } from './errors.js';
import { isNameByte } from './grammar.js';
import { PROTOCOL_LIMITS } from './protocol.js';

/*
 * One validator per concept, shared by every package: names (queue names, keys, tokens, ids)
 * and integers (counts, durations, ports).
 */

/** `[A-Za-z0-9_.-]{1,maxLength}`; `maxLength` defaults to `PROTOCOL_LIMITS.maxNameLength` (64). */
export function isName(value: string, maxLength: number = PROTOCOL_LIMITS.maxNameLength): boolean {
  const n = value.length;
  if (n === 0 || n > maxLength) return false;
  for (let i = 0; i < n; i++) if (!isNameByte(value.charCodeAt(i))) return false;
  return true;
}

/** The sentence every name error uses, so that all packages word the rule alike. */
export function nameRule(what: string, value: string, maxLength: number): string {
  return `${what} must be 1-${maxLength} characters of A-Z a-z 0-9 _ . -, got "${value.slice(0, 80)}"`;
}

/** `value` if it is a name (see `isName`); else throws `StreampyError` with `code` (default `ERR_INVALID_ARGUMENT`). */
export function checkName(what: string, value: string, code: StreampyErrorCode = 'ERR_INVALID_ARGUMENT', maxLength: number = PROTOCOL_LIMITS.maxNameLength): string {
  if (!isName(value, maxLength)) throw new StreampyError(code, nameRule(what, value, maxLength));
  return value;
}

/** `value` if it is an integer from `min` to `max`; else throws `StreampyError` with `code` (default `ERR_INVALID_ARGUMENT`). */
export function checkInteger(what: string, value: number, min: number, max: number, code: StreampyErrorCode = 'ERR_INVALID_ARGUMENT'): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new StreampyError(code, `${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** A name that is also a safe directory name for a queue's files: a name not starting with ".". */
export function isQueueName(name: string): boolean {
  return isName(name) && name.charCodeAt(0) !== 0x2e;
}
