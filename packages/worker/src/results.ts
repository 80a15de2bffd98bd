import { encodeText } from '@streampy/codec';
import { WorkerError } from './errors.js';
import type { ResultItem, WorkerResult } from './functions.js';

/** One message a result asked to send; `choice` is the raw `[choice, message]` choice, if any. */
export interface Emitted {
  readonly choice: number | undefined;
  readonly body: Uint8Array;
}

function badResult(what: string): WorkerError {
  return new WorkerError('ERR_BAD_RESULT', `a worker function must return a message, a [choice, message] pair, or an iterable of them; got ${what}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}

function toBody(message: unknown): Uint8Array | undefined {
  if (typeof message === 'string') return message === '' ? undefined : encodeText(message);
  if (message instanceof Uint8Array) return message.length === 0 ? undefined : message;
  if (!message) return undefined;
  throw badResult(describe(message));
}

function isPair(value: unknown): value is readonly [number, unknown] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number';
}

function pushItem(out: Emitted[], item: unknown): void {
  if (isPair(item)) {
    const [choice, message] = item;
    if (!Number.isInteger(choice)) throw badResult(`the choice ${choice}, not an integer`);
    const body = toBody(message);
    if (body !== undefined) out.push({ choice, body });
    return;
  }
  const body = toBody(item);
  if (body !== undefined) out.push({ choice: undefined, body });
}

export function isAsyncIterable(value: unknown): value is AsyncIterable<ResultItem> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * The messages a (settled, not async-iterable) result asks to send, in order. A string or
 * bytes is one message, never iterated; a number-first pair is routed; any other iterable
 * yields messages or pairs. Falsy items send nothing, as in the prototype.
 */
export function collectResult(result: Exclude<WorkerResult, AsyncIterable<ResultItem>>): Emitted[] {
  const out: Emitted[] = [];
  if (!result || typeof result === 'string' || result instanceof Uint8Array || isPair(result)) {
    pushItem(out, result);
    return out;
  }
  if (typeof (result as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') throw badResult(describe(result));
  for (const item of result as Iterable<unknown>) pushItem(out, item);
  return out;
}

export async function collectAsyncResult(result: AsyncIterable<ResultItem>): Promise<Emitted[]> {
  const out: Emitted[] = [];
  for await (const item of result) pushItem(out, item);
  return out;
}

/** `choice mod outputs`, always in 0..outputs-1 (also for negative choices). */
export function routeChoice(choice: number, outputs: number): number {
  return ((choice % outputs) + outputs) % outputs;
}

