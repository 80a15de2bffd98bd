import { WorkerError } from './errors.js';

/** A message a function emits: text (sent as UTF-8) or raw bytes. */
export type OutputMessage = string | Uint8Array;

/** `[choice, message]`: the message goes to `outputs[choice mod outputs.length]`. */
export type RoutedMessage = readonly [choice: number, message: OutputMessage];

/** One item of a result; the falsy ones (`undefined`, `null`, `false`, `''`, empty bytes) send nothing. */
export type ResultItem = OutputMessage | RoutedMessage | null | undefined | false;

/** What a worker function returns: one item, or any iterable or async iterable of items. */
export type WorkerResult = ResultItem | Iterable<ResultItem> | AsyncIterable<ResultItem>;

export interface WorkerContext {
  /** Index of the input (in `inputs`) the message came from. */
  readonly input: number;
  /** 1 on first delivery, more on redelivery; absent under at-most-once (GET knows no deliveries). */
  readonly deliveries?: number;
}

export type WorkerFunction = (message: string, context: WorkerContext) => WorkerResult | Promise<WorkerResult>;

function pong(message: string): string {
  if (message === 'ping') return 'pong';
  if (message === 'pong') return 'ping';
  throw new WorkerError('ERR_REJECTED_INPUT', `pong plays only "ping" and "pong", got "${message.slice(0, 40)}"`);
}

/** The built-in functions, by the name `--function` takes. */
export const BUILTIN_FUNCTIONS: Readonly<Record<string, WorkerFunction>> = {
  pong,
  passthrough: (message) => message,
  upper: (message) => message.toUpperCase(),
  double: (message) => message + message,
  /** One output message per whitespace-separated word: a generator, as the prototype's splitters. */
  words: function* (message) {
    for (const word of message.split(/\s+/)) if (word !== '') yield word;
  },
};

export function isBuiltinFunction(name: string): boolean {
  return Object.hasOwn(BUILTIN_FUNCTIONS, name);
}
