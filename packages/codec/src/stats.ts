import { CodecError } from './errors.js';

/** Counters of one queue, as a `STATS` reply carries them. */
export interface QueueStats {
  /** Ready messages: what GET could return now (the SIZE reply). */
  readonly size: number;
  readonly leased: number;
  readonly delayed: number;
  /** Body bytes of every message held: ready, leased and delayed. */
  readonly bytes: number;
  readonly puts: number;
  readonly gets: number;
  readonly reserves: number;
  readonly acks: number;
  readonly nacks: number;
  readonly redeliveries: number;
  readonly deadLettered: number;
  readonly duplicates: number;
  readonly rejectedFull: number;
  /** EXTENDs accepted (absent from nodes before 0.2). */
  readonly extends?: number;
  /** Counters of the queue's storage engine, when it keeps any (the durable log's: writes, fsyncs, damage found...). */
  readonly storage?: Readonly<Record<string, number>>;
}

/** A node's `STATS` reply. Fields a newer node adds are kept as they came. */
export interface NodeStats {
  readonly address: string;
  readonly engine: string;
  readonly uptimeMs: number;
  readonly datagramsIn: number;
  readonly datagramsOut: number;
  readonly framesIn: number;
  readonly badFrames: number;
  readonly unknownVerbs: number;
  readonly badRequests: number;
  /** Every `ERR` reply sent, whatever its code. */
  readonly errors: number;
  readonly sendErrors: number;
  readonly deadLettersForwarded: number;
  readonly deadLettersPending: number;
  readonly queues: Readonly<Record<string, QueueStats>>;
  /** The last few bodies put to the default queue, cut for display (only to trusted sources). */
  readonly recent?: readonly string[];
  /** Of `sendErrors`, the replies the operating system refused as too large to send (EMSGSIZE; absent from older nodes). */
  readonly oversizedReplies?: number;
  /** Datagrams from sources outside the node's allowlist, dropped unanswered (absent from nodes before 0.2). */
  readonly deniedDatagrams?: number;
  /** Datagrams refused by authentication, by reason (unsigned, unknownKey, badMac, stale, replayed, replayCacheFull). */
  readonly authFailures?: Readonly<Record<string, number>>;
  /** The node-wide memory budget, bytes (absent from nodes before 0.2). */
  readonly memory?: { readonly limit: number; readonly used: number; readonly peak: number; readonly refused: number };
}

const QUEUE_COUNTERS = ['size', 'leased', 'delayed', 'bytes', 'puts', 'gets', 'reserves', 'acks', 'nacks', 'redeliveries', 'deadLettered', 'duplicates', 'rejectedFull'] as const;
const NODE_COUNTERS = ['uptimeMs', 'datagramsIn', 'datagramsOut', 'framesIn', 'badFrames', 'unknownVerbs', 'badRequests', 'errors', 'sendErrors', 'deadLettersForwarded', 'deadLettersPending'] as const;

type Fields = Readonly<Record<string, unknown>>;

function bad(message: string): CodecError {
  return new CodecError('ERR_BAD_REPLY', `STATS reply: ${message}`);
}

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkCounters(where: string, value: Fields, names: readonly string[]): void {
  for (const name of names) {
    const field = value[name];
    if (typeof field !== 'number' || !Number.isFinite(field)) throw bad(`${where}${name} must be a number, got ${field === undefined ? 'nothing' : JSON.stringify(field)}`);
  }
}

/**
 * `value` (a parsed STATS JSON body) as `NodeStats`, once its shape is checked: every field a
 * number or string as declared, `queues` an object of `QueueStats`, `recent` (if there) strings.
 * Unknown extra fields are kept. Throws `CodecError` (a `StreampyError`) `ERR_BAD_REPLY` otherwise.
 */
export function parseNodeStats(value: unknown): NodeStats {
  if (!isObject(value)) throw new CodecError('ERR_BAD_REPLY', 'STATS reply is not a JSON object');
  for (const name of ['address', 'engine']) {
    if (typeof value[name] !== 'string') throw bad(`${name} must be a string`);
  }
  checkCounters('', value, NODE_COUNTERS);
  const queues = value.queues;
  if (!isObject(queues)) throw bad('queues must be an object');
  for (const name of Object.keys(queues)) {
    const queue = queues[name];
    if (!isObject(queue)) throw bad(`queues.${name.slice(0, 64)} must be an object`);
    const where = `queues.${name.slice(0, 64)}.`;
    checkCounters(where, queue, QUEUE_COUNTERS);
    if (queue.extends !== undefined) checkCounters(where, queue, ['extends']);
    const storage = queue.storage;
    if (storage !== undefined) {
      if (!isObject(storage)) throw bad(`${where}storage must be an object`);
      checkCounters(`${where}storage.`, storage, Object.keys(storage));
    }
  }
  for (const name of ['deniedDatagrams', 'oversizedReplies']) if (value[name] !== undefined) checkCounters('', value, [name]);
  const authFailures = value.authFailures;
  if (authFailures !== undefined) {
    if (!isObject(authFailures)) throw bad('authFailures must be an object');
    checkCounters('authFailures.', authFailures, Object.keys(authFailures));
  }
  const memory = value.memory;
  if (memory !== undefined) {
    if (!isObject(memory)) throw bad('memory must be an object');
    checkCounters('memory.', memory, ['limit', 'used', 'peak', 'refused']);
  }
  const recent = value.recent;
  if (recent !== undefined && !(Array.isArray(recent) && recent.every((item) => typeof item === 'string'))) throw bad('recent must be an array of strings');
  return value as unknown as NodeStats;
}
