import { CodecError } from './errors.js';
import { COLON, EQUALS, HASH, SPACE, allNameBytes, hasWord, isNameByte, latin1, wordEnd } from './grammar.js';
import { PROTOCOL_LIMITS, type Request, type Verb } from './protocol.js';
import { nameRule } from './validate.js';

/*
 * The request parser, byte by byte:
 *
 *   request = [ "#" id " " ] verb *( " " arg ) [ ":" body ]     arg = key "=" value | positional
 *
 * The head (everything before the first ":") is read as space-separated words without
 * building strings for it; strings are made only for the fields a request carries (id, queue,
 * key, token) and for error messages. Every form and every error (its code and its sentence)
 * is the reference grammar's, kept in test/oracle.ts; a property test holds the two equal.
 */

/** Error thrown by `parseRequest` for an unknown verb; carries the verb text. */
export class UnknownVerbError extends CodecError {
  readonly verb: string;
  constructor(verb: string) {
    super('ERR_UNKNOWN_VERB', `unknown verb "${verb.slice(0, 40)}"; known: PUT GET SIZE RESERVE ACK NACK EXTEND STATS`);
    this.verb = verb;
  }
}

function badRequest(message: string): CodecError {
  return new CodecError('ERR_BAD_REQUEST', message);
}

/*
 * The `key=value` arguments the grammar knows, by index (plain constants, not an enum: V8
 * folds them into the code, where an enum is a property read). An argument not among them is
 * never allowed.
 */
const ARG_NONE = -1;
const ARG_Q = 0;
const ARG_KEY = 1;
const ARG_MAX = 2;
const ARG_LEASE = 3;
const ARG_DELAY = 4;
const ARG_COUNT = 5;

const ARG_NAMES: readonly string[] = ['q', 'key', 'max', 'lease', 'delay'];
const Q_BIT = 1 << ARG_Q;

/** A verb the grammar knows: what it takes besides `q=` (a mask of argument bits) and how many positionals. */
interface VerbSpec {
  readonly verb: Verb;
  readonly args: number;
  readonly positionals: number;
}

const verbSpec = (verb: Verb, args: number, positionals: number): VerbSpec => ({ verb, args, positionals });
const PUT = verbSpec('PUT', 1 << ARG_KEY, 0);
const GET = verbSpec('GET', 1 << ARG_MAX, 0);
const SIZE = verbSpec('SIZE', 0, 0);
const STATS = verbSpec('STATS', 0, 0);
const RESERVE = verbSpec('RESERVE', (1 << ARG_MAX) | (1 << ARG_LEASE), 0);
const ACK = verbSpec('ACK', 0, 1);
const NACK = verbSpec('NACK', 1 << ARG_DELAY, 1);
const EXTEND = verbSpec('EXTEND', 1 << ARG_LEASE, 1);

/**
 * What one parse found in the head, as byte offsets into the payload. One instance, reused:
 * parsing is synchronous and never re-entered.
 */
class Scan {
  source: Uint8Array = new Uint8Array(0);
  /** Bits of the known arguments seen; their values' starts and ends; their places among all arguments. */
  seen = 0;
  readonly valueStart = new Int32Array(ARG_COUNT);
  readonly valueEnd = new Int32Array(ARG_COUNT);
  readonly place = new Int32Array(ARG_COUNT);
  /** The value of each count argument, summed while reading it; -1 when it is not 1-15 digits. */
  readonly count = new Float64Array(ARG_COUNT);
  /** Arguments seen, known or not. */
  args = 0;
  /** Unknown arguments: [key start, key end, place] triples; allocated only when there is one. */
  unknown: number[] | undefined = undefined;
  positionals = 0;
  positionalStart = 0;
  positionalEnd = 0;
}

const scan = new Scan();

/** The verb spelled by the bytes from `start` to `end`, or undefined. */
function verbOf(p: Uint8Array, start: number, end: number): VerbSpec | undefined {
  const b0 = p[start];
  switch (end - start) {
    case 3:
      if (b0 === 0x50) return p[start + 1] === 0x55 && p[start + 2] === 0x54 ? PUT : undefined; // PUT
      if (b0 === 0x47) return p[start + 1] === 0x45 && p[start + 2] === 0x54 ? GET : undefined; // GET
      if (b0 === 0x41) return p[start + 1] === 0x43 && p[start + 2] === 0x4b ? ACK : undefined; // ACK
      return undefined;
    case 4:
      if (b0 === 0x53) return hasWord(p, start, 'SIZE') ? SIZE : undefined;
      return hasWord(p, start, 'NACK') ? NACK : undefined;
    case 5:
      return hasWord(p, start, 'STATS') ? STATS : undefined;
    case 6:
      return hasWord(p, start, 'EXTEND') ? EXTEND : undefined;
    case 7:
      return hasWord(p, start, 'RESERVE') ? RESERVE : undefined;
    default:
      return undefined;
  }
}

/** The known argument whose `<key>=` starts the word at `start`, or `ARG_NONE`. */
function knownArg(p: Uint8Array, start: number): number {
  switch (p[start]) {
    case 0x71: // q=
      return p[start + 1] === EQUALS ? ARG_Q : ARG_NONE;
    case 0x6d: // max=
      return p[start + 1] === 0x61 && p[start + 2] === 0x78 && p[start + 3] === EQUALS ? ARG_MAX : ARG_NONE;
    case 0x6c: // lease=
      return hasWord(p, start, 'lease=') ? ARG_LEASE : ARG_NONE;
    case 0x6b: // key=
      return p[start + 1] === 0x65 && p[start + 2] === 0x79 && p[start + 3] === EQUALS ? ARG_KEY : ARG_NONE;
    case 0x64: // delay=
      return hasWord(p, start, 'delay=') ? ARG_DELAY : ARG_NONE;
    default:
      return ARG_NONE;
  }
}

function sameBytes(p: Uint8Array, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (p[a + i] !== p[b + i]) return false;
  return true;
}

/**
 * Reads the argument word from `start` (after a space) and returns where it ends: at a space,
 * the colon that ends the head, or the end. Throws when its key was given before. A count's
 * digits are summed on the way (`count`: -1 when the value is not 1-15 digits).
 */
function readArg(p: Uint8Array, start: number): number {
  const n = p.length;
  const arg = knownArg(p, start);
  if (arg !== ARG_NONE) {
    const valueAt = start + (ARG_NAMES[arg] as string).length + 1;
    let i = valueAt;
    let value = 0;
    let digits = true;
    for (; i < n; i++) {
      const b = p[i] as number;
      if (b === SPACE || b === COLON) break;
      const digit = b - 0x30;
      if (digit < 0 || digit > 9) digits = false;
      else value = value * 10 + digit;
    }
    const bit = 1 << arg;
    if ((scan.seen & bit) !== 0) throw badRequest(`argument ${ARG_NAMES[arg]} given twice`);
    scan.seen |= bit;
    scan.valueStart[arg] = valueAt;
    scan.valueEnd[arg] = i;
    scan.count[arg] = digits && i > valueAt && i - valueAt <= 15 ? value : -1;
    scan.place[arg] = scan.args++;
    return i;
  }
  let i = start;
  let eq = -1;
  for (; i < n; i++) {
    const b = p[i] as number;
    if (b === SPACE || b === COLON) break;
    if (b === EQUALS && eq < 0) eq = i;
  }
  if (eq <= start) {
    // No key: a positional (an empty word, between two spaces, is one too).
    if (scan.positionals++ === 0) {
      scan.positionalStart = start;
      scan.positionalEnd = i;
    }
    return i;
  }
  // A key the grammar does not know: kept to report it, after any argument given twice.
  const keys = (scan.unknown ??= []);
  for (let k = 0; k < keys.length; k += 3) {
    const keyStart = keys[k] as number;
    if ((keys[k + 1] as number) - keyStart === eq - start && sameBytes(p, keyStart, start, eq - start)) {
      throw badRequest(`argument ${latin1(p, start, eq)} given twice`);
    }
  }
  keys.push(start, eq, scan.args++);
  return i;
}

/** The value of a canonical array index (`0`, or digits without a leading zero, below 2^32 - 1), or -1. */
function arrayIndexOf(p: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n === 0 || n > 10 || (n > 1 && p[start] === 0x30)) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (p[i] as number) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value < 2 ** 32 - 1 ? value : -1;
}

/**
 * The first argument `verb` does not take, in the order the reference grammar reports it (that
 * of an object's keys: array-index keys first, by value; then the rest as given), or undefined.
 */
function disallowedArg(verb: VerbSpec): string | undefined {
  const p = scan.source;
  let firstPlace = Number.MAX_SAFE_INTEGER;
  let first: string | undefined;
  if (scan.unknown !== undefined) {
    let bestIndex = -1;
    let best = -1;
    for (let k = 0; k < scan.unknown.length; k += 3) {
      const index = arrayIndexOf(p, scan.unknown[k] as number, scan.unknown[k + 1] as number);
      if (index >= 0 && (best < 0 || index < bestIndex)) {
        bestIndex = index;
        best = k;
      }
    }
    if (best >= 0) return latin1(p, scan.unknown[best] as number, scan.unknown[best + 1] as number);
    firstPlace = scan.unknown[2] as number;
    first = latin1(p, scan.unknown[0] as number, scan.unknown[1] as number);
  }
  const disallowed = scan.seen & ~Q_BIT & ~verb.args;
  for (let arg = ARG_KEY; arg < ARG_COUNT; arg++) {
    if ((disallowed & (1 << arg)) !== 0 && (scan.place[arg] as number) < firstPlace) {
      firstPlace = scan.place[arg] as number;
      first = ARG_NAMES[arg];
    }
  }
  return first;
}

/** Throws unless the request carries only the arguments and scan.positionals `verb` takes. */
function checkAllowed(verb: VerbSpec): void {
  const wanted = verb.positionals;
  if (scan.unknown === undefined && (scan.seen & ~Q_BIT & ~verb.args) === 0 && scan.positionals === wanted) return;
  const key = disallowedArg(verb);
  const name = verb.verb;
  if (key !== undefined) throw badRequest(`${name} takes no argument "${key}"`);
  throw badRequest(`${name} takes ${wanted === 0 ? 'no' : wanted} positional argument${wanted === 1 ? '' : 's'}, got ${scan.positionals}`);
}

/** A count argument: 1-15 decimal digits (leading zeros allowed) from `min` to `max`. */
function countOf(arg: number, min: number, max: number): number {
  const value = scan.count[arg] as number;
  if (value >= min && value <= max) return value;
  const name = ARG_NAMES[arg] as string;
  if (value < 0) throw badRequest(`${name} must be a decimal integer, got "${latin1(scan.source, scan.valueStart[arg] as number, scan.valueEnd[arg] as number)}"`);
  throw badRequest(`${name} must be between ${min} and ${max}, got ${value}`);
}

/** The bytes from `start` to `end` as a name, checked against the name rule. */
function nameOf(what: string, start: number, end: number, maxLength: number): string {
  const p = scan.source;
  if (end - start < 1 || end - start > maxLength || !allNameBytes(p, start, end)) throw badRequest(nameRule(what, latin1(p, start, end), maxLength));
  return latin1(p, start, end);
}

function argName(what: string, arg: number): string {
  return nameOf(what, scan.valueStart[arg] as number, scan.valueEnd[arg] as number, PROTOCOL_LIMITS.maxNameLength);
}

function tokenOf(): string {
  return nameOf('lease token', scan.positionalStart, scan.positionalEnd, PROTOCOL_LIMITS.maxNameLength);
}

function has(arg: number): boolean {
  return (scan.seen & (1 << arg)) !== 0;
}

/**
 * Parses a request payload. Throws `UnknownVerbError` for an unknown verb and `CodecError`
 * `ERR_BAD_REQUEST` for malformed arguments. The body of a PUT is a view into `payload`.
 * Only the head (before the first `:`) is examined; callers validate UTF-8 where they need to.
 */
export function parseRequest(payload: Uint8Array): Request {
  const n = payload.length;
  let i = 0;
  let id: string | undefined;
  // Whether a word follows: the head has more words only after a space.
  let more = true;
  if (payload[0] === HASH) {
    i = 1;
    while (i < n && isNameByte(payload[i] as number)) i++;
    const stop = i < n ? (payload[i] as number) : -1;
    if (i === 1 || i - 1 > PROTOCOL_LIMITS.maxIdLength || (stop !== SPACE && stop !== COLON && stop !== -1)) {
      throw badRequest(nameRule('request id', latin1(payload, 1, wordEnd(payload, i)), PROTOCOL_LIMITS.maxIdLength));
    }
    id = latin1(payload, 1, i);
    more = stop === SPACE;
    if (more) i++;
  }
  const verbStart = i;
  if (more) i = wordEnd(payload, i);
  const verbEnd = i;
  scan.source = payload;
  scan.seen = 0;
  scan.args = 0;
  scan.unknown = undefined;
  scan.positionals = 0;
  while (i < n && payload[i] === SPACE) i = readArg(payload, i + 1);
  // The words stop at the first colon, or at the end.
  const colon = i < n ? i : -1;
  const queue = has(ARG_Q) ? argName('queue name', ARG_Q) : undefined;
  const verb = verbOf(payload, verbStart, verbEnd);
  if (verb === undefined) throw new UnknownVerbError(latin1(payload, verbStart, verbEnd));
  checkAllowed(verb);
  const request = base(id, queue, verb.verb);
  switch (verb) {
    case PUT:
      // No colon: an empty body (the seed accepted a bare PUT).
      request.body = payload.subarray(colon < 0 ? n : colon + 1);
      if (has(ARG_KEY)) request.key = argName('key', ARG_KEY);
      break;
    case GET:
      // The seed ignored anything after `GET:`, so the body is ignored here too.
      if (has(ARG_MAX)) request.max = countOf(ARG_MAX, 1, PROTOCOL_LIMITS.maxBatch);
      break;
    case RESERVE:
      if (has(ARG_MAX)) request.max = countOf(ARG_MAX, 1, PROTOCOL_LIMITS.maxBatch);
      if (has(ARG_LEASE)) request.leaseMs = countOf(ARG_LEASE, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case ACK:
      request.token = tokenOf();
      break;
    case NACK:
      request.token = tokenOf();
      if (has(ARG_DELAY)) request.delayMs = countOf(ARG_DELAY, 0, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case EXTEND:
      if (!has(ARG_LEASE)) throw badRequest('EXTEND needs lease=<ms>');
      request.token = tokenOf();
      request.leaseMs = countOf(ARG_LEASE, 1, PROTOCOL_LIMITS.maxLeaseMs);
      break;
    case SIZE:
    case STATS:
      break;
  }
  return request as unknown as Request;
}

/**
 * The fields every request has, in one order, so that requests of a verb share a shape. Built
 * from `{}`, which V8 gives room for four properties in the object itself: a request rarely
 * has more, so adding them allocates nothing further.
 */
function base(id: string | undefined, queue: string | undefined, verb: Verb): Record<string, unknown> {
  const request: Record<string, unknown> = {};
  if (id !== undefined) request.id = id;
  if (queue !== undefined) request.queue = queue;
  request.verb = verb;
  return request;
}
